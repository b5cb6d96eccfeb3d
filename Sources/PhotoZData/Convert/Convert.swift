import Foundation

// `photoz convert`: an image collection published in another layout (the Pasquet et al. npz,
// the Hayat et al. and GalaxiesML HDF5 files) → a photoz data set, through `DataSetWriter`, so
// the output is staged, hashed, validated like ingest's. The source is streamed in blocks of
// `blockRows` rows: memory stays bounded for files of many GB.

/// Where converted rows go.
public enum ConvertSplitScheme: Codable, Sendable, Equatable, CustomStringConvertible {
    /// Ingest's rule: a hash of object_id against the fractions.
    case hash
    /// Every row into one split, in source order.
    case all(Split)

    public init(parsing text: String) throws {
        if text == "hash" { self = .hash; return }
        if let split = Split(rawValue: text) { self = .all(split); return }
        throw PhotoZDataError.invalidOption("--split-scheme '\(text)': expected hash (by object id, with --split fractions) or train, valid or test (every row into that split, in source order)")
    }

    public var description: String {
        switch self {
        case .hash: "hash"
        case let .all(split): split.rawValue
        }
    }
}

public struct ConvertConfiguration: Codable, Sendable {
    public var format: ConvertFormat
    public var source: String
    /// Side of the written images (centre crop); nil: the source's.
    public var size: Int?
    public var splitScheme: ConvertSplitScheme = .hash
    public var fractions: SplitFractions = .default
    /// Multiplies every pixel (source units → nanomaggies); nil: the format's default.
    public var fluxScale: Double?
    public var output: ManagedOutput
    /// Rows read and written per block.
    public var blockRows = 256

    public init(format: ConvertFormat, source: String, out: String) {
        self.format = format
        self.source = source
        output = ManagedOutput(out: out)
    }
}

/// Source rows skipped (non-finite pixels or labels), listed in a summary at most.
public let convertSkippedShown = 20

/// Converts a collection into a data set. Rows with a non-finite pixel, redshift or E(B−V) are
/// skipped and counted (`notes["skipped_nonfinite"]`); a repeated object id is an error.
public func convertCollection(_ config: ConvertConfiguration, progress: ProgressHandler? = nil) throws -> ManagementSummary {
    let start = Date()
    let source: ConvertSource = try config.format == .pasquetNPZ ? PasquetSource(path: config.source) : HDF5Source(path: config.source, format: config.format)
    let size = config.size ?? source.imageSize
    guard size <= source.imageSize else {
        throw PhotoZDataError.invalidOption("--size \(size): \(config.source) holds \(source.imageSize)×\(source.imageSize) images; photoz crops, it does not pad (choose --size \(source.imageSize) or less)")
    }
    guard source.rows > 0 else { throw PhotoZDataError.schema(path: config.source, message: "holds no images") }
    let fluxScale = Float(config.fluxScale ?? config.format.defaultFluxScale)

    var options = DataSetWriter.Options(imageSize: size)
    options.shardSize = config.output.shardSize
    options.compression = config.output.compression
    options.overwrite = config.output.overwrite
    options.attributes.bands = config.format.bands
    options.attributes.pixelScale = config.format.pixelScale
    var inputs = ["operation": "convert", "format": config.format.rawValue, "source": config.source,
                  "source_sha256": try SHA256.hexDigest(ofFile: config.source), "split_scheme": config.splitScheme.description,
                  "flux_scale": String(fluxScale), "bands": config.format.bands.joined(separator: ",")]
    for (column, name) in source.columnsUsed { inputs["column_\(column)"] = name }
    let absent = ["object_id", "ra", "dec", "z_spec_err", "ebv"].filter { source.columnsUsed[$0] == nil }
    if !absent.isEmpty {
        inputs["absent"] = absent.joined(separator: ",")
        inputs["absent_rule"] = "columns the source lacks: object_id = the row's index in the source (from 0); ra, dec, z_spec_err, ebv = 0"
    }
    if size < source.imageSize { inputs["crop"] = "centre \(size)×\(size) of \(source.imageSize)×\(source.imageSize), offset \((source.imageSize - size) / 2)" }
    options.attributes.inputs = jsonText(inputs)
    options.attributes.configuration = jsonText(config)
    let writer = try DataSetWriter(target: config.output.out, options: options)

    var seen = Set<Int64>()
    seen.reserveCapacity(min(source.rows, 1 << 20))
    // A block's source images stay under 256 MiB whatever --block-rows asks (GalaxiesML's 127² images: 1,000 rows).
    let blockRows = max(1, min(config.blockRows, (256 << 20) / (5 * source.imageSize * source.imageSize * 4)))
    var row = 0, skipped: [Int] = [], skippedCount = 0
    let p = 5 * size * size, sp = 5 * source.imageSize * source.imageSize
    let offset = (source.imageSize - size) / 2
    var image = [Float](repeating: 0, count: p)
    while row < source.rows {
        let n = min(blockRows, source.rows - row)
        let block = try source.read(n)
        // One part per split, mutated in place (a copy out of a dictionary would copy every image on each row).
        let scalarColumns = ShardSchema.requiredColumns.filter { $0.name != ShardSchema.images }
        var partRows = Split.allCases.map { _ in ShardRows(imageSize: size, columns: scalarColumns, capacity: n) }
        var partImages = Split.allCases.map { _ in [Float]() }
        for k in 0..<n {
            let id = block.ids?[k] ?? Int64(row + k)
            let z = block.z[k], ebv = block.ebv?[k] ?? 0, zErr = block.zErr?[k] ?? 0
            let ra = block.ra?[k] ?? 0, dec = block.dec?[k] ?? 0
            // Crop (centre) and scale into the row's image (one buffer reused for every row).
            var finite = z.isFinite && ebv.isFinite && zErr.isFinite && ra.isFinite && dec.isFinite
            block.images.withUnsafeBufferPointer { src in
                image.withUnsafeMutableBufferPointer { dst in
                    var check: Float = 0
                    for b in 0..<5 {
                        for y in 0..<size {
                            let from = k * sp + (b * source.imageSize + y + offset) * source.imageSize + offset
                            let to = (b * size + y) * size
                            for x in 0..<size {
                                let v = src[from + x] * fluxScale
                                dst[to + x] = v
                                check += v * 0  // NaN for NaN and ±Inf, else 0
                            }
                        }
                    }
                    finite = finite && check == 0
                }
            }
            guard finite else {
                skippedCount += 1
                if skipped.count < convertSkippedShown { skipped.append(row + k) }
                continue
            }
            guard seen.insert(id).inserted else {
                writer.abandon()
                throw PhotoZDataError.schema(path: config.source, message: "row \(row + k): object id \(id) appears twice; photoz needs unique ids (remove the duplicate from the source)")
            }
            let split: Split = switch config.splitScheme {
            case .hash: config.fractions.split(of: id)
            case let .all(s): s
            }
            let i = Split.allCases.firstIndex(of: split)!
            partRows[i].objectID.append(id)
            partRows[i].ra.append(ra)
            partRows[i].dec.append(dec)
            partRows[i].zSpec.append(z)
            partRows[i].zSpecErr.append(zErr)
            partRows[i].ebv.append(ebv)
            if partImages[i].isEmpty { partImages[i].reserveCapacity(n * p) }
            partImages[i].append(contentsOf: image)
        }
        for split in Split.allCases {
            let i = Split.allCases.firstIndex(of: split)!
            if partRows[i].count > 0 { try partImages[i].withUnsafeBufferPointer { try writer.append(partRows[i], images: $0, split: split) } }
        }
        row += n
        progress?(row, source.rows)
    }
    let fractions: SplitFractions = switch config.splitScheme {
    case .hash: config.fractions
    case .all(.train): SplitFractions(train: 1, valid: 0, test: 0)
    case .all(.valid): SplitFractions(train: 0, valid: 1, test: 0)
    case .all(.test): SplitFractions(train: 0, valid: 0, test: 1)
    }
    let rule = switch config.splitScheme {
    case .hash: "splitmix64(object_id) in [0,1) against cumulative train/valid/test fractions (photoz convert)"
    case let .all(s): "every row of \(config.source) in \(s.rawValue), in source order (photoz convert --split-scheme \(s.rawValue))"
    }
    let compression = config.output.compression.description
    if skippedCount > 0 {
        inputs["skipped_rows"] = skipped.map(String.init).joined(separator: ",") + (skippedCount > skipped.count ? ",…" : "")
        inputs["skipped_rule"] = "source rows (from 0) with a non-finite pixel, z, z_err, E(B-V), ra or dec are not written"
    }
    let manifest = try writer.finish { [inputs] _ in
        var m = Manifest(imageSize: size, splitFractions: fractions, compression: compression, inputs: inputs,
                         rows: [:], skipped: skippedCount, skippedReport: nil, shards: [])
        m.splitRule = rule
        return m
    }
    var summary = ManagementSummary(output: writer.target, read: source.rows, rows: manifest.rows, shards: manifest.shards.count,
                                    seconds: Date().timeIntervalSince(start))
    summary.notes["skipped_nonfinite"] = skippedCount
    if absent.contains("object_id") { summary.notes["ids_made_from_row_index"] = 1 }
    let zeroed = absent.filter { $0 != "object_id" }.count
    if zeroed > 0 { summary.notes["columns_absent_written_as_0"] = zeroed }
    return summary
}
