import Foundation
import Testing

@Suite struct CutoutCommandTests {
    @Test func helpListsTheOptions() throws {
        let result = try Photoz.run(["--help"])
        #expect(result.stdout.contains("cutout"))
        let help = try Photoz.run(["help", "cutout"])
        for option in ["--frames", "--catalog", "--out", "--size", "--pixel-scale", "--kernel", "--edge", "--threads", "--overwrite",
                       "--id-column", "--ra-column", "--dec-column"] {
            #expect(help.stdout.contains(option), "cutout help lacks \(option)")
        }
        // The position columns are declared once (CatalogPositionOptions) for cutout and ingest;
        // cutout has no use for ingest's redshift columns.
        #expect(!help.stdout.contains("--z-column"))
        let ingestHelp = try Photoz.run(["help", "ingest"])
        for option in ["--id-column", "--ra-column", "--dec-column", "--z-column"] {
            #expect(ingestHelp.stdout.contains(option), "ingest help lacks \(option)")
        }
    }

    @Test func badInputGivesAClearErrorAndNonZeroExit() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("frames"), withIntermediateDirectories: true)
        try "objID,ra,dec\n1,150,2\n".write(toFile: dir.file("cat.csv"), atomically: true, encoding: .utf8)

        let inside = try Photoz.run(["cutout", "--frames", dir.file("frames"), "--catalog", dir.file("cat.csv"), "--out", dir.file("frames/out")])
        #expect(inside.status == 64 && inside.stderr.contains("lies inside --frames"), "\(inside.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("frames/out")))

        let noFrames = try Photoz.run(["cutout", "--frames", dir.file("frames"), "--catalog", dir.file("cat.csv"), "--out", dir.file("sub/out")])
        #expect(noFrames.status != 0 && noFrames.stderr.contains("no SDSS frames found"), "\(noFrames.stderr)")

        // A missing column: the data layer names the role, the CLI its flag.
        try "objID,right_ascension,dec\n1,150,2\n".write(toFile: dir.file("noRA.csv"), atomically: true, encoding: .utf8)
        let noRA = try Photoz.run(["cutout", "--frames", dir.file("frames"), "--catalog", dir.file("noRA.csv"), "--out", dir.file("sub/out2")])
        #expect(noRA.status == 1 && noRA.stderr.contains("no ra column") && noRA.stderr.contains("--ra-column"), "\(noRA.stderr)")

        let badSize = try Photoz.run(["cutout", "--frames", "f", "--catalog", "c", "--out", "o", "--size", "4"])
        #expect(badSize.status != 0 && badSize.stderr.contains("--size 4"))

        let badEdge = try Photoz.run(["cutout", "--frames", "f", "--catalog", "c", "--out", "o", "--edge", "zero"])
        #expect(badEdge.status != 0 && badEdge.stderr.contains("zero"))
    }
}
