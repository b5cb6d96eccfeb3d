// The element types the collectives move, and the reductions.

/// How allreduce combines the ranks' values, element by element.
public enum MPIReduction: Sendable {
    case sum, max, min
}

/// The MPI datatype of an element type.
public enum MPIScalarKind: Sendable {
    case float32, float64, int32, int64, uint16, byte
    /// `MPIBFloat16`, moved as 16-bit integers; only `.sum` reduces it (a user-defined operation).
    case bfloat16
}

/// An element type the collectives can move: fixed size, no references.
public protocol MPIScalar: BitwiseCopyable {
    static var mpiScalarKind: MPIScalarKind { get }
}

extension Float: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .float32 } }
extension Double: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .float64 } }
extension Int32: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .int32 } }
extension Int64: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .int64 } }
extension UInt16: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .uint16 } }
extension UInt8: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .byte } }
extension Int: MPIScalar {
    public static var mpiScalarKind: MPIScalarKind {
        precondition(MemoryLayout<Int>.size == 8, "MPI: Int is moved as int64_t")
        return .int64
    }
}

/// A bfloat16 number (the top 16 bits of a float32): the compressed wire format for gradients.
///
/// Half the bytes of float32 with float32's range (8 exponent bits), and 8 bits of mantissa:
/// a relative rounding error of at most 2⁻⁸ per conversion or addition (8 significant bits). Summed across ranks by
/// a user-defined MPI operation (each partial sum computed in float32, then rounded).
public struct MPIBFloat16: MPIScalar, Equatable, Sendable {
    public static var mpiScalarKind: MPIScalarKind { .bfloat16 }
    /// The bits: sign, 8 exponent bits, 7 mantissa bits.
    public var bits: UInt16

    public init(bits: UInt16) { self.bits = bits }

    /// The nearest bfloat16 (ties to even); NaN stays NaN.
    @inline(__always)
    public init(_ value: Float) {
        let b = value.bitPattern
        if value.isNaN { bits = UInt16(truncatingIfNeeded: b >> 16) | 0x0040; return }
        bits = UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
    }

    /// The exact float32 value.
    @inline(__always)
    public var float: Float { Float(bitPattern: UInt32(bits) << 16) }
}
