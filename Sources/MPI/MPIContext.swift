// MPIContext: the process's place in an MPI run (rank, size), started once, finished once.
import CMPI
import Foundation
import Synchronization

/// The process's place in an MPI run: its rank, the number of ranks, and the collectives.
///
/// `MPIContext.start()` initialises MPI once per process, and only when the process was
/// launched by an MPI launcher (`mpirun`, `srun --mpi=pmix`): a process started alone gets a
/// context of rank 0 among 1 whose collectives return at once without touching libmpi, so
/// photoz without `mpirun` works exactly as before. Why not call `MPI_Init` anyway (MPI's
/// "singleton" mode): OpenMPI 4 then forks an `orted` daemon, which costs time, prints
/// warnings on machines without a usable network, and — a child process started while HDF5
/// files are open — would hold their `flock` (see `Sources/HDF5/README.md`).
///
/// MPI is initialised with `MPI_THREAD_SERIALIZED`, not `MPI_THREAD_FUNNELED`: FUNNELED
/// allows calls only from the thread that initialised MPI, and photoz does not control that
/// thread (the command's thread, the trainer's, a Swift concurrency thread may differ); it
/// needs only that no two calls run at once, which every call here guarantees by holding
/// `lock`. `MPI_THREAD_MULTIPLE` would add a lock inside OpenMPI on every call for nothing.
///
/// Every libmpi call goes through `call(_:_:_:)` (MPICalls.swift) on the world communicator,
/// whose error handler is `MPI_ERRORS_RETURN`, so a failure becomes an `MPIError` naming the
/// rank instead of OpenMPI's default abort.
///
/// A rank that fails must take the run down rather than leave the others waiting in a
/// collective: on an error the executable calls `abort(_:)`; a process that exits without
/// `finish()` (an `exit()` elsewhere) is caught by an `atexit` handler that calls `MPI_Abort`.
public final class MPIContext: @unchecked Sendable {
    /// This process's rank, 0..<size.
    public let rank: Int
    /// The number of processes of the run (1 without MPI).
    public let size: Int
    /// Whether libmpi was initialised (the process was launched by an MPI launcher).
    public let isDistributed: Bool
    /// The world communicator; nil without MPI.
    let world: MPI_Comm?
    /// Serialises every libmpi call of the process (`MPI_THREAD_SERIALIZED`).
    let lock = NSRecursiveLock()
    /// Set by `finish()`; atomic because the `atexit` handler reads it without the lock.
    private let finished = Atomic<Bool>(false)
    /// The bfloat16 sum operation, created on first use; guarded by `lock`.
    private var bfloat16SumOperation: MPI_Op?
    /// The largest element count of one libmpi call: counts are `int` in MPI's C API, so larger
    /// buffers go in several calls. Tests lower it to exercise the split; guarded by `lock`.
    private var _elementsPerCall = 1 << 30

    private init(rank: Int, size: Int, world: MPI_Comm?) {
        self.rank = rank
        self.size = size
        self.isDistributed = world != nil
        self.world = world
    }

    /// The largest element count passed to one libmpi call (buffers above it go in pieces).
    public var elementsPerCall: Int {
        get { lock.withLock { _elementsPerCall } }
        set { precondition(newValue > 0 && newValue <= Int(Int32.max), "MPI: elementsPerCall must be in 1...Int32.max")
              lock.withLock { _elementsPerCall = newValue } }
    }

    /// Whether `finish()` was called (no collective may follow).
    public var isFinished: Bool { finished.load(ordering: .sequentiallyConsistent) }

    /// Whether this rank is rank 0, the one that writes files and prints progress.
    public var isRoot: Bool { rank == 0 }

    // MARK: Starting and finishing

    private nonisolated(unsafe) static var shared: MPIContext?
    private static let startLock = NSLock()

    /// The context of this process, initialising MPI on the first call when launched by an MPI launcher.
    ///
    /// Throws when the launch looks like a multi-task Slurm step without an MPI plugin (each task
    /// would train alone and they would overwrite each other's files), when libmpi refuses to
    /// initialise, or when it cannot give `MPI_THREAD_SERIALIZED`.
    /// The corresponding C functions are `MPI_Init_thread`, `MPI_Comm_rank`, `MPI_Comm_size`.
    public static func start(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> MPIContext {
        let kind = LaunchKind(environment: environment)
        if case let .slurmWithoutMPI(tasks) = kind {
            throw MPIError(function: "MPIContext.start", rank: 0, size: 1, summary: "cannot join the other tasks",
                           message: "this is one of \(tasks) Slurm tasks, but no MPI plugin started it (no PMIx/PMI "
                               + "variables); launch with `srun --mpi=pmix …` or `mpirun …`, or run one task")
        }
        return try startLock.withLock {
            if let shared { return shared }
            let context = kind == .launcher ? try initialiseMPI() : MPIContext(rank: 0, size: 1, world: nil)
            shared = context
            return context
        }
    }

    /// Finishes MPI (`MPI_Finalize`, collective: every rank calls it) after the last collective.
    ///
    /// Without MPI it does nothing. The context cannot be used afterwards.
    /// The corresponding C function is `MPI_Finalize`.
    public func finish() throws {
        guard isDistributed else { return }
        try lock.withLock {
            guard !finished.exchange(true, ordering: .sequentiallyConsistent) else { return }
            let code = MPI_Finalize()
            guard code == photoz_MPI_SUCCESS() else {
                throw MPIError(function: "MPI_Finalize", rank: rank, size: size, summary: "cannot finish MPI",
                               code: code, message: "error code \(code)")
            }
        }
    }

    /// Ends the whole run: prints `message` naming this rank on stderr, then `MPI_Abort`s every rank.
    ///
    /// Without MPI it prints the message and exits with `code`.
    /// The corresponding C function is `MPI_Abort`.
    public func abort(_ message: String, code: Int32 = 1) -> Never {
        abortPrinting(isDistributed ? "photoz: MPI rank \(rank) of \(size): \(message)" : "photoz: \(message)", code: code)
    }

    /// The `function` of the error `agree` throws on the ranks that did not fail.
    public static let otherRankFailed = "MPIContext.agree"

    /// Ends the whole run with `error`'s description (an `MPIError` names its rank already).
    public func abort(_ error: any Error, code: Int32 = 1) -> Never {
        if let error = error as? MPIError, error.function == Self.otherRankFailed, isDistributed {
            // Another rank failed (`agree`) and is ending the run with the message that names the
            // cause; its MPI_Abort ends this process too. Aborting first could kill it before it
            // prints (seen under load), so this rank waits for it, and ends the run itself only
            // if it has not.
            Thread.sleep(forTimeInterval: 10)
        }
        if let error = error as? MPIError, error.rank == rank, isDistributed { abortPrinting("photoz: \(error)", code: code) }
        abort("error: \(error)", code: code)
    }

    private func abortPrinting(_ line: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((line + "\n").utf8))
        guard let world else { exit(code) }
        // No lock: another thread may hold it inside a blocking call that will never return.
        MPI_Abort(world, code)
        exit(code)  // MPI_Abort does not return; this satisfies `Never`
    }

    /// Blocks until every rank reaches the barrier.
    /// The corresponding C function is `MPI_Barrier`.
    public func barrier() throws {
        guard let world else { return }
        try call("MPI_Barrier", "cannot wait for the other ranks") { MPI_Barrier(world) }
    }

    /// The user-defined bfloat16 sum (created once). Call with `lock` held.
    /// The corresponding C function is `MPI_Op_create`.
    func bfloat16Sum() throws -> MPI_Op {
        if let bfloat16SumOperation { return bfloat16SumOperation }
        var op: MPI_Op?
        let code = MPI_Op_create(bfloat16SumFunction, 1, &op)
        guard code == photoz_MPI_SUCCESS(), let op else {
            throw MPIError(function: "MPI_Op_create", rank: rank, size: size, summary: "cannot create the bfloat16 sum",
                           code: code, message: MPIContext.errorString(code))
        }
        bfloat16SumOperation = op
        return op
    }

    // MARK: Initialisation

    private static func initialiseMPI() throws -> MPIContext {
        var provided: Int32 = 0
        let required = photoz_MPI_THREAD_SERIALIZED()
        let code = MPI_Init_thread(nil, nil, required, &provided)
        guard code == photoz_MPI_SUCCESS() else {
            throw MPIError(function: "MPI_Init_thread", rank: 0, size: 1, summary: "cannot initialise MPI", code: code,
                           message: "error code \(code); check that mpirun and libmpi are the same OpenMPI")
        }
        let world = photoz_MPI_COMM_WORLD()
        // From here on, failures return codes instead of aborting the job.
        var rankValue: Int32 = 0, sizeValue: Int32 = 0
        var status = MPI_Comm_set_errhandler(world, photoz_MPI_ERRORS_RETURN())
        if status == photoz_MPI_SUCCESS() { status = MPI_Comm_rank(world, &rankValue) }
        if status == photoz_MPI_SUCCESS() { status = MPI_Comm_size(world, &sizeValue) }
        guard status == photoz_MPI_SUCCESS() else {
            throw MPIError(function: "MPI_Comm_rank", rank: 0, size: 1, summary: "cannot find this process's rank",
                           code: status, message: MPIContext.errorString(status))
        }
        let context = MPIContext(rank: Int(rankValue), size: Int(sizeValue), world: world)
        guard provided >= required else {
            context.abort("OpenMPI gives thread level \(provided), below MPI_THREAD_SERIALIZED (\(required)); "
                          + "use an OpenMPI built with thread support")
        }
        atexit { MPIContext.exitWithoutFinishing() }
        return context
    }

    /// The `atexit` handler: a process leaving after `MPI_Init` without `finish()` failed somewhere
    /// (an `exit(1)` after an error message); abort the run so the other ranks do not wait forever.
    private static func exitWithoutFinishing() {
        guard let context = shared, context.isDistributed else { return }
        if context.finished.load(ordering: .sequentiallyConsistent) { return }
        context.abort("the process is exiting before the run finished (see the error above); ending every rank")
    }

    /// The text of an MPI error code. Call with `lock` held when MPI is initialised.
    /// The corresponding C function is `MPI_Error_string`.
    static func errorString(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(photoz_MPI_MAX_ERROR_STRING()) + 1)
        var length: Int32 = 0
        guard MPI_Error_string(code, &buffer, &length) == photoz_MPI_SUCCESS() else { return "MPI error code \(code)" }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// How the process was started, read from the variables launchers set.
enum LaunchKind: Equatable {
    /// Started alone (no launcher): no MPI.
    case alone
    /// Started by an MPI launcher: OpenMPI's `mpirun` (`OMPI_COMM_WORLD_SIZE`), a PMIx launcher
    /// such as `srun --mpi=pmix` or OpenMPI 5's `prterun` (`PMIX_RANK`), or a PMI-2 one (`PMI_RANK`).
    case launcher
    /// One of several Slurm tasks started without an MPI plugin.
    case slurmWithoutMPI(tasks: Int)

    init(environment: [String: String]) {
        if ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"].contains(where: { environment[$0] != nil }) {
            self = .launcher
        } else if let tasks = environment["SLURM_STEP_NUM_TASKS"].flatMap(Int.init), tasks > 1 {
            self = .slurmWithoutMPI(tasks: tasks)
        } else {
            self = .alone
        }
    }
}
