// The element types the collectives move, and the reductions.

/// How allreduce combines the ranks' values, element by element.
public enum MPIReduction: Sendable {
    case sum, max, min
}

/// The MPI datatype of an element type.
public enum MPIScalarKind: Sendable {
    case float32, float64, int32, int64, uint16, byte
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
