import Foundation
import PhotoZData

/// A folder of shards with its manifest, or a single shard, opened for training and prediction.
///
/// Checks the shard schema version of every shard it will read and refuses an empty split
/// with a message that says what to do.
public struct DataSet: Sendable {
    public struct ShardInfo: Sendable {
        public var path: String
        public var split: Split?
        public var rows: Int
        public var sha256: String?
    }

    public var path: String
    public var shards: [ShardInfo]
    public var imageSize: Int
    /// SHA-256 of manifest.json (or of the single shard), recorded in model and prediction files.
    public var checksum: String
    /// True when `path` is one shard file rather than a data-set folder.
    public var isSingleFile: Bool

    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PhotoZDataError.io(path: path, message: "no such file or folder")
        }
        if isDirectory.boolValue {
            let manifest = try Manifest.read(directory: path)
            guard manifest.shardSchemaVersion == Int(ShardSchema.version) else {
                throw PhotoZDataError.schema(path: path, message: "data set of shard schema version \(manifest.shardSchemaVersion); this photoz reads version \(ShardSchema.version): re-ingest it")
            }
            shards = manifest.shards.map { ShardInfo(path: (path as NSString).appendingPathComponent($0.file), split: $0.split, rows: $0.rows, sha256: $0.sha256) }
            imageSize = manifest.imageSize
            checksum = try SHA256.hexDigest(ofFile: (path as NSString).appendingPathComponent(Manifest.fileName))
            isSingleFile = false
        } else {
            let shard = try Shard(path: path)
            shards = [ShardInfo(path: path, split: shard.split, rows: shard.rows, sha256: nil)]
            imageSize = shard.imageSize
            checksum = try SHA256.hexDigest(ofFile: path)
            isSingleFile = true
        }
        // Opening each shard checks its schema and version up front, not mid-training.
        for info in shards { _ = try Shard(path: info.path) }
    }

    /// The shards of a split (`nil`: all of them). A single shard file is used whatever its split.
    public func shards(in split: Split?) -> [ShardInfo] {
        guard let split, !isSingleFile else { return shards }
        return shards.filter { $0.split == split }
    }

    /// Rows of a split.
    public func rows(in split: Split?) -> Int { shards(in: split).reduce(0) { $0 + $1.rows } }

    /// The shards of a split, or an error naming the split and the rows per split when it is empty.
    public func requireRows(in split: Split?, purpose: String) throws -> [ShardInfo] {
        let list = shards(in: split)
        guard list.reduce(0, { $0 + $1.rows }) > 0 else {
            let counts = Split.allCases.map { "\($0.rawValue) \(rows(in: $0))" }.joined(separator: ", ")
            throw PhotoZDataError.invalidOption("\(path): the \(split?.rawValue ?? "whole") split is empty (\(counts)); \(purpose) needs rows there — re-ingest with other --split fractions or choose another split")
        }
        return list
    }
}
