import Foundation
import SafeOutput

/// `manifest.json`: the shards of a data set, their rows, splits and checksums.
///
/// Written last by `ingest` (atomically), so a folder without a manifest is an unfinished
/// run. Described in `schemas/manifest-v1.md`.
public struct Manifest: Codable, Sendable, Equatable {
    public static let fileName = "manifest.json"
    public static let schemaName = "photoz.manifest"

    public struct ShardEntry: Codable, Sendable, Equatable {
        public var file: String
        public var split: Split
        public var rows: Int
        public var sha256: String
        public var bytes: Int

        public init(file: String, split: Split, rows: Int, sha256: String, bytes: Int) {
            self.file = file
            self.split = split
            self.rows = rows
            self.sha256 = sha256
            self.bytes = bytes
        }
    }

    public var schema: String = Manifest.schemaName
    public var schemaVersion: Int = 1
    public var shardSchema: String = ShardSchema.name
    public var shardSchemaVersion: Int = Int(ShardSchema.version)
    public var tool: String = "photoz"
    public var toolVersion: String = PhotoZVersion.current
    public var created: String = isoTimestamp()
    public var imageSize: Int
    public var bands: [String] = Band.allCases.map(\.rawValue)
    public var splitFractions: SplitFractions
    public var splitRule: String = "splitmix64(object_id) in [0,1) against cumulative train/valid/test fractions"
    public var compression: String
    public var inputs: [String: String]
    public var rows: [String: Int]
    public var skipped: Int
    public var skippedReport: String?
    public var shards: [ShardEntry]

    public init(imageSize: Int, splitFractions: SplitFractions, compression: String, inputs: [String: String],
                rows: [String: Int], skipped: Int, skippedReport: String?, shards: [ShardEntry]) {
        self.imageSize = imageSize
        self.splitFractions = splitFractions
        self.compression = compression
        self.inputs = inputs
        self.rows = rows
        self.skipped = skipped
        self.skippedReport = skippedReport
        self.shards = shards
    }

    enum CodingKeys: String, CodingKey {
        case schema, schemaVersion = "schema_version", shardSchema = "shard_schema", shardSchemaVersion = "shard_schema_version"
        case tool, toolVersion = "tool_version", created, imageSize = "image_size", bands
        case splitFractions = "split_fractions", splitRule = "split_rule", compression, inputs, rows, skipped
        case skippedReport = "skipped_report", shards
    }

    /// Reads `manifest.json` from a data-set folder.
    public static func read(directory: String) throws -> Manifest {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PhotoZDataError.io(path: path, message: "no manifest: not a photoz data set, or its ingest did not finish")
        }
        do { return try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw PhotoZDataError.schema(path: path, message: "not a valid photoz manifest: \(error)")
        }
    }

    /// Writes `manifest.json` atomically.
    public func write(directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let path = (directory as NSString).appendingPathComponent(Manifest.fileName)
        try writeAtomically(try encoder.encode(self), to: path)
    }

    /// Shards of one split, in order.
    public func shards(in split: Split) -> [ShardEntry] { shards.filter { $0.split == split } }
}

/// Writes data to a temporary file beside `path` and renames it into place (`SafeOutput.AtomicFile`).
public func writeAtomically(_ data: Data, to path: String) throws {
    try AtomicFile.write(data, to: path)
}
