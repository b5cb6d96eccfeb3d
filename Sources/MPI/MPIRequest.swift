// MPIRequest: a non-blocking collective in flight.
import CMPI

/// A non-blocking collective in flight (one or several libmpi requests, when its buffer was
/// split); `wait()` completes it. Without MPI it is complete from the start.
///
/// A request that is released unfinished is waited for in `deinit`: its buffer may not be
/// reused while MPI still writes into it.
public final class MPIRequest: @unchecked Sendable {
    let context: MPIContext
    /// The libmpi requests; completed ones are set to `MPI_REQUEST_NULL` by libmpi. Guarded by the context's lock.
    var handles: [MPI_Request?] = []

    init(context: MPIContext) { self.context = context }

    /// Blocks until the collective has completed on this rank.
    /// The corresponding C function is `MPI_Waitall`.
    public func wait() throws {
        guard !handles.isEmpty else { return }
        try context.call("MPI_Waitall", "cannot complete a reduction across the ranks") {
            MPI_Waitall(Int32(handles.count), &handles, photoz_MPI_STATUSES_IGNORE())
        }
        handles.removeAll()
    }

    /// Whether the collective has completed; lets OpenMPI progress it (it advances only inside MPI calls).
    /// The corresponding C function is `MPI_Testall`.
    public func test() throws -> Bool {
        guard !handles.isEmpty else { return true }
        var done: Int32 = 0
        try context.call("MPI_Testall", "cannot check a reduction across the ranks") {
            MPI_Testall(Int32(handles.count), &handles, &done, photoz_MPI_STATUSES_IGNORE())
        }
        if done != 0 { handles.removeAll() }
        return done != 0
    }

    deinit { try? wait() }
}
