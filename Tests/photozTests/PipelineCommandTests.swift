import Foundation
import Testing

/// The README's flow through the real executable: simulate → ingest → inspect → validate.
@Suite struct PipelineCommandTests {
    @Test func simulateIngestInspectValidate() throws {
        let dir = TemporaryDirectory()
        let sim = try Photoz.run(["simulate", "--count", "40", "--out", dir.file("sky"), "--seed", "3", "--size", "32"])
        #expect(sim.status == 0, "\(sim.stderr)")
        let ingest = try Photoz.run(["ingest", "--catalog", dir.file("sky/catalog.fits"), "--cutouts", dir.file("sky/cutouts"),
                                     "--out", dir.file("shards"), "--size", "32", "--json"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(ingest.stdout.contains("\"ingested\":40"))
        #expect(ingest.stderr.contains("ingest 40/40"))

        let inspect = try Photoz.run(["inspect", dir.file("shards"), "--json"])
        #expect(inspect.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any]
        #expect(json?["rows"] as? Int == 40)

        let valid = try Photoz.run(["validate", dir.file("shards")])
        #expect(valid.status == 0, "\(valid.stdout)")
        #expect(valid.stdout.hasPrefix("valid:"))

        // Ingesting again into the same folder without --overwrite is refused and changes nothing.
        let again = try Photoz.run(["ingest", "--catalog", dir.file("sky/catalog.csv"), "--cutouts", dir.file("sky/cutouts"),
                                    "--out", dir.file("shards"), "--size", "32"])
        #expect(again.status != 0)
        #expect(again.stderr.contains("--overwrite"))
        #expect(try Photoz.run(["validate", dir.file("shards")]).status == 0)

        // A changed shard makes validate exit 1 and name the file.
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("shards/manifest.json")))) as! [String: Any]
        let first = ((manifest["shards"] as! [[String: Any]])[0]["file"] as! String)
        let handle = FileHandle(forUpdatingAtPath: dir.file("shards/" + first))!
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([1, 2, 3]))
        try handle.close()
        let invalid = try Photoz.run(["validate", dir.file("shards")])
        #expect(invalid.status == 1)
        #expect(invalid.stdout.contains(first))
    }

    @Test func aKilledIngestLeavesNothingThatLooksComplete() throws {
        let dir = TemporaryDirectory()
        let sim = try Photoz.run(["simulate", "--count", "150", "--out", dir.file("sky"), "--seed", "5"])
        #expect(sim.status == 0, "\(sim.stderr)")
        let process = try Photoz.start(["ingest", "--catalog", dir.file("sky/catalog.fits"), "--cutouts", dir.file("sky/cutouts"),
                                        "--out", dir.file("shards"), "--compression", "gzip:9", "--threads", "1", "--shard-size", "20"])
        // Kill it once it has written some shards to its staging folder.
        let deadline = Date().addingTimeInterval(20)
        var sawStaging = false
        while Date() < deadline && process.isRunning {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            if let staging = names.first(where: { $0.hasPrefix(".shards.partial-") }),
               ((try? FileManager.default.contentsOfDirectory(atPath: dir.file(staging))) ?? []).contains(where: { $0.hasSuffix(".h5") }) {
                sawStaging = true
                break
            }
            usleep(2000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(sawStaging, "ingest finished before it could be killed; make the data set larger")
        #expect(!FileManager.default.fileExists(atPath: dir.file("shards")))
        let staging = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".shards.partial-") }
        for name in staging {
            let result = try Photoz.run(["validate", dir.file(name)])
            #expect(result.status != 0, "a killed run's staging folder must not validate as complete")
        }
    }
}
