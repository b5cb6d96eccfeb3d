import Foundation
import Testing
@testable import SafeOutput

/// A fresh folder, removed at the end of the test.
final class Scratch {
    let path: String
    init() {
        path = URL(fileURLWithPath: NSTemporaryDirectory()).resolvingSymlinksInPath().path + "/safeoutput-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    func write(_ name: String, _ text: String) { try! text.write(toFile: file(name), atomically: false, encoding: .utf8) }
    func read(_ name: String) -> String? { try? String(contentsOfFile: file(name), encoding: .utf8) }
    var entries: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
}

struct Failure: Error {}

@Suite struct AtomicFileTests {
    @Test func replacesTheFileAndLeavesNoTemporary() throws {
        let dir = Scratch()
        dir.write("a.json", "old")
        try AtomicFile.write(Data("new".utf8), to: dir.file("a.json"))
        #expect(dir.read("a.json") == "new")
        #expect(dir.entries == ["a.json"])
    }

    @Test func aFailingWriterKeepsThePreviousFile() throws {
        let dir = Scratch()
        dir.write("a.h5", "previous")
        #expect(throws: Failure.self) {
            try AtomicFile.write(to: dir.file("a.h5")) { temporary in
                try Data("half".utf8).write(to: URL(fileURLWithPath: temporary))
                #expect(temporary.hasPrefix(dir.file(".a.h5.tmp-\(getpid())-")))
                throw Failure()
            }
        }
        #expect(dir.read("a.h5") == "previous")
        #expect(dir.entries == ["a.h5"])
    }

    @Test func neverReplacesWithoutPermission() throws {
        let dir = Scratch()
        dir.write("a.h5", "mine")
        #expect { try AtomicFile.write(Data("x".utf8), to: dir.file("a.h5"), replacing: .never) } throws: { error in
            (error as? SafeOutputError)?.kind == .usage && "\(error)".contains("--overwrite")
        }
        #expect { try AtomicFile.write(Data("x".utf8), to: dir.file("a.h5"), replacing: .ifRecognised { _ in false }) } throws: { error in
            (error as? SafeOutputError)?.kind == .usage && "\(error)".contains("not a file photoz wrote")
        }
        #expect(dir.read("a.h5") == "mine")
        try AtomicFile.write(Data("photoz".utf8), to: dir.file("a.h5"), replacing: .ifRecognised { _ in true })
        #expect(dir.read("a.h5") == "photoz")
        #expect(dir.entries == ["a.h5"])
    }

    @Test func aFileCreatedMeanwhileIsNotReplacedByANeverWrite() throws {
        let dir = Scratch()
        #expect(throws: SafeOutputError.self) {
            try AtomicFile.write(to: dir.file("b"), replacing: .never) { temporary in
                try Data("late".utf8).write(to: URL(fileURLWithPath: temporary))
                dir.write("b", "someone else's")
            }
        }
        #expect(dir.read("b") == "someone else's")
        #expect(dir.entries == ["b"])
    }

    @Test func preparedFilesAreRenamedOnlyOnCommit() throws {
        let dir = Scratch()
        dir.write("a.csv", "old a")
        dir.write("b.csv", "old b")
        let a = try AtomicFile.prepare(Data("new a".utf8), to: dir.file("a.csv"))
        do {
            let b = try AtomicFile.prepare(Data("new b".utf8), to: dir.file("b.csv"))
            #expect(dir.read("a.csv") == "old a" && dir.read("b.csv") == "old b", "nothing renamed before commit")
            _ = b   // released without commit, as when a later step of the writer fails
        }
        #expect(dir.read("b.csv") == "old b")
        try a.commit()
        #expect(dir.read("a.csv") == "new a")
        #expect(dir.entries == ["a.csv", "b.csv"], "the uncommitted temporary file is removed")
    }

    @Test func errorsNameTheFileAndTheSystemReason() throws {
        let dir = Scratch()
        let path = dir.file("missing-folder/x.json")
        #expect { try AtomicFile.write(Data("x".utf8), to: path) } throws: { error in
            let text = "\(error)"
            return text.contains("x.json") && text.contains("No such file or directory") && (error as? SafeOutputError)?.errno == ENOENT
        }
    }
}

@Suite struct StagedFolderTests {
    @Test func createsAndReplacesAFolderWholesale() throws {
        let dir = Scratch()
        let target = dir.file("out")
        let first = try StagedFolder(target: target, replacing: .never)
        #expect(first.path == dir.file(".out.partial-\(getpid())"))
        try "1".write(toFile: first.path + "/a", atomically: false, encoding: .utf8)
        try first.commit()
        #expect(dir.read("out/a") == "1")

        let second = try StagedFolder(target: target, replacing: .ifRecognised { FileManager.default.fileExists(atPath: $0 + "/a") })
        try "2".write(toFile: second.path + "/b", atomically: false, encoding: .utf8)
        #expect(dir.read("out/a") == "1")           // untouched until the commit
        try second.commit()
        #expect(dir.read("out/b") == "2")
        #expect(dir.read("out/a") == nil)
        #expect(dir.entries == ["out"])
    }

    @Test func theFallbackSwapWithoutExchangeAlsoReplacesWholesale() throws {
        StagedFolder.exchangeAllowed = false
        defer { StagedFolder.exchangeAllowed = true }
        let dir = Scratch()
        try FileManager.default.createDirectory(atPath: dir.file("out"), withIntermediateDirectories: false)
        dir.write("out/a", "old")
        let staged = try StagedFolder(target: dir.file("out"), replacing: .always)
        try "new".write(toFile: staged.path + "/b", atomically: false, encoding: .utf8)
        try staged.commit()
        #expect(dir.read("out/b") == "new")
        #expect(dir.read("out/a") == nil)
        #expect(dir.entries == ["out"], "the aside folder is removed")
    }

    @Test func anArbitraryFolderIsNeverReplaced() throws {
        let dir = Scratch()
        dir.write("precious.txt", "keep")
        #expect { try StagedFolder(target: dir.path, replacing: .ifRecognised { _ in false }) } throws: { error in
            (error as? SafeOutputError)?.kind == .usage && "\(error)".contains("not a folder photoz wrote")
        }
        #expect { try StagedFolder(target: dir.path, replacing: .never) } throws: { error in
            (error as? SafeOutputError)?.kind == .usage
        }
        #expect(dir.read("precious.txt") == "keep")
    }

    @Test func aDiscardedRunLeavesThePreviousFolder() throws {
        let dir = Scratch()
        try FileManager.default.createDirectory(atPath: dir.file("out"), withIntermediateDirectories: false)
        dir.write("out/a", "old")
        do {
            let staged = try StagedFolder(target: dir.file("out"), replacing: .always)
            try "new".write(toFile: staged.path + "/a", atomically: false, encoding: .utf8)
        }   // released without commit, as when the writer throws
        #expect(dir.read("out/a") == "old")
        #expect(dir.entries == ["out"])
    }
}

@Suite struct OutputLockTests {
    @Test func aSecondLockFailsNamingTheFirst() throws {
        let dir = Scratch()
        let first = try OutputLock(target: dir.file("out"), command: "photoz ingest --out out")
        #expect { try OutputLock(target: dir.file("out"), command: "photoz ingest again") } throws: { error in
            let text = "\(error)"
            return (error as? SafeOutputError)?.kind == .locked && text.contains("pid \(getpid())") && text.contains("photoz ingest --out out")
        }
        first.release()
        #expect(dir.entries.isEmpty)
        let again = try OutputLock(target: dir.file("out"))
        #expect(dir.entries == [".out.lock"])
        again.release()
    }

    @Test func aLockFileLeftBehindDoesNotBlock() throws {
        let dir = Scratch()
        dir.write(".out.lock", "pid 999999: photoz killed")    // the kernel released its flock
        let lock = try OutputLock(target: dir.file("out"))
        lock.release()
    }
}

@Suite struct OutputRulesTests {
    let never: @Sendable (String) -> Bool = { _ in false }

    @Test func outputMustNotBeContainOrLieInsideAnInput() throws {
        let dir = Scratch()
        try FileManager.default.createDirectory(atPath: dir.file("sky/cutouts"), withIntermediateDirectories: true)
        dir.write("sky/catalog.csv", "id")
        let inputs = [(option: "--catalog", path: dir.file("sky/catalog.csv")), (option: "--cutouts", path: dir.file("sky/cutouts"))]
        for (out, fragment) in [(dir.file("sky/cutouts"), "is the same as --cutouts"), (dir.file("sky"), "contains --catalog"),
                                (dir.file("sky/cutouts/shards"), "lies inside --cutouts"), (dir.file("sky/x/../cutouts"), "is the same as --cutouts")] {
            for overwrite in [false, true] {
                #expect { try OutputRules.check(out, kind: .folder, inputs: inputs, overwrite: overwrite, recognise: { _ in true }) } throws: { error in
                    (error as? SafeOutputError)?.kind == .usage && "\(error)".contains(fragment)
                }
            }
        }
        try OutputRules.check(dir.file("shards"), kind: .folder, inputs: inputs, overwrite: false, recognise: never)
    }

    @Test func symbolicLinksAreResolved() throws {
        let dir = Scratch()
        try FileManager.default.createDirectory(atPath: dir.file("data"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.file("alias"), withDestinationPath: dir.file("data"))
        try FileManager.default.createSymbolicLink(atPath: dir.file("up"), withDestinationPath: "data/..")
        #expect(OutputRules.resolve(dir.file("alias")) == dir.file("data"))
        #expect(OutputRules.resolve(dir.file("alias/../data/new")) == dir.file("data/new"))
        #expect(throws: SafeOutputError.self) {
            try OutputRules.check(dir.file("alias"), kind: .folder, inputs: [("--data", dir.file("data"))], overwrite: true, recognise: { _ in true })
        }
        #expect(throws: SafeOutputError.self) {
            try OutputRules.check(dir.file("up"), kind: .folder, inputs: [("--data", dir.file("data"))], overwrite: true, recognise: { _ in true })
        }
    }

    @Test func currentFolderIsNeverReplaced() throws {
        let dir = Scratch()
        dir.write("notes.txt", "mine")
        #expect(throws: SafeOutputError.self) {
            try OutputRules.check(dir.path + "/.", kind: .folder, inputs: [], overwrite: true, recognise: { FileManager.default.fileExists(atPath: $0 + "/manifest.json") })
        }
    }
}

@Suite struct LeftoversTests {
    /// A PID that is not running: a child that has exited and been reaped.
    static func deadPID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    @Test func parsesTheNamesWritersUse() {
        #expect(OutputNames.parse(".model.h5.tmp-123-4")! == ("model.h5", .temporaryFile, 123))
        #expect(OutputNames.parse(".shards.partial-77")! == ("shards", .stagingFolder, 77))
        #expect(OutputNames.parse(".shards.old-77")! == ("shards", .asideFolder, 77))
        #expect(OutputNames.parse("manifest.json") == nil)
        #expect(OutputNames.parse(".shards.lock") == nil)
        // Outputs whose own names look like markers: their entries parse as theirs, their locks as nothing.
        for marker in ["old", "tmp", "partial"] {
            #expect(OutputNames.parse(".\(marker)-123.lock") == nil)
            #expect(OutputNames.parse(".\(marker)-1") == nil)
        }
        #expect(OutputNames.parse(".old-123.partial-77")! == ("old-123", .stagingFolder, 77))
        #expect(OutputNames.parse(".tmp-5.h5.tmp-9-2")! == ("tmp-5.h5", .temporaryFile, 9))
    }

    @Test func removesWhatDeadRunsLeftAndKeepsLiveOnes() throws {
        let dir = Scratch()
        let dead = try Self.deadPID()
        try FileManager.default.createDirectory(atPath: dir.file("out"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.file(".out.partial-\(dead)"), withIntermediateDirectories: true)
        dir.write(".out.partial-\(dead)/train-00000.h5", "half")
        dir.write("out/.manifest.json.tmp-\(dead)-1", "half")
        dir.write(".out.tmp-\(getpid())-9", "mine, live")
        dir.write(".other.partial-\(dead)", "another output's")
        let found = Leftovers.of(dir.file("out"))
        #expect(Set(found.map(\.path)) == [dir.file(".out.partial-\(dead)"), dir.file("out/.manifest.json.tmp-\(dead)-1")])
        Leftovers.removeStale(of: dir.file("out"))
        #expect(dir.entries == [".other.partial-\(dead)", ".out.tmp-\(getpid())-9", "out"])
        #expect(Leftovers.of(dir.file("out")).isEmpty)
    }

    @Test func anAsideFolderIsRestoredWhenTheSwapWasCutShort() throws {
        let dir = Scratch()
        let dead = try Self.deadPID()
        try FileManager.default.createDirectory(atPath: dir.file(".out.old-\(dead)"), withIntermediateDirectories: true)
        dir.write(".out.old-\(dead)/manifest.json", "previous")
        Leftovers.removeStale(of: dir.file("out"))
        #expect(dir.read("out/manifest.json") == "previous")
        #expect(dir.entries == ["out"])
    }
}

@Suite struct ProvenanceTests {
    @Test func recordsEverythingAsAttributesAndJSON() throws {
        struct Config: Codable { var batchSize = 64 }
        let p = Provenance(schema: "photoz.predictions", schemaVersion: 1, toolVersion: "0.1.0", stage: "predict",
                           configuration: Config(), inputs: [.init(role: "model", path: "/m.h5", sha256: "ab")],
                           created: Date(timeIntervalSince1970: 0))
        let attributes = Dictionary(uniqueKeysWithValues: p.attributes.map { ($0.name, $0.value) })
        #expect(attributes["schema"] == .string("photoz.predictions"))
        #expect(attributes["schema_version"] == .int(1))
        #expect(attributes["created"] == .string("1970-01-01T00:00:00Z"))
        #expect(attributes["configuration"] == .string(#"{"batchSize":64}"#))
        #expect(attributes["inputs"] == .string(#"[{"path":"/m.h5","role":"model","sha256":"ab"}]"#))
        let decoded = try JSONDecoder().decode(Provenance.self, from: try JSONEncoder().encode(p))
        #expect(decoded == p)
    }
}
