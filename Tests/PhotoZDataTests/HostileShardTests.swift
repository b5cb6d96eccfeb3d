import Foundation
import HDF5
import Testing
@testable import PhotoZData

/// Shards and manifests that declare what they cannot hold: each is a clear error naming the
/// file, found before anything is allocated from the declared sizes, in time that does not grow
/// with what they declare.
@Suite struct HostileShardTests {
    /// A small HDF5 file that claims to be a shard of `rows` rows of `size`-pixel images; no
    /// chunk is written, so the file stays a few kilobytes whatever it declares.
    static func write(_ path: String, rows: Int, size: Int, imageSizeAttribute: Int? = nil, rowsAttribute: Int? = nil,
                      columnRows: Int? = nil) throws {
        try HDF5File.withCreated(path) { file in
            let root = file.root
            try root.setAttribute("schema", .string(ShardSchema.name))
            try root.setAttribute("schema_version", .int64(1))
            try root.setAttribute("image_size", .int64(Int64(imageSizeAttribute ?? size)))
            try root.setAttribute("rows", .int64(Int64(rowsAttribute ?? rows)))
            try root.setAttribute("split", .string("train"))
            let side = min(size, 64)
            _ = try root.createDataset("images", of: Float.self, shape: [rows, 5, size, size], maxShape: [nil, 5, size, size],
                                       chunks: [1, 1, side, side])
            for c in ShardSchema.requiredColumns where c.shape == .scalar {
                let n = columnRows ?? rows
                switch c.kind {
                case .float32: _ = try root.createDataset(c.name, of: Float.self, shape: [n], maxShape: [nil], chunks: [1024])
                case .float64: _ = try root.createDataset(c.name, of: Double.self, shape: [n], maxShape: [nil], chunks: [1024])
                case .int64: _ = try root.createDataset(c.name, of: Int64.self, shape: [n], maxShape: [nil], chunks: [1024])
                }
            }
        }
    }

    /// Opening, validating and inspecting `path` each fail with a message containing `text`,
    /// within a few seconds.
    static func expectRefused(_ path: String, _ text: String) throws {
        let start = Date()
        let error = try #require(throws: PhotoZDataError.self) { try Shard(path: path) }
        #expect("\(error)".contains(path) && "\(error)".contains(text), "\(error)")
        let report = validate(path: path)
        #expect(!report.isValid && report.problems.contains { $0.contains(text) }, "\(report.problems)")
        #expect(throws: PhotoZDataError.self) { try inspectShards(path: path) }
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test func aTrillionRowsInAKilobyteFileAreRefused() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("train-00000.h5")
        try Self.write(path, rows: 1_000_000_000_000, size: 8)
        #expect(try FileIdentity(path: path).size < 100_000)
        try Self.expectRefused(path, "declares 1000000000000 rows")
    }

    @Test func megapixelImagesInAKilobyteFileAreRefused() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("train-00000.h5")
        try Self.write(path, rows: 1, size: 1 << 20)
        try Self.expectRefused(path, "1048576×1048576-pixel images")
        // Within the size limit but far beyond the file's bytes.
        try Self.write(dir.file("b.h5"), rows: 3, size: 4096)
        try Self.expectRefused(dir.file("b.h5"), "declares 3 rows")
    }

    @Test func shapesThatDisagreeWithTheAttributesAreRefused() throws {
        let dir = TemporaryDirectory()
        try Self.write(dir.file("a.h5"), rows: 2, size: 8, imageSizeAttribute: 16)
        try Self.expectRefused(dir.file("a.h5"), "image_size says 16")
        try Self.write(dir.file("b.h5"), rows: 2, size: 8, rowsAttribute: 1_000_000)
        try Self.expectRefused(dir.file("b.h5"), "rows says 1000000")
        try Self.write(dir.file("c.h5"), rows: 2, size: 8, columnRows: 1 << 40)
        try Self.expectRefused(dir.file("c.h5"), "not row-aligned")
    }

    // MARK: Manifests

    func dataSet(_ dir: TemporaryDirectory) throws -> String {
        let (catalog, cutouts, _) = try CutoutFactory.dataSet(in: dir, count: 12, layout: .mef)
        let out = dir.file("out")
        _ = try ingest(testConfig(catalog, cutouts, out))
        return out
    }

    /// Edits manifest.json as JSON, then expects the reader and `validate` to name `text`.
    func expectManifestRefused(_ out: String, _ text: String, _ edit: (inout [String: Any]) -> Void) throws {
        let path = out + "/manifest.json"
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        defer { try? original.write(to: URL(fileURLWithPath: path)) }
        var object = try #require(try JSONSerialization.jsonObject(with: original) as? [String: Any])
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: PhotoZDataError.self) { try DataSetReader(path: out) }
        #expect("\(error)".contains(text), "\(error)")
        let report = validate(path: out)
        #expect(report.problems.contains { $0.contains(text) }, "\(report.problems)")
    }

    @Test func manifestsWithImpossibleCountsOrNamesAreRefused() throws {
        let dir = TemporaryDirectory()
        let out = try dataSet(dir)
        #expect(validate(path: out).isValid)
        _ = try DataSetReader(path: out)
        try expectManifestRefused(out, "overflow") { m in
            m["rows"] = ["train": Int.max, "valid": Int.max, "test": 1]
        }
        try expectManifestRefused(out, "overflow") { m in
            var shards = m["shards"] as! [[String: Any]]
            shards[0]["rows"] = Int.max
            shards.append(shards[0])
            shards[shards.count - 1]["file"] = "test-00099.h5"
            m["shards"] = shards
        }
        try expectManifestRefused(out, "cannot be negative") { m in
            m["rows"] = ["train": -5, "valid": 0, "test": 0]
        }
        try expectManifestRefused(out, "not a file name of this folder") { m in
            var shards = m["shards"] as! [[String: Any]]
            shards[0]["file"] = "../../elsewhere.h5"
            m["shards"] = shards
        }
        try expectManifestRefused(out, "image_size") { m in m["image_size"] = 32 }
        try expectManifestRefused(out, "image_size") { m in m["image_size"] = 1 << 40 }
        try expectManifestRefused(out, "bands") { m in m["bands"] = ["g", "r", "i"] }
        try expectManifestRefused(out, "manifest.json says") { m in
            var shards = m["shards"] as! [[String: Any]]
            var rows = m["rows"] as! [String: Int]
            shards[0]["rows"] = (shards[0]["rows"] as! Int) + 1
            rows[shards[0]["split"] as! String]! += 1
            (m["shards"], m["rows"]) = (shards, rows)
        }
        #expect(validate(path: out).isValid, "the original manifest is back")
    }
}
