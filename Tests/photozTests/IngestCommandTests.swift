import Foundation
import Testing

@Suite struct IngestCommandTests {
    @Test func helpListsTheCommands() throws {
        let result = try Photoz.run(["--help"])
        #expect(result.status == 0)
        for command in ["ingest", "inspect", "validate"] { #expect(result.stdout.contains(command)) }
        let ingest = try Photoz.run(["help", "ingest"])
        for option in ["--catalog", "--cutouts", "--out", "--layout", "--shard-size", "--compression", "--split", "--overwrite", "--fill-nonfinite"] {
            #expect(ingest.stdout.contains(option), "ingest help lacks \(option)")
        }
    }

    @Test func badInputGivesAClearErrorAndNonZeroExit() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("cutouts"), withIntermediateDirectories: true)
        let missing = try Photoz.run(["ingest", "--catalog", dir.file("nope.csv"), "--cutouts", dir.file("cutouts"), "--out", dir.file("out")])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("nope.csv: file not found"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("out")))

        let badSplit = try Photoz.run(["ingest", "--catalog", "x", "--cutouts", "y", "--out", "z", "--split", "80/20"])
        #expect(badSplit.status != 0)
        #expect(badSplit.stderr.contains("--split '80/20'"))

        let badLayout = try Photoz.run(["ingest", "--catalog", "x", "--cutouts", "y", "--out", "z", "--layout", "tiles"])
        #expect(badLayout.status != 0)
        #expect(badLayout.stderr.contains("tiles"))
    }

    @Test func validateExitCodesFollowTheDocumentation() throws {
        let dir = TemporaryDirectory()
        try "garbage".write(toFile: dir.file("bad.h5"), atomically: true, encoding: .utf8)
        let unreadable = try Photoz.run(["validate", dir.file("bad.h5")])
        #expect(unreadable.status == 2)
        #expect(unreadable.stdout.contains("bad.h5"))
        let absent = try Photoz.run(["validate", dir.file("absent")])
        #expect(absent.status == 2)
    }
}
