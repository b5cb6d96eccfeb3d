// MPIError: what failed, on which rank, with MPI's own message.

/// An MPI operation that failed, with the rank it failed on and MPI's own message.
///
/// Every throwing function of this module throws `MPIError`. When libmpi reported the failure
/// (the world communicator is set to `MPI_ERRORS_RETURN`, so calls return their error code
/// instead of aborting), `function` names the C function (`"MPI_Allreduce"`), `code` is its
/// return code and `message` the text of `MPI_Error_string`. When photoz found the problem
/// itself (a buffer of another size on another rank, a launch without an MPI plugin),
/// `function` names the photoz operation, `code` is nil and `message` says what to do.
public struct MPIError: Error, CustomStringConvertible, Sendable {
    /// The MPI function that failed (e.g. `"MPI_Allreduce"`), or the photoz operation.
    public var function: String
    /// The rank of the process that saw the failure (0 without MPI).
    public var rank: Int
    /// The number of processes of the run (1 without MPI).
    public var size: Int
    /// What could not be done, in a few words ("cannot average gradients").
    public var summary: String
    /// MPI's error code, when libmpi reported the failure.
    public var code: Int32?
    /// `MPI_Error_string` of `code`, or photoz's own explanation.
    public var message: String

    public init(function: String, rank: Int, size: Int, summary: String, code: Int32? = nil, message: String) {
        self.function = function
        self.rank = rank
        self.size = size
        self.summary = summary
        self.code = code
        self.message = message
    }

    /// One line: `"MPI rank 1 of 2: cannot average gradients (MPI_Allreduce): MPI_ERR_TRUNCATE: message truncated"`.
    public var description: String {
        var text = "MPI rank \(rank) of \(size): \(summary) (\(function))"
        if !message.isEmpty { text += ": " + message }
        return text
    }
}
