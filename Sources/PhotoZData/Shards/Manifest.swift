import Foundation
import SafeOutput

/// `manifest.json`: the shards of a data set, their rows, splits and checksums.
///
/// Written last by `ingest` (atomically), so a folder without a manifest is an unfinished
/// run. Described in `schemas/manifest-v1.md`.
public struct Manifest: Codable, Sendable, Equatable {
    public static let fileName = "manifest.json"
    public static let schemaName = "photoz.manifest"

    /// Whether `path` is a folder photoz wrote: it holds a manifest of photoz's schema. The one
    /// recogniser of data sets that `--overwrite` may replace.
    @Sendable public static func isDataSet(_ path: String) -> Bool {
        let manifest = (path as NSString).appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: manifest),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return object["schema"] as? String == schemaName
    }

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
    /// Absent in manifests of minor version 0 (before `labelled`).
    public var shardSchemaMinorVersion: Int? = Int(ShardSchema.minorVersion)
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
        case shardSchemaMinorVersion = "shard_schema_minor_version"
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

extension Manifest {
    /// What is wrong with this manifest on its own (schema, bands, image size, row counts that
    /// are negative, overflow or disagree, shard names that leave the folder), each naming
    /// `path`; empty when it is sound. Every reader and `validate` check this before using it.
    public func problems(path: String) -> [String] {
        var problems: [String] = []
        func problem(_ text: String) { problems.append("\(path): \(text)") }
        if schema != Manifest.schemaName || schemaVersion != 1 {
            problem("schema \(schema) v\(schemaVersion); this photoz reads \(Manifest.schemaName) v1")
        }
        if shardSchema != ShardSchema.name || shardSchemaVersion != Int(ShardSchema.version) {
            problem("shard schema \(shardSchema) v\(shardSchemaVersion); this photoz reads \(ShardSchema.name) v\(ShardSchema.version): re-ingest the data with this version")
        }
        if !ShardSchema.knownBandSets.contains(bands) { problem("bands \(bands) are not one of \(ShardSchema.knownBandSets.map { $0.joined() }.joined(separator: ", "))") }
        if !(1...ShardSchema.maxImageSize).contains(imageSize) {
            problem("image_size \(imageSize) is outside 1…\(ShardSchema.maxImageSize)")
        }
        var shardRows = 0, overflow = false
        var names = Set<String>()
        for entry in shards {
            if entry.file.isEmpty || entry.file.contains("/") || entry.file.hasPrefix(".") || !entry.file.hasSuffix(".h5") {
                problem("shard name '\(entry.file)' is not a file name of this folder (NAME.h5)")
            }
            if !names.insert(entry.file).inserted { problem("shard \(entry.file) is listed twice") }
            if entry.rows < 0 || entry.bytes < 0 { problem("shard \(entry.file) has \(entry.rows) rows and \(entry.bytes) bytes: counts cannot be negative") }
            let (sum, o) = shardRows.addingReportingOverflow(max(entry.rows, 0))
            shardRows = sum
            overflow = overflow || o
        }
        var splitRows = 0
        for (split, n) in rows.sorted(by: { $0.key < $1.key }) {
            if n < 0 { problem("rows of \(split) is \(n): counts cannot be negative") }
            let (sum, o) = splitRows.addingReportingOverflow(max(n, 0))
            splitRows = sum
            overflow = overflow || o
        }
        if overflow {
            problem("row counts overflow 64 bits: the manifest is damaged")
        } else if splitRows != shardRows {
            problem("rows per split sum to \(splitRows) but its shards hold \(shardRows)")
        } else {
            for split in Split.allCases {
                let listed = shards(in: split).reduce(0) { $0 + max($1.rows, 0) }
                if listed != rows[split.rawValue] ?? 0 { problem("rows of \(split.rawValue) is \(rows[split.rawValue] ?? 0) but its shards hold \(listed)") }
            }
        }
        return problems
    }
}
