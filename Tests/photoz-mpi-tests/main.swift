// photoz-mpi-tests: the MPI layer's tests, which need several processes, so they cannot run
// inside XCTest. Run alone, it is the driver: it runs the checks in this process (no MPI: one
// rank), then launches itself under `mpirun --oversubscribe -np N` for each scenario below with
// a timeout, and checks exit codes and messages. Under mpirun, the first argument names the
// scenario this rank runs.
//
//   photoz-mpi-tests                 all scenarios (scripts/test runs this)
//   photoz-mpi-tests commands        only `mpirun -np N photoz train|predict|…` against photoz alone
//   photoz-mpi-tests bench [MB] [N]  allreduce throughput of an MB-megabyte float32 buffer
//   photoz-mpi-tests bench-reducer [N]  the bucket reducer on the Inception's gradients
import Foundation
import MPI

let arguments = Array(CommandLine.arguments.dropFirst())

/// Runs `body` on this rank; an error ends every rank with a message naming this one.
func onEveryRank(_ body: (MPIContext) throws -> Int32) -> Never {
    let context: MPIContext
    do { context = try MPIContext.start() } catch {
        FileHandle.standardError.write(Data("photoz-mpi-tests: \(error)\n".utf8))
        exit(1)
    }
    do {
        let status = try body(context)
        try context.finish()
        exit(status)
    } catch {
        context.abort(error)
    }
}

switch arguments.first {
case "checks":
    onEveryRank { context in
        let e = try runChecks(context)
        for failure in e.failures { print("rank \(context.rank) of \(context.size): FAILED: \(failure)") }
        let failed = try context.allreduce(e.failures.count, .max)
        if context.isRoot { print("\(e.count) checks on each of \(context.size) ranks, \(failed == 0 ? "all passed" : "some failed")") }
        return failed == 0 ? 0 : 1
    }
case "fail-throw":
    // Rank 1 throws while the others wait in a barrier: the run must end, naming rank 1.
    onEveryRank { context in
        if context.rank == 1 {
            throw MPIError(function: "test", rank: 1, size: context.size, summary: "cannot read shard-00003.h5", message: "injected failure")
        }
        try context.barrier()
        return 0
    }
case "fail-exit":
    // Rank 1 calls exit(3) (as ArgumentParser does after printing an error) without finishing MPI.
    onEveryRank { context in
        if context.rank == 1 { exit(3) }
        var buffer = [Float](repeating: 1, count: 16)
        try context.allreduce(&buffer, .sum)
        return 0
    }
case "fail-crash":
    // Rank 1 traps (a precondition failure in a layer) while the others wait in an allreduce.
    onEveryRank { context in
        if context.rank == 1 { preconditionFailure("injected crash") }
        var buffer = [Float](repeating: 1, count: 16)
        try context.allreduce(&buffer, .sum)
        return 0
    }
case "fail-mpi":
    // Rank 1 receives a broadcast into a buffer too small: libmpi returns MPI_ERR_TRUNCATE
    // (MPI_ERRORS_RETURN), which becomes an MPIError with MPI's message, and the run ends.
    onEveryRank { context in
        var buffer = [Float](repeating: 1, count: context.rank == 1 ? 10 : 100)
        try buffer.withUnsafeMutableBufferPointer { try context.broadcast($0, root: 0) }
        try context.barrier()
        return 0
    }
case "bench":
    onEveryRank { context in
        let megabytes = arguments.count > 1 ? Double(arguments[1]) ?? 110 : 110
        let repeats = arguments.count > 2 ? Int(arguments[2]) ?? 10 : 10
        try benchAllreduce(context, megabytes: megabytes, repeats: repeats)
        return 0
    }
case "bench-reducer":
    onEveryRank { context in
        try benchReducer(context, repeats: arguments.count > 1 ? Int(arguments[1]) ?? 10 : 10)
        return 0
    }
case nil:
    exit(runDriver())
case "commands":
    exit(runDriver(only: "commands"))  // run alone: only the photoz command scenarios
default:
    FileHandle.standardError.write(Data("photoz-mpi-tests: unknown scenario \(arguments[0]); run without arguments\n".utf8))
    exit(2)
}
