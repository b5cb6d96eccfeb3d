import Foundation
import HDF5

/// Summary statistics of a distribution, for `inspect`.
public struct Distribution: Codable, Sendable {
    public var count: Int
    public var min: Double
    public var p16: Double
    public var median: Double
    public var p84: Double
    public var max: Double
    public var mean: Double
    public var std: Double

    public init(_ values: [Double]) {
        let sorted = values.filter(\.isFinite).sorted()
        count = sorted.count
        func q(_ p: Double) -> Double { sorted.isEmpty ? .nan : sorted[Int((Double(sorted.count - 1) * p).rounded())] }
        min = sorted.first ?? .nan
        max = sorted.last ?? .nan
        p16 = q(0.16)
        median = q(0.5)
        p84 = q(0.84)
        mean = sorted.isEmpty ? .nan : sorted.reduce(0, +) / Double(sorted.count)
        let m = mean
        std = sorted.count < 2 ? 0 : (sorted.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(sorted.count - 1)).squareRoot()
    }
}

/// What `inspect` reports for shards or a data set.
public struct DataSetInspection: Codable, Sendable {
    public var path: String
    public var schema: String
    public var schemaVersion: Int
    public var files: Int
    public var rows: Int
    public var rowsPerSplit: [String: Int]
    public var imageSize: Int
    public var compression: [String]
    public var pixelRowsSampled: Int
    /// Per band (u…z): pixel statistics in nanomaggies over the sampled rows.
    public var bands: [String: Distribution]
    public var zSpec: Distribution
    public var zSpecErr: Distribution
    public var ebv: Distribution
    /// Every scalar column of the schema the shards hold (`ShardSchema.columns`), by name.
    public var columns: [String: Distribution]
    public var attributes: [String: String]
    /// Rows with a spectroscopic redshift, and without (prediction only).
    public var labelledRows: Int = 0
    public var unlabelledRows: Int = 0
    /// The optional columns the shards hold (e.g. `labelled`, `perturbation`).
    public var optionalColumns: [String] = []
    /// `schema_minor_version` of the first shard.
    public var schemaMinorVersion: Int = 0
    /// Band names in image order (the shards' `bands`: u,g,r,i,z or g,r,i,z,y); keys of `bands`.
    public var bandOrder: [String] = ShardSchema.sdssBands
}

/// Reads shards (one file, or every shard of a folder) and summarises them.
///
/// Pixel statistics use at most `maxPixelRows` rows spread over the data set; the 1-D
/// columns are read whole.
public func inspectShards(path: String, maxPixelRows: Int = 2000) throws -> DataSetInspection {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw PhotoZDataError.io(path: path, message: "no such file or folder")
    }
    let files: [String]
    if isDirectory.boolValue {
        if let manifest = try? Manifest.read(directory: path) {
            if let problem = manifest.problems(path: (path as NSString).appendingPathComponent(Manifest.fileName)).first {
                throw PhotoZDataError.schema(path: path, message: "\(problem); run photoz validate for the full list")
            }
            files = manifest.shards.map { (path as NSString).appendingPathComponent($0.file) }
        } else {
            files = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".h5") && !$0.hasPrefix(".") }
                .sorted().map { (path as NSString).appendingPathComponent($0) }
        }
        guard !files.isEmpty else { throw PhotoZDataError.io(path: path, message: "no shards (*.h5) in this folder") }
    } else {
        files = [path]
    }
    // Opening bounds each shard's declared rows and image size by its file's size, so the
    // work below is proportional to the data stored.
    let shards = try files.map { try Shard(path: $0) }
    let total = shards.reduce(0) { $0 + $1.rows }
    var perSplit: [String: Int] = [:]
    let scalars = ShardSchema.columns.filter { $0.shape == .scalar && $0.kind != .int64 }
    var values: [String: [Double]] = [:]
    var pixels = Array(repeating: [Double](), count: Band.allCases.count)
    let every = max(1, total / max(1, maxPixelRows))
    var sampled = 0, unlabelled = 0
    var optional: [String] = []
    for shard in shards {
        perSplit[shard.split?.rawValue ?? "unknown", default: 0] += shard.rows
        // Read (or, for shards without the column, derived from z_spec) like every reader does.
        unlabelled += try shard.scalarColumn(ShardSchema.labelled)[int64: ShardSchema.labelled].reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
        for c in shard.optionalColumns where !optional.contains(c.name) { optional.append(c.name) }
        for c in scalars where shard.columns.contains(c) {
            let rows = try shard.scalarColumn(c.name)
            values[c.name, default: []] += (0..<rows.count).map { rows.scalar(c, row: $0) }
        }
        let n = shard.imageSize * shard.imageSize
        var image = [Float](repeating: 0, count: Band.allCases.count * n)
        for row in stride(from: 0, to: shard.rows, by: every) {
            try image.withUnsafeMutableBufferPointer { try shard.readImages(row..<row + 1, into: $0) }
            for b in 0..<Band.allCases.count { for p in stride(from: b * n, to: (b + 1) * n, by: 7) { pixels[b].append(Double(image[p])) } }
            sampled += 1
        }
    }
    let first = shards[0].file.root
    var attributes: [String: String] = [:]
    for name in (try? first.attributeNames()) ?? [] { attributes[name] = try shards[0].attributeText(name) }
    let images = try first.dataset(ShardSchema.images)
    let stored = (try? first.attribute(ShardSchema.Attribute.bands))??.stringsValue
    let bandOrder = stored.map(Set.init)?.count == Band.allCases.count ? stored! : ShardSchema.sdssBands
    let distributions = values.mapValues(Distribution.init)
    return DataSetInspection(
        path: path, schema: ShardSchema.name, schemaVersion: Int(ShardSchema.version), files: shards.count, rows: total,
        rowsPerSplit: perSplit, imageSize: shards[0].imageSize, compression: (try? images.filters) ?? [], pixelRowsSampled: sampled,
        bands: Dictionary(uniqueKeysWithValues: bandOrder.enumerated().map { ($1, Distribution(pixels[$0])) }),
        zSpec: distributions[ShardSchema.zSpec] ?? Distribution([]), zSpecErr: distributions[ShardSchema.zSpecErr] ?? Distribution([]),
        ebv: distributions[ShardSchema.ebv] ?? Distribution([]), columns: distributions, attributes: attributes,
        labelledRows: total - unlabelled, unlabelledRows: unlabelled, optionalColumns: optional, schemaMinorVersion: Int(shards[0].minorVersion),
        bandOrder: bandOrder)
}

/// One object of an HDF5 file, for the generic view of files other than shards.
public struct HDF5Entry: Codable, Sendable {
    public var path: String
    public var kind: String            // "group" or "dataset"
    public var shape: [Int]?
    public var type: String?
    public var attributes: [String: String]
}

/// Lists every group and dataset of an HDF5 file with shapes, types and attributes.
public func describeHDF5(path: String) throws -> [HDF5Entry] {
    let file = try HDF5File.open(path, readOnly: true)
    var entries: [HDF5Entry] = []
    func attributes(_ names: [String], _ get: (String) throws -> HDF5AttributeValue?) -> [String: String] {
        var result: [String: String] = [:]
        for name in names { if let value = try? get(name) { result[name] = attributeText(value) } }
        return result
    }
    func walk(_ group: HDF5Group) throws {
        entries.append(HDF5Entry(path: group.path, kind: "group", shape: nil, type: nil,
                                 attributes: attributes((try? group.attributeNames()) ?? [], group.attribute)))
        for name in try group.memberNames() {
            if try group.isDataset(name) {
                let d = try group.dataset(name)
                entries.append(HDF5Entry(path: d.path, kind: "dataset", shape: try? d.shape, type: (try? d.elementType).map { "\($0)" },
                                         attributes: attributes((try? d.attributeNames()) ?? [], d.attribute)))
            } else {
                try walk(try group.group(name))
            }
        }
    }
    try walk(file.root)
    return entries
}

/// An attribute value as display text.
public func attributeText(_ value: HDF5AttributeValue) -> String {
    switch value {
    case let .string(s): s
    case let .strings(s): s.joined(separator: ",")
    case let .int64(v): String(v)
    case let .int64s(v): v.map(String.init).joined(separator: ",")
    case let .double(v): String(v)
    case let .doubles(v): v.map { String($0) }.joined(separator: ",")
    }
}
