import Foundation
import Testing

/// `photoz ingest --append` as a user runs it, and the README line that documents it.
@Suite struct IngestAppendCommandTests {
    @Test func appendAddsObjectsKeepsTheSplitFractionsAndRefusesRepeats() throws {
        let dir = TemporaryDirectory()
        #expect(try Photoz.run(["simulate", "--count", "30", "--out", dir.file("sky"), "--seed", "9", "--size", "32"]).status == 0)
        let lines = try String(contentsOfFile: dir.file("sky/catalog.csv"), encoding: .utf8).split(separator: "\n").map(String.init)
        try ([lines[0]] + lines[1..<21]).joined(separator: "\n").appending("\n").write(toFile: dir.file("first.csv"), atomically: true, encoding: .utf8)
        try ([lines[0]] + lines[21..<26]).joined(separator: "\n").appending("\n").write(toFile: dir.file("second.csv"), atomically: true, encoding: .utf8)
        try ([lines[0]] + lines[26...]).joined(separator: "\n").appending("\n").write(toFile: dir.file("third.csv"), atomically: true, encoding: .utf8)
        let base = ["--cutouts", dir.file("sky/cutouts"), "--out", dir.file("data"), "--size", "32"]
        let first = try Photoz.run(["ingest", "--catalog", dir.file("first.csv"), "--split", "60/20/20"] + base)
        #expect(first.status == 0, "\(first.stderr)")

        // --split is not repeated: the data set's fractions are used.
        let second = try Photoz.run(["ingest", "--catalog", dir.file("second.csv"), "--append", "--json"] + base)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("\"appendedTo\":20") && second.stdout.contains("\"ingested\":5"), "\(second.stdout)")
        #expect(try Photoz.run(["validate", dir.file("data")]).status == 0)
        let manifest = try String(contentsOfFile: dir.file("data/manifest.json"), encoding: .utf8)
        #expect(manifest.contains("\"train\" : 0.6") && manifest.contains("previous_manifest_sha256"))

        let third = try Photoz.run(["ingest", "--catalog", dir.file("third.csv"), "--append"] + base)
        #expect(third.status == 0, "\(third.stderr)")
        #expect(third.stdout.contains("appended \(lines.count - 26) objects to a data set of 25 rows (kept with their splits); it now holds \(lines.count - 1) rows"), "\(third.stdout)")

        let again = try Photoz.run(["ingest", "--catalog", dir.file("second.csv"), "--append"] + base)
        #expect(again.status == 1)
        #expect(again.stderr.contains("already in"), "\(again.stderr)")

        let both = try Photoz.run(["ingest", "--catalog", dir.file("second.csv"), "--append", "--overwrite"] + base)
        #expect(both.status == 64)
        #expect(both.stderr.contains("--append") && both.stderr.contains("--overwrite"))

        try FileManager.default.createDirectory(atPath: dir.file("plain"), withIntermediateDirectories: true)
        let plain = try Photoz.run(["ingest", "--catalog", dir.file("second.csv"), "--cutouts", dir.file("sky/cutouts"), "--out", dir.file("plain"),
                                    "--size", "32", "--append"])
        #expect(plain.status == 64)
        #expect(plain.stderr.contains("not a photoz data set"))
    }

    @Test func theReadmeDocumentsAppend() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        #expect(text.contains("photoz ingest --catalog new.csv --cutouts new-stamps/ --out shards/ --append"))
    }
}
