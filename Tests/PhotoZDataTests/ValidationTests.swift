import Foundation
import HDF5
import Testing
@testable import PhotoZData

@Suite struct ValidationTests {
    func makeDataSet(_ dir: TemporaryDirectory) throws -> String {
        let (catalog, cutouts, _) = try CutoutFactory.dataSet(in: dir, count: 12, layout: .mef)
        let out = dir.file("out")
        _ = try ingest(testConfig(catalog, cutouts, out))
        return out
    }

    @Test func aChangedShardFailsItsChecksum() throws {
        let dir = TemporaryDirectory()
        let out = try makeDataSet(dir)
        #expect(validate(path: out).isValid)
        let shard = try Manifest.read(directory: out).shards[0]
        let handle = try #require(FileHandle(forUpdatingAtPath: out + "/" + shard.file))
        try handle.seek(toOffset: UInt64(shard.bytes - 10))
        try handle.write(contentsOf: Data([0x42]))
        try handle.close()
        let report = validate(path: out)
        #expect(!report.isValid && !report.unreadable)
        #expect(report.problems.contains { $0.contains(shard.file) && $0.contains("SHA-256") })
    }

    @Test func missingManifestAndLeftoversAreReported() throws {
        let dir = TemporaryDirectory()
        let out = try makeDataSet(dir)
        try FileManager.default.removeItem(atPath: out + "/manifest.json")
        FileManager.default.createFile(atPath: out + "/.train-00001.h5.tmp-123", contents: Data())
        let report = validate(path: out)
        #expect(report.problems.contains { $0.contains("no manifest") })
        #expect(report.problems.contains { $0.contains("interrupted run") })
    }

    @Test func nonFiniteLabelsAndMisalignedRowsAreFound() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("s.h5")
        let writer = try ShardWriter(path: path, attributes: { var a = ShardAttributes(); a.imageSize = 8; a.split = .train; return a }())
        var batch = ShardRows(imageSize: 8)
        let image = [Float](repeating: 0.5, count: 5 * 64)
        for k in 0..<3 {
            image.withUnsafeBufferPointer {
                batch.append(entry: CatalogEntry(objectID: Int64(k), ra: 1, dec: 2, zSpec: k == 1 ? .nan : 0.1, zSpecErr: 0, ebv: 0.01, row: k), image: $0)
            }
        }
        try writer.append(batch)
        try writer.finish()
        let report = validate(path: path)
        #expect(report.problems == ["\(path): /z_spec row 1 is nan (a labelled row: its z_spec is a label and must be finite)"])

        let file = try HDF5File.open(path, readOnly: false)
        let ra = try file.root.dataset("ra")
        try ra.resize(rows: 2)
        try file.close()
        #expect(validate(path: path).problems.contains { $0.contains("/ra has shape [2], expected [3]") && $0.contains("not row-aligned") })
    }

    @Test func otherSchemaVersionsAndNonHDF5FilesAreRefused() throws {
        let dir = TemporaryDirectory()
        let out = try makeDataSet(dir)
        let shardPath = out + "/" + (try Manifest.read(directory: out).shards[0].file)
        let file = try HDF5File.open(shardPath, readOnly: false)
        try file.root.setAttribute("schema_version", .int64(2))
        try file.close()
        let error = try #require(throws: PhotoZDataError.self) { try Shard(path: shardPath) }
        #expect("\(error)".contains("version 2"))
        #expect(validate(path: shardPath).problems.contains { $0.contains("schema_version 2") })

        try "not hdf5".write(toFile: dir.file("x.h5"), atomically: true, encoding: .utf8)
        let report = validate(path: dir.file("x.h5"))
        #expect(report.unreadable)
        #expect(report.problems.first?.contains("x.h5") == true)
    }

    @Test func inspectionSummarisesTheDataSet() throws {
        let dir = TemporaryDirectory()
        let out = try makeDataSet(dir)
        let inspection = try inspectShards(path: out)
        #expect(inspection.rows == 12)
        #expect(inspection.rowsPerSplit.values.reduce(0, +) == 12)
        #expect(inspection.imageSize == 16)
        // testImage: band b pixels are id%1000·1000 + 100·b + …, so the band means are 100 apart.
        let u = try #require(inspection.bands["u"]), g = try #require(inspection.bands["g"])
        #expect(abs((g.mean - u.mean) - 100) < 1e-3)
        #expect(inspection.zSpec.count == 12)
        #expect(inspection.attributes["extinction_coefficients"] == "SFD98")
    }
}
