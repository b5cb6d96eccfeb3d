// The driver: runs each scenario under mpirun with a timeout and checks how it ended.
import Foundation
import MPI

struct Outcome {
    var status: Int32
    var output: String
    var seconds: Double
    var timedOut: Bool
}

/// The environment mpirun needs here: as root (CI containers) OpenMPI refuses to start without
/// the two ALLOW variables; in containers the shared-memory transport's single-copy mechanism
/// (CMA, which needs ptrace rights) fails, so it is turned off.
func mpirunEnvironment() -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    if getuid() == 0 {
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    }
    if environment["OMPI_MCA_btl_vader_single_copy_mechanism"] == nil {
        environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"
    }
    return environment
}

/// Runs `mpirun --oversubscribe -np ranks <this executable> scenario`, killing it after `timeout` seconds.
func launch(_ scenario: String, ranks: Int, timeout: Double) throws -> Outcome {
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("photoz-mpi-\(getpid())-\(scenario).log")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: log) }
    let handle = try FileHandle(forWritingTo: log)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
    process.arguments = ["mpirun", "--oversubscribe", "-np", "\(ranks)", me, scenario]
    process.environment = mpirunEnvironment()
    process.standardOutput = handle
    process.standardError = handle
    let start = Date()
    try process.run()
    var timedOut = false
    while process.isRunning {
        if Date().timeIntervalSince(start) > timeout {
            timedOut = true
            process.terminate()  // mpirun forwards SIGTERM to the ranks
            Thread.sleep(forTimeInterval: 5)
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            break
        }
        Thread.sleep(forTimeInterval: 0.05)
    }
    process.waitUntilExit()
    try handle.close()
    let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    return Outcome(status: process.terminationStatus, output: output, seconds: Date().timeIntervalSince(start), timedOut: timedOut)
}

/// Runs every scenario (`only: "commands"`: the photoz command scenarios alone).
func runDriver(only: String? = nil) -> Int32 {
    var failures: [String] = []
    func report(_ name: String, _ passed: Bool, _ detail: String) {
        // The first 40 lines of a failure's output say enough (a trapped rank prints a long backtrace).
        let shown = detail.split(separator: "\n", omittingEmptySubsequences: false).prefix(40).joined(separator: "\n")
        print("\(passed ? "passed" : "FAILED"): \(name)\(shown.isEmpty ? "" : ": " + shown)")
        if !passed { failures.append(name) }
    }

    if only == "commands" {
        runCommandScenarios(report)
        print(failures.isEmpty ? "photoz-mpi-tests: all passed" : "photoz-mpi-tests: \(failures.count) failed: \(failures.joined(separator: ", "))")
        return failures.isEmpty ? 0 : 1
    }

    // 1. Alone: one rank, libmpi untouched, same checks.
    do {
        let context = try MPIContext.start()
        precondition(!context.isDistributed, "photoz-mpi-tests: run the driver alone, not under mpirun")
        let e = try runChecks(context)
        report("alone (rank 0 of 1, no MPI_Init)", e.failures.isEmpty && context.size == 1, e.failures.joined(separator: "; "))
    } catch {
        report("alone", false, "\(error)")
    }

    // 2. The checks under mpirun: 2 ranks (exact averages), 3 ranks (uneven shares, empty ranks).
    for ranks in [2, 3] {
        do {
            let outcome = try launch("checks", ranks: ranks, timeout: 300)  // a hang, not a slow machine
            let passed = outcome.status == 0 && !outcome.timedOut && outcome.output.contains("all passed")
            report("checks under mpirun -np \(ranks) (\(String(format: "%.1f", outcome.seconds)) s)", passed,
                   passed ? outcome.output.split(separator: "\n").last.map(String.init) ?? "" : outcome.output)
        } catch {
            report("checks under mpirun -np \(ranks)", false, "\(error)")
        }
    }

    // 3. A failing rank ends the run (not a hang), with a message naming it.
    let failures_ = [("fail-throw", "a rank that throws", "photoz: MPI rank 1 of 2: cannot read shard-00003.h5 (test): injected failure"),
                     ("fail-exit", "a rank that exits without finishing MPI", "MPI rank 1 of 2: the process is exiting before the run finished"),
                     ("fail-crash", "a rank that traps", "process rank 1"),
                     ("fail-mpi", "a rank whose MPI call fails (MPI_ERRORS_RETURN, MPI_Error_string)",
                      "photoz: MPI rank 1 of 2: cannot broadcast 10 values from rank 0 (MPI_Bcast): MPI_ERR_TRUNCATE: message truncated")]
    for (scenario, what, message) in failures_ {
        do {
            let outcome = try launch(scenario, ranks: 2, timeout: 60)
            let passed = outcome.status != 0 && !outcome.timedOut && outcome.output.contains(message)
            report("\(what) ends the run in \(String(format: "%.1f", outcome.seconds)) s, exit \(outcome.status)", passed,
                   passed ? "" : (outcome.timedOut ? "timed out (hang); " : "") + "output:\n" + outcome.output)
        } catch {
            report(what, false, "\(error)")
        }
    }

    // 4. The user's path: photoz train, predict (and attack) under mpirun against photoz alone.
    runCommandScenarios(report)

    print(failures.isEmpty ? "photoz-mpi-tests: all passed" : "photoz-mpi-tests: \(failures.count) failed: \(failures.joined(separator: ", "))")
    return failures.isEmpty ? 0 : 1
}
