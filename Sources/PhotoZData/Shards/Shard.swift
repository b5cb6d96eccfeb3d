import Foundation
import HDF5

/// A shard opened for reading, its schema checked.
///
/// Opening fails with a message naming the file when the file is not a photoz shard, is of
/// another schema version, or its datasets are not row-aligned.
public final class Shard: @unchecked Sendable {
    public let path: String
    public let file: HDF5File
    public let rows: Int
    public let imageSize: Int
    public let split: Split?

    public init(path: String) throws {
        self.path = path
        file = try HDF5File.open(path, readOnly: true)
        let root = file.root
        guard case let .string(schema)? = try root.attribute(ShardSchema.Attribute.schema) else {
            throw PhotoZDataError.schema(path: path, message: "not a photoz shard: no root attribute 'schema' (expected '\(ShardSchema.name)')")
        }
        guard schema == ShardSchema.name else {
            throw PhotoZDataError.schema(path: path, message: "schema is '\(schema)', not '\(ShardSchema.name)'")
        }
        guard case let .int64(version)? = try root.attribute(ShardSchema.Attribute.schemaVersion) else {
            throw PhotoZDataError.schema(path: path, message: "no integer root attribute 'schema_version'")
        }
        guard version == ShardSchema.version else {
            throw PhotoZDataError.schema(path: path, message: "shard schema version \(version); this photoz reads version \(ShardSchema.version): re-ingest the data with this version")
        }
        for (name, _, _) in ShardSchema.datasets where !root.contains(name) {
            throw PhotoZDataError.schema(path: path, message: "dataset /\(name) is missing")
        }
        let shape = try root.dataset(ShardSchema.images).shape
        guard shape.count == 4, shape[1] == 5, shape[2] == shape[3] else {
            throw PhotoZDataError.schema(path: path, message: "/images has shape \(shape); expected (N, 5, S, S)")
        }
        rows = shape[0]
        imageSize = shape[2]
        for (name, _, _) in ShardSchema.datasets where name != ShardSchema.images {
            let n = try root.dataset(name).shape
            guard n == [rows] else {
                throw PhotoZDataError.schema(path: path, message: "/\(name) has shape \(n) but /images has \(rows) rows: the datasets are not row-aligned")
            }
        }
        if case let .string(s)? = try root.attribute(ShardSchema.Attribute.split) { split = Split(rawValue: s) } else { split = nil }
    }

    /// Reads images of `range` into a (count, 5, S, S) buffer.
    public func readImages(_ range: Range<Int>, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        try file.root.dataset(ShardSchema.images).readRows(range, into: buffer)
    }

    /// Reads the rows `range` of every dataset.
    public func readBatch(_ range: Range<Int>) throws -> ShardBatch {
        var batch = ShardBatch(imageSize: imageSize, capacity: range.count)
        try readBatch(range, appendingTo: &batch)
        return batch
    }

    /// Appends the rows `range` of every dataset to `batch`, reading the images straight into
    /// its storage (no intermediate array when `batch` has the capacity reserved).
    public func readBatch(_ range: Range<Int>, appendingTo batch: inout ShardBatch) throws {
        precondition(batch.imageSize == imageSize, "the batch holds \(batch.imageSize)-pixel images, the shard \(imageSize)")
        let root = file.root
        // The columns first, so that a failed read leaves `batch` as it was.
        let objectID = try root.dataset(ShardSchema.objectID).readRows(range, as: Int64.self)
        let ra = try root.dataset(ShardSchema.ra).readRows(range, as: Double.self)
        let dec = try root.dataset(ShardSchema.dec).readRows(range, as: Double.self)
        let zSpec = try root.dataset(ShardSchema.zSpec).readRows(range, as: Float.self)
        let zSpecErr = try root.dataset(ShardSchema.zSpecErr).readRows(range, as: Float.self)
        let ebv = try root.dataset(ShardSchema.ebv).readRows(range, as: Float.self)
        let start = batch.images.count
        batch.images.append(contentsOf: repeatElement(0, count: range.count * batch.pixelsPerImage))
        do {
            try batch.images.withUnsafeMutableBufferPointer { all in
                try root.dataset(ShardSchema.images).readRows(range, into: UnsafeMutableBufferPointer(rebasing: all[start...]))
            }
        } catch {
            batch.images.removeLast(batch.images.count - start)
            throw error
        }
        batch.objectID += objectID; batch.ra += ra; batch.dec += dec
        batch.zSpec += zSpec; batch.zSpecErr += zSpecErr; batch.ebv += ebv
    }

    /// Reads a whole 1-D float32 column (`z_spec`, `z_spec_err`, `ebv`).
    public func floatColumn(_ name: String) throws -> [Float] { try file.root.dataset(name).read(as: Float.self) }
    /// Reads the `object_id` column.
    public func objectIDs() throws -> [Int64] { try file.root.dataset(ShardSchema.objectID).read(as: Int64.self) }

    /// A root attribute as text, for display.
    public func attributeText(_ name: String) throws -> String? {
        try file.root.attribute(name).map(PhotoZData.attributeText)
    }
}
