import Foundation

/// A data set opened for reading: a folder of shards with its manifest, or a single shard.
///
/// Every shard is opened once, here, its schema, version and declared sizes checked against
/// the manifest (rows, image size, split) before anything is read; a manifest whose counts
/// overflow or disagree, or whose shard names leave the folder, is refused. Rows are then read
/// as batches (`batches(split:order:batchSize:columns:)`), only of the columns asked for, and
/// every read first checks that its shard is still the file opened (`Shard.checkUnchanged`):
/// a shard replaced under a running job stops it with an error saying so.
public final class DataSetReader: @unchecked Sendable {
    public struct ShardInfo: Sendable {
        public var path: String
        public var split: Split?
        public var rows: Int
        public var sha256: String?
    }

    public let path: String
    public let shards: [ShardInfo]
    public let imageSize: Int
    /// SHA-256 of manifest.json (or of the single shard), recorded in model and prediction files.
    public let checksum: String
    /// True when `path` is one shard file rather than a data-set folder.
    public let isSingleFile: Bool
    /// The manifest of a data-set folder.
    public let manifest: Manifest?
    /// The open shards, in the order of `shards`.
    let opened: [Shard]

    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PhotoZDataError.io(path: path, message: "no such file or folder")
        }
        if isDirectory.boolValue {
            let manifest = try Manifest.read(directory: path)
            let manifestPath = (path as NSString).appendingPathComponent(Manifest.fileName)
            if let problem = manifest.problems(path: manifestPath).first {
                throw PhotoZDataError.schema(path: path, message: "\(problem); run photoz validate \(path) for every problem")
            }
            var infos: [ShardInfo] = [], opened: [Shard] = []
            for entry in manifest.shards {
                let file = (path as NSString).appendingPathComponent(entry.file)
                guard FileManager.default.fileExists(atPath: file) else {
                    throw PhotoZDataError.io(path: file, message: "listed in manifest.json but missing: the data set is incomplete (re-run ingest)")
                }
                let shard = try Shard(path: file, expectedSHA256: entry.sha256)
                func disagree(_ what: String) -> PhotoZDataError {
                    .schema(path: file, message: "\(what) (the file changed after it was written; run photoz validate \(path))")
                }
                guard shard.rows == entry.rows else { throw disagree("holds \(shard.rows) rows but manifest.json says \(entry.rows)") }
                guard shard.imageSize == manifest.imageSize else {
                    throw disagree("holds \(shard.imageSize)×\(shard.imageSize) images but manifest.json's image_size is \(manifest.imageSize)")
                }
                if let split = shard.split, split != entry.split { throw disagree("is of split \(split.rawValue) but manifest.json lists it as \(entry.split.rawValue)") }
                if entry.bytes > 0, shard.identity.size != entry.bytes {
                    throw disagree("has \(shard.identity.size) bytes but manifest.json says \(entry.bytes)")
                }
                infos.append(ShardInfo(path: file, split: entry.split, rows: entry.rows, sha256: entry.sha256))
                opened.append(shard)
            }
            shards = infos
            self.opened = opened
            imageSize = manifest.imageSize
            checksum = try SHA256.hexDigest(ofFile: manifestPath)
            isSingleFile = false
            self.manifest = manifest
        } else {
            let shard = try Shard(path: path)
            shards = [ShardInfo(path: path, split: shard.split, rows: shard.rows, sha256: nil)]
            opened = [shard]
            imageSize = shard.imageSize
            checksum = try SHA256.hexDigest(ofFile: path)
            isSingleFile = true
            manifest = nil
        }
    }

    /// The shards of a split (`nil`: all of them). A single shard file is used whatever its split.
    public func shards(in split: Split?) -> [ShardInfo] { shardIndices(in: split).map { shards[$0] } }

    func shardIndices(in split: Split?) -> [Int] {
        guard let split, !isSingleFile else { return Array(shards.indices) }
        return shards.indices.filter { shards[$0].split == split }
    }

    /// The open shard `info` describes.
    public func shard(_ info: ShardInfo) -> Shard {
        guard let k = shards.firstIndex(where: { $0.path == info.path }) else { preconditionFailure("\(info.path) is not a shard of \(path)") }
        return opened[k]
    }

    /// Rows of a split.
    public func rows(in split: Split?) -> Int { shards(in: split).reduce(0) { $0 + $1.rows } }

    /// The catalog columns (`ingest --keep-columns`) every shard holds alike: what a copy of
    /// the data set carries.
    public var catalogColumns: [ShardColumn] {
        guard let first = opened.first else { return [] }
        return first.optionalColumns.filter { c in c.isCatalogColumn && opened.allSatisfy { $0.optionalColumns.contains(c) } }
    }

    /// The columns of `ShardSchema.carriedColumns` some shard holds (shards without one read its
    /// default: `labelled` from z_spec, `wcs` as NaN): a copy writes exactly these, so it holds
    /// what its source holds and no more.
    public var heldCarriedColumns: [ShardColumn] {
        ShardSchema.carriedColumns.filter { c in opened.contains { $0.optionalColumns.contains(c) } }
    }

    /// Every column a copy of the data set carries: the required ones, `heldCarriedColumns` and `catalogColumns`.
    public var carriedColumns: [ShardColumn] { ShardSchema.requiredColumns + heldCarriedColumns + catalogColumns }

    /// Rows of a split (nil: all) without a spectroscopic redshift (`labelled` = 0, or a NaN
    /// z_spec in shards without the column); nil when there are none to count (an empty split).
    public func unlabelledRows(in split: Split?) throws -> Int? {
        let list = shardIndices(in: split)
        guard !list.isEmpty else { return nil }
        var count = 0
        for k in list {
            count += try opened[k].scalarColumn(ShardSchema.labelled)[int64: ShardSchema.labelled].reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
        }
        return count
    }

    /// The shards of a split, or an error naming the split and the rows per split when it is empty.
    @discardableResult
    public func requireRows(in split: Split?, purpose: String) throws -> [ShardInfo] {
        let list = shards(in: split)
        guard list.reduce(0, { $0 + $1.rows }) > 0 else {
            let counts = Split.allCases.map { "\($0.rawValue) \(rows(in: $0))" }.joined(separator: ", ")
            throw PhotoZDataError.invalidOption("\(path): the \(split?.rawValue ?? "whole") split is empty (\(counts)); \(purpose) needs rows there — re-ingest with other --split fractions or choose another split")
        }
        return list
    }
}
