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

    /// The catalog layer names no flag; the CLI adds the option that picks another column.
    @Test func aMissingOrUnusableColumnNamesTheOptionThatChoosesIt() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("cutouts"), withIntermediateDirectories: true)
        try "objID,ra,dec,ebv\n1,10.0,1.0,0.02\n".write(toFile: dir.file("noz.csv"), atomically: true, encoding: .utf8)
        // (Without a z column the catalog is a prediction set; a named one must exist.)
        let noZ = try Photoz.run(["ingest", "--catalog", dir.file("noz.csv"), "--cutouts", dir.file("cutouts"), "--out", dir.file("out"),
                                  "--z-column", "zspec"])
        #expect(noZ.status == 1)
        #expect(noZ.stderr.contains("noz.csv") && noZ.stderr.contains("--z-column"), "\(noZ.stderr)")
        try "objID,ra,dec,z,ebv\n1,10.0,1.0,0.1,0.02\n".write(toFile: dir.file("ok.csv"), atomically: true, encoding: .utf8)
        let renamed = try Photoz.run(["ingest", "--catalog", dir.file("ok.csv"), "--cutouts", dir.file("cutouts"), "--out", dir.file("out"),
                                      "--id-column", "ID"])
        #expect(renamed.status == 1)
        #expect(renamed.stderr.contains("--id-column"), "\(renamed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("out")))
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
