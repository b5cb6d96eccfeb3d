/// How a parameter's values are drawn when a network is built.
public enum Initializer: Equatable, Sendable {
    /// Glorot (Xavier) uniform: U(−a, a) with a = √(6 / (fanIn + fanOut)), as PyTorch's
    /// `xavier_uniform_` and TensorFlow's `glorot_uniform`.
    case glorotUniform(fanIn: Int, fanOut: Int)
    /// U(−bound, bound) (PyTorch's default for `Conv2d`/`Linear`: bound = 1/√fanIn).
    case uniform(bound: Float)
    /// Every element set to the same value (biases 0.1, PReLU α 0).
    case constant(Float)
}

/// A trainable tensor: its values, its gradient and how it is initialised.
///
/// Values and gradient are stored plain (row-major over the PyTorch-order shape, e.g.
/// (O, I, KH, KW)); layers keep their own blocked copy when a primitive prefers one and refresh
/// it when `version` changes. Whoever writes `value` directly calls `didChange()`.
public final class Parameter {
    /// The logical shape, PyTorch order.
    public let shape: [Int]
    /// The values, plain layout.
    public let value: Tensor
    /// ∂loss/∂value from the last backward pass, plain layout (overwritten by each backward).
    public let gradient: Tensor
    /// How `initialize(using:)` fills the values.
    public let initializer: Initializer
    /// Incremented whenever the values change; layers use it to refresh their blocked copies.
    public private(set) var version = 0

    public init(shape: [Int], initializer: Initializer, engine: Engine) {
        self.shape = shape
        self.initializer = initializer
        self.value = Tensor(shape: shape, engine: engine)
        self.gradient = Tensor(shape: shape, engine: engine)
    }

    /// The number of scalar values.
    public var count: Int { value.count }

    /// Records that `value` was written.
    public func didChange() { version &+= 1 }

    /// Replaces the values (plain row-major order).
    public func set(_ values: [Float]) {
        value.write(values)
        didChange()
    }

    /// Draws the values from the initializer with `generator`.
    public func initialize(using generator: inout SplitMix64) {
        let p = value.pointer
        switch initializer {
        case let .glorotUniform(fanIn, fanOut):
            let a = (6.0 / Double(fanIn + fanOut)).squareRoot()
            for i in 0..<count { p[i] = Float(generator.uniform(-a, a)) }
        case let .uniform(bound):
            for i in 0..<count { p[i] = Float(generator.uniform(-Double(bound), Double(bound))) }
        case let .constant(c):
            for i in 0..<count { p[i] = c }
        }
        didChange()
    }
}

/// A parameter with its path in the network, e.g. `i0.b1.conv.weight`.
public struct NamedParameter {
    public let path: String
    public let parameter: Parameter

    public init(path: String, parameter: Parameter) {
        self.path = path
        self.parameter = parameter
    }
}

extension Array where Element == NamedParameter {
    /// Prefixes every path with `prefix.` (used when a block lists its children's parameters).
    public func prefixed(_ prefix: String) -> [NamedParameter] {
        map { NamedParameter(path: "\(prefix).\($0.path)", parameter: $0.parameter) }
    }

    /// The total number of scalar parameters.
    public var scalarCount: Int { reduce(0) { $0 + $1.parameter.count } }
}

/// A small, fast, seedable random generator (SplitMix64), so initialisation is reproducible.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A double uniform in [lo, hi).
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        lo + (hi - lo) * Double(next() >> 11) * 0x1.0p-53
    }
}
