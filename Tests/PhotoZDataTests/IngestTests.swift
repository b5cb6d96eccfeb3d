import FITS
import Foundation
import HDF5
import SafeOutput
import Testing
@testable import PhotoZData

@Suite struct IngestTests {
    /// Reads every row of a data set back, keyed by object id.
    func readBack(_ out: String) throws -> [Int64: (ShardRows, Int)] {
        let manifest = try Manifest.read(directory: out)
        var rows: [Int64: (ShardRows, Int)] = [:]
        for entry in manifest.shards {
            let shard = try Shard(path: out + "/" + entry.file)
            #expect(shard.split == entry.split)
            let batch = try shard.read(rows: 0..<shard.rows)
            for (k, id) in batch.objectID.enumerated() { rows[id] = (batch, k) }
        }
        return rows
    }

    @Test(arguments: CutoutLayout.allCases)
    func everyLayoutIngestsExactPixels(layout: CutoutLayout) throws {
        let dir = TemporaryDirectory()
        let (catalog, cutouts, ids) = try CutoutFactory.dataSet(in: dir, count: 23, layout: layout)
        let out = dir.file("shards")
        let summary = try ingest(testConfig(catalog, cutouts, out))
        #expect(summary.layout == layout)
        #expect(summary.ingested == 23)
        #expect(summary.skipped.isEmpty)
        // The phases (--json) share out the run's time; the durability sync is part of finish.
        let phases = summary.phases
        #expect(Set(phases.keys) == ["catalog", "cutouts", "finish", "sync"])
        #expect(phases.values.allSatisfy { $0 >= 0 })
        #expect(abs(phases["catalog"]! + phases["cutouts"]! + phases["finish"]! - summary.seconds) < 1e-6)
        #expect(phases["sync"]! <= phases["finish"]!)
        let rows = try readBack(out)
        #expect(Set(rows.keys) == Set(ids))
        for id in ids {
            let (batch, k) = rows[id]!
            let n = 5 * 16 * 16
            #expect(Array(batch.images[k * n..<(k + 1) * n]) == testImage(id: id, size: 16))
        }
        #expect(validate(path: out).isValid)
    }

    @Test func bandsComeFromEXTNAMENotHDUOrder() throws {
        let dir = TemporaryDirectory()
        let cutouts = dir.file("c")
        try FileManager.default.createDirectory(atPath: cutouts, withIntermediateDirectories: true)
        try CutoutFactory.write(id: 7, layout: .mef, size: 16, into: cutouts, bandOrder: [.z, .r, .u, .i, .g])
        try CutoutFactory.csvCatalog([7], at: dir.file("cat.csv"))
        _ = try ingest(testConfig(dir.file("cat.csv"), cutouts, dir.file("out")))
        let (batch, k) = try readBack(dir.file("out"))[7]!
        #expect(Array(batch.images[k * 1280..<(k + 1) * 1280]) == testImage(id: 7, size: 16))
    }

    @Test func cubeBandsComeFromTheHeader() throws {
        let dir = TemporaryDirectory()
        let cutouts = dir.file("c")
        try FileManager.default.createDirectory(atPath: cutouts, withIntermediateDirectories: true)
        try CutoutFactory.write(id: 8, layout: .cube, size: 16, into: cutouts, bandOrder: [.i, .z, .u, .g, .r])
        try CutoutFactory.csvCatalog([8], at: dir.file("cat.csv"))
        _ = try ingest(testConfig(dir.file("cat.csv"), cutouts, dir.file("out")))
        let (batch, k) = try readBack(dir.file("out"))[8]!
        #expect(Array(batch.images[k * 1280..<(k + 1) * 1280]) == testImage(id: 8, size: 16))
    }

    @Test func largerImagesAreCentreCroppedAndSmallerRejected() throws {
        let dir = TemporaryDirectory()
        let cutouts = dir.file("c")
        try FileManager.default.createDirectory(atPath: cutouts, withIntermediateDirectories: true)
        try CutoutFactory.write(id: 1, layout: .mef, size: 20, into: cutouts)
        try CutoutFactory.write(id: 2, layout: .mef, size: 12, into: cutouts)
        try CutoutFactory.csvCatalog([1, 2], at: dir.file("cat.csv"))
        let summary = try ingest(testConfig(dir.file("cat.csv"), cutouts, dir.file("out")))
        #expect(summary.ingested == 1)
        #expect(summary.skipped == ["wrong-dimensions": 1])
        let (batch, k) = try readBack(dir.file("out"))[1]!
        let big = testImage(id: 1, size: 20)
        // Pixel (x, y) of the crop is pixel (x + 2, y + 2) of the 20×20 image.
        #expect(batch.images[k * 1280 + (2 * 16 + 3) * 16 + 5] == big[(2 * 20 + 3 + 2) * 20 + 5 + 2])
        let report = try String(contentsOfFile: dir.file("out/skipped.csv"), encoding: .utf8)
        #expect(report.contains("2,2,wrong-dimensions"))
        #expect(report.contains("smaller than --size 16"))
    }

    @Test func aCutoutWhoseCatalogRowWasSkippedIsReportedOnceWithItsFile() throws {
        let dir = TemporaryDirectory()
        let (catalog, cutouts, _) = try CutoutFactory.dataSet(in: dir, count: 3, layout: .mef)
        // 1001 has no redshift (SDSS's sentinel): one line, the catalog's reason, with the cutout's file.
        try CutoutFactory.csvCatalog([1000, 1002], at: catalog, extraRows: ["1001,150.01,2.01,-9999,0.0001,0.03"])
        let summary = try ingest(testConfig(catalog, cutouts, dir.file("out")))
        #expect(summary.ingested == 2)
        #expect(summary.skipped == ["missing-redshift": 1])
        let report = try String(contentsOfFile: dir.file("out/skipped.csv"), encoding: .utf8)
        let lines = report.split(separator: "\n").filter { $0.hasPrefix("1001,") }
        #expect(lines.count == 1)
        #expect(lines.first?.contains("missing-redshift,\(cutouts)/1001.fits") == true)
    }

    @Test func badObjectsAreSkippedAndReported() throws {
        let dir = TemporaryDirectory()
        let (catalog, cutouts, _) = try CutoutFactory.dataSet(in: dir, count: 6, layout: .mef)
        // 1000: NaN pixel; 1001: missing band; 1002: truncated file; 1003: no catalog row; 9999: no cutout.
        var nan = testImage(id: 1000, size: 16)
        nan[300] = .nan
        try FileManager.default.removeItem(atPath: cutouts + "/1000.fits")
        try CutoutFactory.write(id: 1000, layout: .mef, size: 16, into: cutouts, pixels: nan)
        try FileManager.default.removeItem(atPath: cutouts + "/1001.fits")
        try CutoutFactory.write(id: 1001, layout: .mef, size: 16, into: cutouts, bands: [.u, .g, .r, .i])
        let data = try Data(contentsOf: URL(fileURLWithPath: cutouts + "/1002.fits"))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: cutouts + "/1002.fits"))
        try CutoutFactory.csvCatalog([1000, 1001, 1002, 1004, 1005, 9999], at: catalog)
        let summary = try ingest(testConfig(catalog, cutouts, dir.file("out")))
        #expect(summary.ingested == 2)
        #expect(summary.skipped == ["non-finite-pixels": 1, "missing-band": 1, "unreadable-cutout": 1,
                                    "missing-cutout": 1, "cutout-without-catalog-row": 1])
        let report = try String(contentsOfFile: dir.file("out/skipped.csv"), encoding: .utf8)
        #expect(report.contains("1001,2,missing-band,\(cutouts)/1001.fits,\"missing band z (found u,g,r,i)\""))
        #expect(report.contains("--fill-nonfinite"))
        #expect(report.contains("1002.fits,\"found only bands u,g: the file is truncated"))
        #expect(report.contains("9999,6,missing-cutout"))

        // With --fill-nonfinite the NaN object is kept, its pixel replaced.
        var config = testConfig(catalog, cutouts, dir.file("out2"))
        config.fillNonFinite = 0
        let kept = try ingest(config)
        #expect(kept.ingested == 3)
        #expect(kept.nonFinitePixelsFilled == 1)
        #expect(validate(path: dir.file("out2")).isValid)
    }

    @Test func existingOutputIsKeptWithoutOverwrite() throws {
        let dir = TemporaryDirectory()
        let (catalog, cutouts, _) = try CutoutFactory.dataSet(in: dir, count: 4, layout: .perBand)
        let out = dir.file("out")
        _ = try ingest(testConfig(catalog, cutouts, out))
        let before = try Manifest.read(directory: out)
        #expect(throws: PhotoZDataError.self) { try ingest(testConfig(catalog, cutouts, out)) }
        #expect(try Manifest.read(directory: out) == before)
        var config = testConfig(catalog, cutouts, out)
        config.overwrite = true
        // A failing overwrite (no usable objects) leaves the previous output in place.
        try CutoutFactory.csvCatalog([424242], at: dir.file("other.csv"))
        config.catalog = dir.file("other.csv")
        #expect(throws: PhotoZDataError.self) { try ingest(config) }
        #expect(try Manifest.read(directory: out) == before)
        config.catalog = catalog
        _ = try ingest(config)
        #expect(validate(path: out).isValid)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }.isEmpty)
    }

    @Test func unwritableOutputIsAClearError() throws {
        let dir = TemporaryDirectory()
        let (catalog, cutouts, _) = try CutoutFactory.dataSet(in: dir, count: 2, layout: .mef)
        let error = try #require(throws: SafeOutputError.self) { try ingest(testConfig(catalog, cutouts, "/proc/photoz-out")) }
        #expect("\(error)".contains("/proc/") && "\(error)".contains("photoz-out"))
    }

    @Test func shardsRollOverAndSplitsFollowTheIDs() throws {
        let dir = TemporaryDirectory()
        let (catalog, cutouts, ids) = try CutoutFactory.dataSet(in: dir, count: 60, layout: .mef)
        var config = testConfig(catalog, cutouts, dir.file("out"))
        config.shardSize = 7
        config.compression = .gzip(4)
        let summary = try ingest(config)
        let manifest = try Manifest.read(directory: dir.file("out"))
        #expect(manifest.shards.allSatisfy { $0.rows <= 7 })
        #expect(manifest.shards.reduce(0) { $0 + $1.rows } == 60)
        #expect(summary.rows["train"] == ids.filter { SplitFractions.default.split(of: $0) == .train }.count)
        let first = try HDF5File.open(dir.file("out/") + manifest.shards[0].file)
        #expect(try first.root.dataset("images").filters == ["shuffle", "deflate"])
        #expect(validate(path: dir.file("out")).isValid)
    }

    /// 300 objects are five blocks of 64, read into rotating buffers while earlier blocks are
    /// written: bad objects in the first, middle and last block. Each block's objects sit in
    /// one run per split; a skipped one is squeezed out of its run. Uncompressed shards are
    /// hashed while written (or, when they end short of their plan, afterwards).
    @Test(arguments: [ShardCompression.gzip(4), .none])
    func manyBlocksKeepEveryRowInOrderAndEveryChecksum(compression: ShardCompression) throws {
        let dir = TemporaryDirectory()
        let (catalog, cutouts, ids) = try CutoutFactory.dataSet(in: dir, count: 300, layout: .mef)
        let bad: [Int64] = [1003, 1150, 1299]
        for id in bad {
            var nan = testImage(id: id, size: 16)
            nan[17] = .infinity
            try FileManager.default.removeItem(atPath: cutouts + "/\(id).fits")
            try CutoutFactory.write(id: id, layout: .mef, size: 16, into: cutouts, pixels: nan)
        }
        var config = testConfig(catalog, cutouts, dir.file("out"))
        config.shardSize = 100
        config.compression = compression
        let summary = try ingest(config)
        #expect(summary.ingested == 297)
        #expect(summary.skipped == ["non-finite-pixels": 3])
        let report = try String(contentsOfFile: dir.file("out/skipped.csv"), encoding: .utf8)
        for id in bad { #expect(report.contains("\(id),")) }

        // Each split holds its objects in catalog order with their own pixels.
        let manifest = try Manifest.read(directory: dir.file("out"))
        for split in Split.allCases {
            var got: [Int64] = []
            for entry in manifest.shards where entry.split == split {
                let batch = try Shard(path: dir.file("out/") + entry.file).read(rows: 0..<entry.rows)
                let n = 5 * 16 * 16
                for (k, id) in batch.objectID.enumerated() {
                    #expect(Array(batch.images[k * n..<(k + 1) * n]) == testImage(id: id, size: 16), "object \(id)")
                }
                got += batch.objectID
                // The checksum computed while later blocks were written matches the file.
                #expect(try systemSHA256(dir.file("out/") + entry.file) == entry.sha256)
            }
            #expect(got == ids.filter { !bad.contains($0) && SplitFractions.default.split(of: $0) == split })
        }
        #expect(validate(path: dir.file("out")).isValid)
    }

    func systemSHA256(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(text.prefix(64))
    }

    @Test func anUnfinishedShardIsNeverLeftUnderItsFinalName() throws {
        let dir = TemporaryDirectory()
        do {
            let writer = try ShardWriter(path: dir.file("train-00000.h5"), attributes: ShardAttributes())
            var batch = ShardRows(imageSize: 64)
            let image = [Float](repeating: 1, count: 5 * 64 * 64)
            image.withUnsafeBufferPointer { batch.append(entry: CatalogEntry(objectID: 1, ra: 0, dec: 0, zSpec: 0.1, zSpecErr: 0, ebv: 0, row: 1), image: $0) }
            try writer.append(batch)
            // dropped without finish(), as when a run stops on an error
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}
