import Foundation
import Testing

/// Every entry under `path` with its size, modification time and inode: equal snapshots mean
/// nothing was created, removed, replaced or written.
func snapshot(_ path: String) -> [String: String] {
    var result: [String: String] = [:]
    let enumerator = FileManager.default.enumerator(atPath: path)
    while let name = enumerator?.nextObject() as? String {
        var info = stat()
        guard lstat((path as NSString).appendingPathComponent(name), &info) == 0 else { continue }
        let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        result[name] = "\(info.st_ino) \(isDirectory ? 0 : info.st_size) \(isDirectory ? 0 : info.st_mtim.tv_sec * 1_000_000_000 + info.st_mtim.tv_nsec)"
    }
    return result
}

/// Entries of `directory` whose name starts with `.NAME.` (staging, temporary, aside or lock files of NAME).
func temporaries(of name: String, in directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix(".\(name).") }.sorted()
}

/// Waits until `condition` holds or `seconds` pass (or the process ends); returns whether it held.
func wait(for seconds: Double, while process: Process, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline && process.isRunning {
        if condition() { return true }
        usleep(1000)
    }
    return condition()
}

/// The root attributes of an HDF5 file, as `photoz inspect --json` lists them.
func rootAttributes(_ path: String) throws -> [String: String] {
    let result = try Photoz.run(["inspect", path, "--json"])
    let entries = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
    return entries.first { $0["path"] as? String == "/" }?["attributes"] as? [String: String] ?? [:]
}

/// SHA-256 of a file, by `sha256sum` (an implementation independent of photoz's).
func sha256sum(_ path: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [path]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return String(text.prefix(64))
}

func killNow(_ process: Process) {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
}

/// The guarantees of the README's "Safety" section, through the real executable.
@Suite(.serialized) struct OutputSafetyTests {
    /// A small simulated sky and its data set in `dir`: sky/, shards/.
    static func fixture(_ dir: TemporaryDirectory, count: Int = 40, size: Int = 32, seed: Int = 3, split: String = "80/10/10") throws {
        let sim = try Photoz.run(["simulate", "--count", String(count), "--out", dir.file("sky"), "--seed", String(seed), "--size", String(size)])
        #expect(sim.status == 0, "\(sim.stderr)")
        let ingest = try Photoz.run(["ingest", "--catalog", dir.file("sky/catalog.fits"), "--cutouts", dir.file("sky/cutouts"),
                                     "--out", dir.file("shards"), "--size", String(size), "--split", split])
        #expect(ingest.status == 0, "\(ingest.stderr)")
    }

    @Test func hostileOutputsAreRefusedWithExit64AndNothingTouched() throws {
        let dir = TemporaryDirectory()
        try Self.fixture(dir)
        try FileManager.default.createDirectory(atPath: dir.file("elsewhere"), withIntermediateDirectories: true)
        try "mine".write(toFile: dir.file("elsewhere/notes.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir.file("link"), withDestinationPath: dir.file("sky/cutouts"))
        let ingest = ["ingest", "--catalog", dir.file("sky/catalog.fits"), "--cutouts", dir.file("sky/cutouts"), "--size", "32"]
        let cases: [(arguments: [String], directory: String?, message: String)] = [
            (ingest + ["--out", dir.file("sky/cutouts")], nil, "is the same as --cutouts"),
            (ingest + ["--out", dir.file("link")], nil, "is the same as --cutouts"),
            (ingest + ["--out", dir.file("sky/cutouts/../cutouts")], nil, "is the same as --cutouts"),
            (ingest + ["--out", dir.file("sky")], nil, "contains --catalog"),
            (ingest + ["--out", dir.path], nil, "contains --catalog"),
            (ingest + ["--out", dir.file("sky/cutouts/shards")], nil, "lies inside --cutouts"),
            (["ingest", "--catalog", "catalog.fits", "--cutouts", "cutouts", "--size", "32", "--out", "."], dir.file("sky"), "contains --catalog"),
            (ingest + ["--out", "."], dir.file("elsewhere"), "not a folder photoz wrote|already exists and is not empty; pass --overwrite"),
            (["attack", "--model", dir.file("m.h5"), "--data", dir.file("shards"), "--epsilon", "0.01", "--out", dir.file("shards")], nil, "is the same as --data"),
            (["attack", "--model", dir.file("m.h5"), "--data", dir.file("shards"), "--epsilon", "0.01", "--out", dir.path], nil, "contains --data"),
            (["predict", "--model", dir.file("sky/catalog.fits"), "--data", dir.file("shards"), "--out", dir.file("sky/catalog.fits")], nil, "is the same as --model"),
            (["export-fits", "--data", dir.file("shards"), "--out", dir.file("shards")], nil, "is the same as --data"),
            (["train", "--data", dir.file("shards"), "--out", dir.file("shards/model.h5")], nil, "lies inside --data"),
            // A user's file, or photoz's file of another kind, is never replaced by --overwrite.
            (["predict", "--model", dir.file("m.h5"), "--data", dir.file("shards"), "--out", dir.file("elsewhere/notes.txt")], nil,
             "not a file photoz wrote|already exists; pass --overwrite"),
            (["train", "--data", dir.file("shards"), "--out", dir.file("sky/catalog.fits")], nil, "not a file photoz wrote|already exists; pass --overwrite"),
            (["simulate", "--count", "5", "--out", dir.file("elsewhere")], nil, "not a folder photoz simulate wrote|exists and is not empty; add --overwrite"),
        ]
        let before = snapshot(dir.path)
        for (arguments, directory, message) in cases {
            for extra in [[], ["--overwrite"]] {
                let result = try Photoz.run(arguments + extra, in: directory)
                #expect(result.status == 64, "\(arguments + extra): exit \(result.status) \(result.stderr)")
                #expect(message.split(separator: "|").contains { result.stderr.contains($0) }, "\(arguments + extra): \(result.stderr)")
                #expect(snapshot(dir.path) == before, "\(arguments + extra) touched files")
            }
        }
        // --overwrite of an existing data set that photoz wrote is allowed (the control case).
        let replaced = try Photoz.run(ingest + ["--out", dir.file("shards"), "--overwrite"])
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(temporaries(of: "shards", in: dir.path).isEmpty)
    }

    @Test func optionsAreBoundedWithAMessage() throws {
        let cases: [([String], String)] = [
            (["ingest", "--catalog", "c", "--cutouts", "d", "--out", "o", "--size", "100000"], "--size 100000: must be between 16 and 1024"),
            (["ingest", "--catalog", "c", "--cutouts", "d", "--out", "o", "--shard-size", "0"], "--shard-size 0"),
            (["ingest", "--catalog", "c", "--cutouts", "d", "--out", "o", "--threads", "0"], "--threads 0"),
            (["ingest", "--catalog", "c", "--cutouts", "d", "--out", "o", "--split", "80/20"], "--split '80/20'"),
            (["ingest", "--catalog", "c", "--cutouts", "d", "--out", "o", "--compression", "lzma"], "--compression 'lzma'"),
            (["train", "--data", "d", "--out", "m.h5", "--batch-size", "0"], "--batch-size 0"),
            (["train", "--data", "d", "--out", "m.h5", "--epochs", "0"], "--epochs 0"),
            (["train", "--data", "d", "--out", "m.h5", "--adversarial", "fgsm"], "--adversarial needs --adv-epsilon"),
            (["train", "--data", "d", "--out", "m.h5", "--adv-epsilon", "0.1"], "--adv-epsilon and --adv-steps need --adversarial"),
            (["train", "--data", "d", "--out", "m.h5", "--lr-gamma", "3"], "--lr-gamma 3"),
            (["predict", "--model", "m", "--data", "d", "--out", "p.h5", "--split", "nonsense"], "nonsense"),
            (["predict", "--model", "m", "--data", "d", "--out", "p.h5", "--batch-size", "100000"], "--batch-size 100000"),
            (["attack", "--model", "m", "--data", "d", "--out", "o", "--epsilon", "0.1", "--split", "everything"], "everything"),
            (["attack", "--model", "m", "--data", "d", "--out", "o", "--epsilon", "0.1", "--batch-size", "0"], "--batch-size 0"),
            (["robustness", "--model", "m", "--data", "d", "--epsilons", "0.1,x"], "--epsilons: 'x'"),
            (["simulate", "--count", "10", "--out", "o", "--size", "4096"], "--size 4096"),
        ]
        for (arguments, message) in cases {
            let result = try Photoz.run(arguments)
            #expect(result.status == 64, "\(arguments): exit \(result.status)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }

    @Test func aSecondRunWritingTheSameOutputFailsAtOnceNamingTheFirst() throws {
        let dir = TemporaryDirectory()
        let first = try Photoz.start(["simulate", "--count", "3000", "--out", dir.file("sky"), "--threads", "1"])
        let locked = wait(for: 20, while: first) { FileManager.default.fileExists(atPath: dir.file(".sky.lock")) }
        #expect(locked, "the first run never took its lock")
        let start = Date()
        let second = try Photoz.run(["simulate", "--count", "5", "--out", dir.file("sky"), "--overwrite"])
        #expect(Date().timeIntervalSince(start) < 5, "the second run waited instead of failing at once")
        #expect(second.status == 1)
        #expect(second.stderr.contains("is being written by another photoz run (pid \(first.processIdentifier):"), "\(second.stderr)")
        #expect(second.stderr.contains("simulate --count 3000"), "\(second.stderr)")
        killNow(first)
        // The killed run's lock dies with it; its staging folder is removed by the next run.
        let next = try Photoz.run(["simulate", "--count", "5", "--out", dir.file("sky"), "--size", "16"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(temporaries(of: "sky", in: dir.path).isEmpty)
        #expect(temporaries(of: "cutouts", in: dir.file("sky")).isEmpty, "\((try? FileManager.default.contentsOfDirectory(atPath: dir.file("sky"))) ?? [])")
    }

    @Test func aKilledIngestKeepsThePreviousDataSetAndTheNextRunLeavesNoLeftovers() throws {
        let dir = TemporaryDirectory()
        try Self.fixture(dir, count: 150, size: 64, seed: 5)
        let before = snapshot(dir.file("shards"))
        let process = try Photoz.start(["ingest", "--catalog", dir.file("sky/catalog.fits"), "--cutouts", dir.file("sky/cutouts"),
                                        "--out", dir.file("shards"), "--compression", "gzip:9", "--threads", "1", "--shard-size", "20", "--overwrite"])
        let staged = wait(for: 30, while: process) {
            temporaries(of: "shards", in: dir.path).contains { name in
                name.contains(".partial-") && ((try? FileManager.default.contentsOfDirectory(atPath: dir.file(name))) ?? []).contains { $0.hasSuffix(".h5") }
            }
        }
        killNow(process)
        #expect(staged, "ingest finished before it could be killed; make the data set larger")
        #expect(snapshot(dir.file("shards")) == before, "the previous data set changed")
        let validate = try Photoz.run(["validate", dir.file("shards")])
        #expect(validate.status == 0, "\(validate.stdout)")
        #expect(validate.stderr.contains("leftovers of killed runs"), "validate does not report the staging folder: \(validate.stderr)")

        let next = try Photoz.run(["ingest", "--catalog", dir.file("sky/catalog.fits"), "--cutouts", dir.file("sky/cutouts"),
                                   "--out", dir.file("shards"), "--overwrite"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.stderr.contains("left by a killed run (process \(process.processIdentifier))"), "\(next.stderr)")
        #expect(temporaries(of: "shards", in: dir.path).isEmpty, "\(temporaries(of: "shards", in: dir.path))")
        let clean = try Photoz.run(["validate", dir.file("shards")])
        #expect(clean.status == 0 && !clean.stderr.contains("leftovers"), "\(clean.stderr)")
    }

    @Test func killedTrainAndAttackKeepTheirPreviousOutputsAndTheNextRunsLeaveNoLeftovers() throws {
        let dir = TemporaryDirectory()
        try Self.fixture(dir, count: 120, size: 32, seed: 8, split: "60/20/20")
        let model = dir.file("m.h5")
        let train = ["train", "--data", dir.file("shards"), "--out", model, "--batch-size", "16"]
        let first = try Photoz.run(train + ["--epochs", "1"])
        #expect(first.status == 0, "\(first.stderr)")

        // Saving every step makes a kill during a save likely; any moment must be safe.
        let long = try Photoz.start(train + ["--epochs", "500", "--valid-every", "1", "--overwrite"])
        _ = wait(for: 30, while: long) { temporaries(of: "m.h5", in: dir.path).contains { $0.contains(".tmp-") } }
        killNow(long)
        let predict = try Photoz.run(["predict", "--model", model, "--data", dir.file("shards"), "--out", dir.file("p.h5")])
        #expect(predict.status == 0, "the model file is not whole after the kill: \(predict.stderr)")
        // Both files carry their full provenance: stage, configuration, inputs with checksums.
        let predictions = try rootAttributes(dir.file("p.h5"))
        #expect(predictions["stage"] == "predict" && predictions["schema"] == "photoz.predictions", "\(predictions)")
        #expect(predictions["configuration"]?.contains("\"models\":[") == true, "\(predictions)")
        let modelSum = try sha256sum(model), manifestSum = try sha256sum(dir.file("shards/manifest.json"))
        #expect(predictions["inputs"]?.contains(modelSum) == true && predictions["inputs"]?.contains(manifestSum) == true, "\(predictions)")
        let modelAttributes = try rootAttributes(model)
        #expect(modelAttributes["stage"] == "train" && modelAttributes["inputs"]?.contains(manifestSum) == true, "\(modelAttributes)")
        #expect(modelAttributes["configuration"]?.contains("\"batchSize\":16") == true, "\(modelAttributes)")
        // A full disk (RLIMIT_FSIZE, SIGXFSZ ignored) while libhdf5 writes: exit 1 naming the file
        // and the system's reason, no crash, the previous files intact, nothing left behind.
        let models = [snapshot(dir.path)["m.h5"], snapshot(dir.path)["p.h5"]]
        for arguments in [["predict", "--model", model, "--data", dir.file("shards"), "--out", dir.file("p.h5"), "--overwrite", "--split", "all"],
                          train + ["--epochs", "1", "--overwrite"]] {
            let full = try Photoz.run(arguments, after: "trap '' XFSZ; ulimit -f 20")
            #expect(full.status == 1, "\(arguments[0]) under a full disk: exit \(full.status), \(full.stderr)")
            #expect(full.stderr.contains("File too large") && !full.stderr.contains("crashed"), "\(full.stderr)")
        }
        #expect([snapshot(dir.path)["m.h5"], snapshot(dir.path)["p.h5"]] == models, "a failed write changed the previous files")
        for name in ["m.h5", "m.best.h5", "p.h5"] { #expect(temporaries(of: name, in: dir.path).isEmpty, "\(temporaries(of: name, in: dir.path))") }

        let again = try Photoz.run(train + ["--epochs", "1", "--overwrite"])
        #expect(again.status == 0, "\(again.stderr)")
        for name in ["m.h5", "m.best.h5"] { #expect(temporaries(of: name, in: dir.path).isEmpty, "\(temporaries(of: name, in: dir.path))") }

        let attack = ["attack", "--model", model, "--data", dir.file("shards"), "--out", dir.file("adv"), "--split", "all"]
        let made = try Photoz.run(attack + ["--epsilon", "0.01"])
        #expect(made.status == 0, "\(made.stderr)")
        let before = snapshot(dir.file("adv"))
        let slow = try Photoz.start(attack + ["--method", "pgd", "--steps", "2000", "--epsilon", "0.01", "--overwrite", "--batch-size", "8"])
        let staged = wait(for: 30, while: slow) { temporaries(of: "adv", in: dir.path).contains { $0.contains(".partial-") } }
        usleep(300_000)
        killNow(slow)
        #expect(staged, "attack finished before it could be killed")
        #expect(snapshot(dir.file("adv")) == before, "the previous adversarial data set changed")
        let next = try Photoz.run(attack + ["--epsilon", "0.02", "--overwrite"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(temporaries(of: "adv", in: dir.path).isEmpty, "\(temporaries(of: "adv", in: dir.path))")
        #expect(try Photoz.run(["validate", dir.file("adv")]).status == 0)
    }

    @Test func aFullDiskFailsNamingTheFileAndKeepsThePreviousOutput() throws {
        let dir = TemporaryDirectory()
        let sky = dir.file("sky")
        #expect(try Photoz.run(["simulate", "--count", "200", "--size", "16", "--out", sky]).status == 0)
        let before = snapshot(sky)
        // RLIMIT_FSIZE of 64 KiB with SIGXFSZ ignored: a write past it fails with EFBIG, as on a
        // full disk; the cutouts fit, the 100 KB catalog does not.
        let result = try Photoz.run(["simulate", "--count", "200", "--size", "16", "--out", sky, "--overwrite", "--seed", "9"],
                                    after: "trap '' XFSZ; ulimit -f 64")
        #expect(result.status == 1)
        #expect(result.stderr.contains("catalog.csv") && result.stderr.contains("File too large"), "\(result.stderr)")
        #expect(snapshot(sky) == before, "the previous simulation changed")
        #expect(temporaries(of: "sky", in: dir.path).isEmpty)
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: sky)).contains { $0.hasPrefix(".") }, "staging left behind")
    }

    /// Ingest's reader and writer threads stop cleanly when a shard write fails (it once died
    /// with SIGILL: a semaphore released below its initial value).
    @Test func ingestOnAFullDiskFailsNamingTheShardAndKeepsThePreviousDataSet() throws {
        let dir = TemporaryDirectory()
        #expect(try Photoz.run(["simulate", "--count", "150", "--size", "64", "--out", dir.file("sky")]).status == 0)
        let ingest = ["ingest", "--catalog", dir.file("sky/catalog.fits"), "--cutouts", dir.file("sky/cutouts"),
                      "--out", dir.file("shards"), "--compression", "none"]
        #expect(try Photoz.run(ingest + ["--shard-size", "10"]).status == 0)
        let before = snapshot(dir.file("shards"))
        // 100 KiB per file: a shard of 150 images of 5×64×64 float32 (12 MB) cannot be written.
        let result = try Photoz.run(ingest + ["--overwrite", "--shard-size", "1000"], after: "trap '' XFSZ; ulimit -f 100")
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains(".h5") && result.stderr.contains("File too large"), "\(result.stderr)")
        #expect(snapshot(dir.file("shards")) == before, "the previous data set changed")
        #expect(temporaries(of: "shards", in: dir.path).isEmpty)
    }
}

/// Messages anywhere in the sources name only options that exist.
@Suite struct OptionHintTests {
    @Test func everyOptionNamedInAMessageExists() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var named: Set<String> = []
        let pattern = try NSRegularExpression(pattern: #""[^"\n]*?(--[a-z][a-z0-9-]+)"#)
        let enumerator = FileManager.default.enumerator(atPath: root.appendingPathComponent("Sources").path)
        while let file = enumerator?.nextObject() as? String {
            guard file.hasSuffix(".swift"), let text = try? String(contentsOf: root.appendingPathComponent("Sources/" + file), encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") where !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                let s = String(line)
                for match in pattern.matches(in: s, range: NSRange(s.startIndex..., in: s)) {
                    named.insert(String(s[Range(match.range(at: 1), in: s)!]))
                }
            }
        }
        #expect(named.count > 20, "the scan found too few options: \(named)")
        var existing: Set<String> = ["--help", "--version", "--no-augment", "--no-perturbation", "--no-plots", "--no-random-start",
                                        "--mpi"]  // `srun --mpi=pmix` in the MPI layer's advice: an option of Slurm, not photoz
        let commands = ["ingest", "simulate", "train", "predict", "evaluate", "baseline", "attack", "robustness", "export-fits",
                        "inspect", "validate", "demo", "bench", "bench-attack", "cutout", "select", "split", "merge", "table",
                        "convert", "export"]
        for command in commands {
            let help = try Photoz.run(["help", command]).stdout
            let option = try NSRegularExpression(pattern: "--[a-z][a-z0-9-]+")
            for match in option.matches(in: help, range: NSRange(help.startIndex..., in: help)) { existing.insert(String(help[Range(match.range, in: help)!])) }
        }
        let unknown = named.subtracting(existing).sorted()
        #expect(unknown.isEmpty, "messages name options that no command has: \(unknown)")
    }
}
