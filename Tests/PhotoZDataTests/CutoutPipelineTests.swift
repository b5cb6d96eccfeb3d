import Foundation
import Testing
@testable import PhotoZData

/// The pipeline's scheduling must not show in its output, and its memory bounds must hold:
/// three overlapping synthetic fields, 80 objects, cut with 1, 2 and 3 workers under a stamp
/// budget small enough to hold only a few objects at once.
@Suite struct CutoutPipelineTests {
    /// Frames of three fields (rows shifted by −60, 0, +60) and a catalog of 80 positions spread
    /// over and beyond them (some outside every frame, some on an edge and masked).
    static func writeSky(_ dir: TemporaryDirectory) throws {
        for (field, shift) in [(1, 0.0), (2, -60.0), (3, 60.0)] {
            try CutoutSyntheticTests.writeField(dir.file("frames/f\(field)"), field: field, rowShift: shift)
        }
        var state: UInt64 = 14
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        var text = "objID,ra,dec\n"
        for id in 1...80 { text += "\(id),\(150 + (uniform() - 0.5) * 0.05),\(2 + (uniform() - 0.5) * 0.05)\n" }
        try text.write(toFile: dir.file("cat.csv"), atomically: true, encoding: .utf8)
    }

    @Test func oneTwoOrThreeWorkersWriteTheSameBytesWithinTheMemoryBounds() throws {
        let dir = TemporaryDirectory()
        try Self.writeSky(dir)
        // 4 objects of 32 × 32 × 5 floats: groups of one object, at most four open at once.
        let budget = 4 * 5 * 32 * 32 * 4
        var outputs: [[String: Data]] = []
        for threads in [1, 2, 3] {
            var config = CutoutConfiguration(frames: dir.file("frames"), catalog: dir.file("cat.csv"), output: dir.file("out\(threads)"))
            config.size = 32
            config.threads = threads
            let trace = dir.file("trace\(threads).csv")
            let (summary, pipeline) = try cutout(config, progress: nil, tracePath: trace, stampBytes: budget)
            #expect(summary.fieldsUsed == 3, "the catalog should reach all three fields")
            #expect(summary.written >= 20 && summary.skipped["outside-frames", default: 0] > 0, "\(summary)")
            // Memory: stamps within the budget (4 objects), frames of at most `liveFields` fields.
            #expect(pipeline.stampBudget == 4)
            #expect(pipeline.peakStampObjects >= 1 && pipeline.peakStampObjects <= pipeline.stampBudget, "\(pipeline.peakStampObjects) stamps held")
            #expect(pipeline.liveFields == 2 && pipeline.peakFrames <= 5 * pipeline.liveFields && pipeline.peakFrames >= 5, "\(pipeline.peakFrames) frames held")
            // The trace: each frame decompressed once, by a worker of this run, one write task
            // per object group (one object each here), times in order.
            let rows = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
            let decodes = rows.filter { $0[1] == "decode" }
            #expect(decodes.count == 15 && Set(decodes.map { "\($0[2])-\($0[3])" }).count == 15)
            #expect(rows.filter { $0[0] != "-1" }.allSatisfy { Int($0[0])! >= 0 && Int($0[0])! < threads })
            let writes = rows.filter { $0[1] == "write" }.count
            #expect(writes == summary.written + summary.skipped["on-edge", default: 0])
            #expect(rows.allSatisfy { Double($0[5])! <= Double($0[6])! })
            #expect(Set(rows.filter { $0[0] == "-1" }.map { String($0[1]) }) == ["catalog", "index", "place", "pipeline", "reports", "commit"])
            var files: [String: Data] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.file("out\(threads)")) where name != "cutout.json" {
                files[name] = try Data(contentsOf: URL(fileURLWithPath: dir.file("out\(threads)/\(name)")))
            }
            #expect(files.count == summary.written + 2)
            // frames.csv names the frames by path; the three runs read the same ones.
            outputs.append(files)
        }
        #expect(outputs[0].keys.sorted() == outputs[1].keys.sorted() && outputs[0].keys.sorted() == outputs[2].keys.sorted())
        for name in outputs[0].keys.sorted() {
            #expect(outputs[0][name] == outputs[1][name] && outputs[0][name] == outputs[2][name], "\(name) differs between 1, 2 and 3 workers")
        }
    }
}
