// The user's path: `mpirun -np N photoz train | predict | attack` against the same command
// run alone, on a tiny simulated sky (120 galaxies, 32-pixel images, the small CNN, a few steps).
import Foundation
import MPI
import NeuralNet
import PhotoZ
import PhotoZData

/// The photoz executable built beside this one (`swift build` builds both).
func photozExecutable() -> String {
    let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    return me.deletingLastPathComponent().appendingPathComponent("photoz").path
}

/// Runs photoz alone (`ranks` nil) or under `mpirun --oversubscribe -np ranks`, one OpenMP
/// thread per process (the machine has 2 cores), killed after `timeout` seconds (a hang).
func photoz(_ arguments: [String], ranks: Int? = nil, in directory: String, timeout: Double = 300,
            environment extra: [String: String] = [:]) throws -> Outcome {
    let log = URL(fileURLWithPath: directory).appendingPathComponent(".photoz-\(UUID().uuidString).log")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: log) }
    let handle = try FileHandle(forWritingTo: log)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = (ranks.map { ["mpirun", "--oversubscribe", "-np", "\($0)"] } ?? []) + [photozExecutable()] + arguments
    var environment = mpirunEnvironment()
    environment["OMP_NUM_THREADS"] = "1"
    environment.merge(extra) { $1 }
    process.environment = environment
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    process.standardOutput = handle
    process.standardError = handle
    let start = Date()
    try process.run()
    var timedOut = false
    while process.isRunning {
        if Date().timeIntervalSince(start) > timeout {
            timedOut = true
            process.terminate()
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

/// A model file's parameters and optimizer buffers by name, and its root attribute `mpi_ranks`.
struct SavedRun {
    var values: [String: [Float]]
    var ranks: Int64?
    var step: Int64?

    init(_ path: String) throws {
        let file = try ModelFile.read(from: path)
        values = file.parameters.mapValues(\.values)
        for (name, buffer) in file.optimizer?.buffers ?? [:] { values["optimizer/" + name] = buffer }
        ranks = file.attributes["mpi_ranks"]?.int64Value
        step = file.attributes["step"]?.int64Value
    }

    /// The largest absolute difference over the parameters (not the optimizer buffers), and where.
    func largestParameterDifference(from other: SavedRun) -> (Float, String) {
        var worst: (Float, String) = (0, "")
        for (name, mine) in values where !name.hasPrefix("optimizer/") {
            guard let theirs = other.values[name], theirs.count == mine.count else { return (.infinity, name + " missing") }
            for (a, b) in zip(mine, theirs) where !(abs(a - b) <= worst.0) { worst = (abs(a - b), name) }
        }
        return worst
    }
}

/// The command scenarios; `report(name, passed, detail)` records each.
func runCommandScenarios(_ report: (String, Bool, String) -> Void) {
    let fm = FileManager.default
    guard fm.isExecutableFile(atPath: photozExecutable()) else {
        report("photoz under mpirun", false, "\(photozExecutable()) is missing: build it first (swift build)")
        return
    }
    let dir = fm.temporaryDirectory.appendingPathComponent("photoz-mpi-commands-\(getpid())").path
    try? fm.removeItem(atPath: dir)
    try? fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? fm.removeItem(atPath: dir) }
    func run(_ name: String, _ arguments: [String], ranks: Int? = nil, environment: [String: String] = [:]) -> Outcome? {
        do {
            let outcome = try photoz(arguments, ranks: ranks, in: dir, environment: environment)
            guard outcome.status == 0, !outcome.timedOut else {
                report(name, false, (outcome.timedOut ? "timed out (hang); " : "exit \(outcome.status); ") + "output:\n" + outcome.output)
                return nil
            }
            return outcome
        } catch {
            report(name, false, "\(error)")
            return nil
        }
    }
    func file(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    // The tiny sky: 120 galaxies, 32-pixel stamps, 70/20/10 split.
    guard run("simulate", ["simulate", "--count", "120", "--out", "sky", "--seed", "3", "--size", "32"]) != nil,
          run("ingest", ["ingest", "--catalog", "sky/catalog.fits", "--cutouts", "sky/cutouts", "--out", "shards", "--size", "32",
                         "--split", "70/20/10"]) != nil else { return }

    // 1. Training: a global batch of 9 on 2 ranks (shares of 5 and 4 rows, weights 5/9 and
    // 4/9) and on 3 ranks, and a batch of 2 on 3 ranks (rank 2 has no rows), against one
    // process with the same batch. A constant learning rate, so that a run stopped and resumed
    // follows the same schedule.
    let common = ["train", "--data", "shards", "--steps", "4", "--valid-every", "2", "--seed", "1", "--schedule", "step", "--lr-step", "0",
                  "--warmup", "0"]
    // Tolerances. With SGD the update is linear in the averaged gradient, whose only
    // difference from one process's is the order in which float32 adds the rows' gradients
    // (the ranks' weighted means, then their sum): measured 4e-9 to 1.5e-8 after 4 steps, i.e.
    // one or two ulps of parameters of about 0.1; the tolerance is 1e-7. A wrong weighting
    // (1/2 each for the 5- and 4-row shares instead of 5/9 and 4/9) moved them by 4e-3 (tried);
    // another batch (8 rows) moves them by > 2e-4.
    // With Adam (the default) each element's step is its gradient over the RMS of its past
    // gradients, which magnifies those roundings for elements whose gradient is near zero:
    // measured 2.5e-5 after 4 steps at a learning rate of 2e-3; the tolerance is 1e-4, while
    // another batch moves the parameters by 1.5e-2.
    // Adversarial training (FGSM, half of each batch): the first round(0.5·9) = 5 rows of the
    // global batch are replaced; on 3 ranks (3 rows each) rank 0 perturbs 3, rank 1 two, rank 2
    // none. FGSM's step is the sign of each row's own gradient, so the images are the single
    // process's and the SGD tolerance holds.
    // The SGD checks run without the default input scale: it multiplies the first
    // convolution's input (and its saved weights) by up to 32, so its roundings grow by as much
    // and these ulp-level tolerances no longer describe them (measured 1.2e-7 to 4.8e-7 on
    // conv1.weight with it). The Adam check runs with the default recipe.
    let sgd = ["--optimizer", "sgd", "--learning-rate", "0.05", "--no-normalise-input"]
    let adversarial = sgd + ["--adversarial", "fgsm", "--adv-epsilon", "0.05"]
    let tags = ["sgd": sgd, "adam": [], "fgsm": adversarial]
    let cases: [(tag: String, ranks: Int, batch: Int, tolerance: Float)] = [
        ("sgd", 2, 9, 1e-7), ("sgd", 3, 9, 1e-7), ("sgd", 3, 2, 1e-7), ("adam", 2, 9, 1e-4), ("fgsm", 3, 9, 1e-7)]
    for (tag, batch) in [("sgd", 9), ("sgd", 8), ("sgd", 2), ("adam", 9), ("adam", 8), ("fgsm", 9), ("fgsm", 8)] {
        guard run("train alone, \(tag), batch \(batch)", common + tags[tag]! + ["--batch-size", "\(batch)", "--out", "alone-\(tag)\(batch).h5"]) != nil else { return }
    }
    var overlappedOutput: [String: String] = [:]  // the default runs' output, by the blocking run's file
    for (tag, ranks, batch, tolerance) in cases {
        let optimizer = tags[tag]!
        let name = "mpirun -np \(ranks) photoz train [\(tag)] --batch-size \(batch) (4 steps) = one process with batch \(batch)"
        let out = "mpi\(ranks)-\(tag)\(batch).h5"
        guard let outcome = run(name, common + optimizer + ["--batch-size", "\(batch)", "--out", out], ranks: ranks) else { continue }
        overlappedOutput["blocking\(ranks)-\(tag)\(batch).h5"] = outcome.output
        do {
            let alone = try SavedRun(file("alone-\(tag)\(batch).h5")), distributed = try SavedRun(file(out))
            let other = try SavedRun(file("alone-\(tag)\(batch == 8 ? 9 : 8).h5"))
            let (difference, where_) = distributed.largestParameterDifference(from: alone)
            let (scale, _) = other.largestParameterDifference(from: alone)
            let identical = outcome.output.contains("parameters identical on every rank at each evaluation")
            // Adversarial training must have changed something: against the same run without it.
            let (effect, _) = tag == "fgsm" ? try SavedRun(file("alone-sgd\(batch).h5")).largestParameterDifference(from: alone) : (.infinity, "")
            let passed = difference <= tolerance && scale > 100 * tolerance && effect > 100 * tolerance && distributed.ranks == Int64(ranks) && alone.ranks == 1
                && distributed.step == 4 && identical
            report(name, passed, "largest parameter difference \(difference) (\(where_)), tolerance \(tolerance); another batch differs by \(scale); "
                   + (tag == "fgsm" ? "without adversarial training: \(effect); " : "")
                   + "mpi_ranks \(distributed.ranks.map(String.init) ?? "missing") (alone: \(alone.ranks.map(String.init) ?? "missing")); "
                   + (identical ? "parameters identical on every rank" : "no check of identical parameters in the output:\n" + outcome.output))
        } catch {
            report(name, false, "\(error)")
        }
    }

    // The runs above overlap the gradient allreduce with backward (the default); the blocking
    // path (PHOTOZ_ALLREDUCE=blocking) must give the same parameters. Two ranks add the same two
    // values either way (a + b): bit for bit. Three ranks (and a rank without rows) may add in
    // another order in MPI_Iallreduce than in MPI_Allreduce: the SGD tolerance.
    for (tag, ranks, batch, tolerance) in [("sgd", 2, 9, Float(0)), ("adam", 2, 9, 0), ("sgd", 3, 2, 1e-7)] {
        let name = "mpirun -np \(ranks) photoz train [\(tag)] --batch-size \(batch): PHOTOZ_ALLREDUCE=blocking = overlapped (the default)"
        let out = "blocking\(ranks)-\(tag)\(batch).h5"
        guard let outcome = run(name, common + tags[tag]! + ["--batch-size", "\(batch)", "--out", out], ranks: ranks,
                                environment: ["PHOTOZ_ALLREDUCE": "blocking"]) else { continue }
        do {
            let blocking = try SavedRun(file(out)), overlapped = try SavedRun(file("mpi\(ranks)-\(tag)\(batch).h5"))
            let (difference, where_) = overlapped.largestParameterDifference(from: blocking)
            let said = outcome.output.contains("gradient allreduce (blocking, after backward)")
                && overlappedOutput[out]?.contains("gradient allreduce not hidden behind backward (overlapped)") == true
            report(name, difference <= tolerance && blocking.step == 4 && said,
                   "largest parameter difference \(difference) (\(where_)), tolerance \(tolerance)"
                   + (said ? "" : "; the runs do not say they were blocking and overlapped:\n" + outcome.output + (overlappedOutput[out] ?? "")))
        } catch {
            report(name, false, "\(error)")
        }
    }
    let badMode = "mpirun -np 2 photoz train with PHOTOZ_ALLREDUCE=async ends with an error naming the variable"
    do {
        let outcome = try photoz(common + ["--batch-size", "9", "--out", "bad-mode.h5"], ranks: 2, in: dir, timeout: 60,
                                 environment: ["PHOTOZ_ALLREDUCE": "async"])
        let passed = outcome.status != 0 && !outcome.timedOut && outcome.output.contains("PHOTOZ_ALLREDUCE=async is not")
        report(badMode, passed, passed ? "" : (outcome.timedOut ? "timed out (hang); " : "") + "output:\n" + outcome.output)
    } catch {
        report(badMode, false, "\(error)")
    }

    // A rank that fails (rank 0: nothing to resume) ends the run at once with a message naming
    // it, instead of leaving the others waiting in a broadcast. (Rank 1 also says that rank 0
    // failed when it gets to print before MPI_Abort ends it: not required.)
    let failName = "mpirun -np 2 photoz train --resume of a missing model file ends the run naming rank 0"
    do {
        let outcome = try photoz(common + ["--batch-size", "9", "--out", "missing.h5", "--resume"], ranks: 2, in: dir, timeout: 60)
        let passed = outcome.status != 0 && !outcome.timedOut
            && outcome.output.contains("photoz: MPI rank 0 of 2: error: missing.h5: nothing to resume")
        report(failName + " (\(String(format: "%.1f", outcome.seconds)) s, exit \(outcome.status))", passed,
               passed ? "" : (outcome.timedOut ? "timed out (hang); " : "") + "output:\n" + outcome.output)
    } catch {
        report(failName, false, "\(error)")
    }

    // 2. --resume under mpirun: 2 steps, then resumed to 4, equals the uninterrupted run (mpi2-adam9.h5)
    // bit for bit, parameters and Adam's buffers (same ranks, same arithmetic, state saved exactly).
    let resumeName = "mpirun -np 2 photoz train --resume: stopped after 2 steps and resumed to 4 = uninterrupted, bit for bit"
    if run(resumeName, common.map { $0 == "4" ? "2" : $0 } + ["--batch-size", "9", "--out", "resumed.h5"], ranks: 2) != nil,
       run(resumeName, common + ["--batch-size", "9", "--out", "resumed.h5", "--resume"], ranks: 2) != nil {
        do {
            let resumed = try SavedRun(file("resumed.h5")), whole = try SavedRun(file("mpi2-adam9.h5"))
            let differing = whole.values.keys.filter { resumed.values[$0] != whole.values[$0] }.sorted()
            report(resumeName, differing.isEmpty && resumed.step == 4 && !whole.values.isEmpty,
                   differing.isEmpty ? "\(whole.values.count) datasets equal" : "differ: \(differing.prefix(5).joined(separator: ", "))")
        } catch {
            report(resumeName, false, "\(error)")
        }
    }

    // 3. Prediction: 1, 2 and 3 ranks write the single process's file (same values, bit for bit,
    // in the same order); mpi_ranks records the number of ranks.
    let predict = ["predict", "--model", "alone-adam9.h5", "--data", "shards", "--split", "all", "--batch-size", "16"]
    guard run("predict alone", predict + ["--out", "alone.hdf5"]) != nil else { return }
    let reference = try? PredictionFile.read(file("alone.hdf5"))
    for ranks in [2, 3] {
        let name = "mpirun -np \(ranks) photoz predict = photoz predict alone (all 120 objects, bit for bit)"
        guard run(name, predict + ["--out", "mpi\(ranks).hdf5"], ranks: ranks) != nil, let reference else { continue }
        do {
            let p = try PredictionFile.read(file("mpi\(ranks).hdf5"))
            let same = p.objectID == reference.objectID && p.zPhot == reference.zPhot && p.pdf == reference.pdf && p.ra == reference.ra && p.dec == reference.dec && p.ra != nil
                && p.zPhotStd == reference.zPhotStd && p.zSpec == reference.zSpec && p.count == 120
            let recorded = p.attributes["mpi_ranks"]?.int64Value
            report(name, same && recorded == Int64(ranks) && reference.attributes["mpi_ranks"]?.int64Value == 1,
                   "\(p.count) objects, \(same ? "identical" : "DIFFERENT"), mpi_ranks \(recorded.map(String.init) ?? "missing")")
        } catch {
            report(name, false, "\(error)")
        }
    }

    // 4. Robustness: 3 ranks (shares of 3, 3 and 2 of the 8 batches of 16 rows) give the
    // single process's report: the same metrics for every (model, ε, target), bit for bit.
    let robustness = ["robustness", "--model", "alone-adam9.h5", "--model", "alone-sgd9.h5", "--data", "shards", "--split", "all",
                      "--batch-size", "16", "--epsilons", "0.01,0.05"]
    let robustnessName = "mpirun -np 3 photoz robustness = photoz robustness alone (2 models and their ensemble, 2 epsilons)"
    if run(robustnessName, robustness + ["--out", "rob-alone"]) != nil, run(robustnessName, robustness + ["--out", "rob-mpi"], ranks: 3) != nil {
        do {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            let a = try decoder.decode(RobustnessReport.self, from: Data(contentsOf: URL(fileURLWithPath: file("rob-alone.json"))))
            let b = try decoder.decode(RobustnessReport.self, from: Data(contentsOf: URL(fileURLWithPath: file("rob-mpi.json"))))
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            func text<T: Encodable>(_ value: T) throws -> Data { try encoder.encode(value) }
            let same = try text(a.clean) == text(b.clean) && text(a.attacked) == text(b.attacked) && a.rows == b.rows && a.rows == 120
            report(robustnessName, same && a.mpiRanks == 1 && b.mpiRanks == 3,
                   "\(b.rows) rows, metrics \(same ? "identical" : "DIFFERENT"), mpiRanks \(b.mpiRanks.map(String.init) ?? "missing")")
        } catch {
            report(robustnessName, false, "\(error)")
        }
    }

    // 5. Attack: PGD with a random start (seeded by the batch's global index) on 3 ranks, 8
    // batches dealt out in rounds, gives the single process's adversarial data set: every shard's
    // datasets equal, bit for bit, and `photoz validate` accepts it.
    let attack = ["attack", "--model", "alone-adam9.h5", "--data", "shards", "--split", "all", "--method", "pgd", "--steps", "2",
                  "--random-start", "--epsilon", "0.01", "--batch-size", "16"]
    let attackName = "mpirun -np 3 photoz attack --method pgd --random-start = photoz attack alone (every shard, bit for bit)"
    if run(attackName, attack + ["--out", "adv-alone"]) != nil, run(attackName, attack + ["--out", "adv-mpi"], ranks: 3) != nil,
       run(attackName + ": photoz validate", ["validate", "adv-mpi"]) != nil {
        do {
            let shards = try fm.contentsOfDirectory(atPath: file("adv-alone")).filter { $0.hasSuffix(".h5") }.sorted()
            var differing: [String] = [], rows = 0, ranksRecorded: [Int64?] = []
            for name in shards {
                let a = try Shard(path: file("adv-alone/" + name)), b = try Shard(path: file("adv-mpi/" + name))
                rows += a.rows
                let pixels = [ShardSchema.images, ShardSchema.perturbation].map { ShardSchema.column($0)! }
                let (x, y) = (try a.read(rows: 0..<a.rows, columns: pixels), try b.read(rows: 0..<b.rows, columns: pixels))
                if x.images != y.images { differing.append(name + "/images") }
                if x.perturbation != y.perturbation { differing.append(name + "/perturbation") }
                for column in [ShardSchema.zSpec, ShardSchema.ebv] where try a.floatColumn(column) != b.floatColumn(column) {
                    differing.append(name + "/" + column)
                }
                if try a.objectIDs() != b.objectIDs() { differing.append(name + "/object_id") }
                ranksRecorded.append(try b.file.root.attribute("mpi_ranks")?.int64Value)
            }
            report(attackName, differing.isEmpty && rows == 120 && shards.count == 3 && ranksRecorded.allSatisfy { $0 == 3 },
                   "\(shards.count) shards, \(rows) rows; " + (differing.isEmpty ? "identical" : "differ: " + differing.joined(separator: ", "))
                   + "; mpi_ranks \(ranksRecorded)")
        } catch {
            report(attackName, false, "\(error)")
        }
    }

    // 6. More ranks than objects: 3 ranks predict a data set of 2 objects (ranks 1 and 2 have
    // none) and end cleanly with the single process's file.
    let twoName = "mpirun -np 3 photoz predict on 2 objects ends cleanly with the single process's values"
    if let reference {
        let ids = reference.objectID.prefix(2).map(String.init).joined(separator: "\n") + "\n"
        fm.createFile(atPath: file("two.txt"), contents: Data(ids.utf8))
        if run(twoName, ["select", "shards", "--ids", "two.txt", "--out", "two"]) != nil,
           run(twoName, ["predict", "--model", "alone-adam9.h5", "--data", "two", "--split", "all", "--out", "two-alone.hdf5"]) != nil,
           let outcome = run(twoName, ["predict", "--model", "alone-adam9.h5", "--data", "two", "--split", "all", "--out", "two-mpi.hdf5"], ranks: 3) {
            do {
                let a = try PredictionFile.read(file("two-alone.hdf5")), b = try PredictionFile.read(file("two-mpi.hdf5"))
                report(twoName + " (\(String(format: "%.1f", outcome.seconds)) s)", a.count == 2 && a.objectID == b.objectID && a.pdf == b.pdf,
                       "\(b.count) objects")
            } catch {
                report(twoName, false, "\(error)")
            }
        }
    }
}
