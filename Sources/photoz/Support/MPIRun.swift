// Running a command under mpirun: the commands that can run on several processes (train,
// predict, attack, robustness) do their work inside `withMPI`.
import Foundation
import MPI

/// Runs `body` with the process's MPI context and finishes MPI after it.
///
/// Alone (no mpirun) the context is rank 0 of 1, libmpi is never touched, and an error
/// propagates as in every other command (same message, same exit code). Under mpirun an error
/// on any rank ends the whole run at once with a message naming the rank (`MPIContext.abort`),
/// instead of leaving the other ranks waiting in a collective for it.
func withMPI(_ body: (MPIContext) throws -> Void) throws {
    let context = try MPIContext.start()
    do {
        try body(context)
        try context.finish()
    } catch {
        if context.isDistributed { context.abort(error) }
        throw error
    }
}
