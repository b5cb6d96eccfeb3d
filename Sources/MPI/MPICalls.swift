// The checked libmpi calls of the collectives: each runs under the context's lock and a
// failure becomes an `MPIError` with `MPI_Error_string`'s text and this rank.
import CMPI

extension MPIContext {
    /// Runs one libmpi call holding `lock` and throws an `MPIError` naming `function` when it fails.
    func call(_ function: String, _ summary: @autoclosure () -> String, _ body: () -> Int32) throws {
        precondition(!isFinished, "MPI: \(function) after MPIContext.finish()")
        let failure: (Int32, String)? = lock.withLock {
            let code = body()
            return code == photoz_MPI_SUCCESS() ? nil : (code, MPIContext.errorString(code))
        }
        if let (code, message) = failure {
            throw MPIError(function: function, rank: rank, size: size, summary: summary(), code: code, message: message)
        }
    }

    /// An error photoz found itself (no libmpi code).
    func error(_ operation: String, _ summary: String, _ message: String) -> MPIError {
        MPIError(function: operation, rank: rank, size: size, summary: summary, message: message)
    }

    /// The pieces of `count` elements that each fit one call: `[(offset, count)]`.
    func pieces(_ count: Int) -> [(offset: Int, count: Int32)] {
        let step = elementsPerCall
        return stride(from: 0, to: count, by: step).map { ($0, Int32(min(step, count - $0))) }
    }

    func checkRoot(_ root: Int, _ operation: String) {
        precondition((0..<size).contains(root), "MPI: \(operation) from root \(root), but the run has \(size) ranks")
    }
}

extension MPIContext {
    /// The MPI operation of `reduction` on elements of `kind`. Call with `lock` held.
    func operation(_ reduction: MPIReduction, _ kind: MPIScalarKind) throws -> MPI_Op {
        if kind == .bfloat16 {
            precondition(reduction == .sum, "MPI: bfloat16 values can only be summed")
            return try bfloat16Sum()
        }
        switch reduction {
        case .sum: return photoz_MPI_SUM()
        case .max: return photoz_MPI_MAX()
        case .min: return photoz_MPI_MIN()
        }
    }
}

/// The user-defined MPI operation summing bfloat16 vectors: each pair added in float32, rounded.
let bfloat16SumFunction: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?,
                                         UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<MPI_Datatype?>?) -> Void = {
    input, inout_, length, _ in
    guard let input, let inout_, let length else { return }
    let a = input.assumingMemoryBound(to: MPIBFloat16.self)
    let b = inout_.assumingMemoryBound(to: MPIBFloat16.self)
    for i in 0..<Int(length.pointee) { b[i] = MPIBFloat16(a[i].float + b[i].float) }
}

extension MPIScalarKind {
    var datatype: MPI_Datatype {
        switch self {
        case .float32: photoz_MPI_FLOAT()
        case .float64: photoz_MPI_DOUBLE()
        case .int32: photoz_MPI_INT32_T()
        case .int64: photoz_MPI_INT64_T()
        case .uint16, .bfloat16: photoz_MPI_UINT16_T()
        case .byte: photoz_MPI_BYTE()
        }
    }
}
