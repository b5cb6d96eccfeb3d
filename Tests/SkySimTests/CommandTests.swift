import Foundation
import Testing

/// `photoz simulate` as a user runs it: the executable that `swift test` builds beside the tests.
@Suite struct CommandTests {
    static func photoz() throws -> String {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let path = directory.appendingPathComponent("photoz").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ToolError("the photoz executable is not at \(path); build it with `swift build` (swift test builds it)")
        }
        return path
    }

    @Test func badArgumentsGiveAClearErrorAndExitCode64() throws {
        let dir = TemporaryDirectory()
        try "x".write(toFile: dir.file("taken.txt"), atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["--count", "0", "--out", dir.file("a")], "--count 0"),
            (["--count", "-2", "--out", dir.file("a")], "--count"),
            (["--count", "5", "--out", dir.file("a"), "--layout", "tiles"], "'tiles' is invalid for '--layout"),
            (["--count", "5", "--out", dir.file("a"), "--size", "8"], "--size 8"),
            (["--count", "5", "--out", dir.path], "exists and is not empty; add --overwrite"),
            (["--count", "5", "--out", dir.file("taken.txt")], "is a file"),
        ]
        for (arguments, message) in cases {
            let (status, output) = try runTool(try Self.photoz(), ["simulate"] + arguments)
            #expect(status == 64, "\(arguments): exit \(status)")
            #expect(output.contains(message), "\(arguments): \(output)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("a")), "a rejected run writes nothing")
    }

    @Test func aSmallRunPrintsItsSummary() throws {
        let dir = TemporaryDirectory()
        let out = dir.file("sky")
        let (status, output) = try runTool(try Self.photoz(), ["simulate", "--count", "3", "--out", out, "--size", "16", "--layout", "cube"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("simulated 3 galaxies") && output.contains("3 cube cutout files") && output.contains("cutouts/s"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out + "/cutouts").count == 3)
        let (again, message) = try runTool(try Self.photoz(), ["simulate", "--count", "2", "--out", out, "--overwrite", "--json"])
        #expect(again == 0, "\(message)")
        let json = try #require(message.split(separator: "\n").first { $0.hasPrefix("{") }, "no JSON line in \(message)")
        let summary = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(summary?["count"] as? Int == 2 && summary?["files"] as? Int == 2, "\(json)")
    }
}
