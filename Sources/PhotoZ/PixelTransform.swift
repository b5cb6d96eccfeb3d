import Foundation

/// The invertible map from pixel flux (nanomaggies) to network input.
///
/// Attacks work in network-input space; the inverse maps adversarial images back to flux and
/// the derivative converts an ε in input space to one in flux space (and back). The raw value
/// (`"sign_sqrt"`, `"asinh"`, `"identity"`) is what model files record.
public enum PixelTransform: String, CaseIterable, Codable, Sendable {
    /// x → sign(x)·(√(|x| + 1) − 1), the transform of Lin et al. 2022 (default).
    case signedSquareRoot = "sign_sqrt"
    /// x → asinh(x).
    case asinh
    /// x → x.
    case identity

    /// The default used for training.
    public static let `default` = PixelTransform.signedSquareRoot

    /// Maps one flux value to network input.
    @inline(__always)
    public func forward(_ x: Float) -> Float {
        switch self {
        case .signedSquareRoot:
            let r = (abs(x) + 1).squareRoot() - 1
            return x < 0 ? -r : r
        case .asinh: return Foundation.asinh(x)
        case .identity: return x
        }
    }

    /// Maps one network-input value back to flux (`inverse(forward(x)) == x` up to rounding).
    @inline(__always)
    public func inverse(_ y: Float) -> Float {
        switch self {
        case .signedSquareRoot:
            let a = abs(y) + 1
            let r = a * a - 1
            return y < 0 ? -r : r
        case .asinh: return Foundation.sinh(y)
        case .identity: return y
        }
    }

    /// d forward / dx at flux value x.
    @inline(__always)
    public func derivative(_ x: Float) -> Float {
        switch self {
        case .signedSquareRoot: return 0.5 / (abs(x) + 1).squareRoot()
        case .asinh: return 1 / (1 + x * x).squareRoot()
        case .identity: return 1
        }
    }

    /// Applies `forward` to every value in place.
    public func apply(_ values: inout [Float]) {
        if self == .identity { return }
        values.withUnsafeMutableBufferPointer { buffer in
            switch self {  // one loop per case, so the compiler can vectorise it
            case .signedSquareRoot:
                for i in buffer.indices { buffer[i] = PixelTransform.signedSquareRoot.forward(buffer[i]) }
            case .asinh:
                for i in buffer.indices { buffer[i] = PixelTransform.asinh.forward(buffer[i]) }
            case .identity: break
            }
        }
    }

    /// Applies `inverse` to every value in place.
    public func invert(_ values: inout [Float]) {
        if self == .identity { return }
        values.withUnsafeMutableBufferPointer { buffer in
            for i in buffer.indices { buffer[i] = inverse(buffer[i]) }
        }
    }
}
