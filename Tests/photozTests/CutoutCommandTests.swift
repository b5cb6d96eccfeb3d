import Foundation
import Testing

@Suite struct CutoutCommandTests {
    @Test func helpListsTheOptions() throws {
        let result = try Photoz.run(["--help"])
        #expect(result.stdout.contains("cutout"))
        let help = try Photoz.run(["help", "cutout"])
        for option in ["--frames", "--catalog", "--out", "--size", "--pixel-scale", "--kernel", "--edge", "--threads", "--overwrite"] {
            #expect(help.stdout.contains(option), "cutout help lacks \(option)")
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

        let badSize = try Photoz.run(["cutout", "--frames", "f", "--catalog", "c", "--out", "o", "--size", "4"])
        #expect(badSize.status != 0 && badSize.stderr.contains("--size 4"))

        let badEdge = try Photoz.run(["cutout", "--frames", "f", "--catalog", "c", "--out", "o", "--edge", "zero"])
        #expect(badEdge.status != 0 && badEdge.stderr.contains("zero"))
    }
}
