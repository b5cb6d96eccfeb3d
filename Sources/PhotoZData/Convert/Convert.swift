import Dispatch
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
///
/// Three things run at once (measured on 2 cores with a 0.9 GB Hayat file, where doing them in
/// turn left one core idle most of the time): the source's SHA-256 on a background thread;
/// reading, cropping and checking blocks of rows on the calling thread, into one of a few
/// buffers; and a writer thread that hands finished blocks to the `DataSetWriter` (which
/// compresses on all cores). The shards record the checksum: the writer gives it to them
/// (`setShardInputs`) as soon as it is known, and waits for it only before a block that would
/// complete a shard.
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
    options.attributes.configuration = jsonText(config)
    var inputs = ["operation": "convert", "format": config.format.rawValue, "source": config.source,
                  "split_scheme": config.splitScheme.description,
                  "flux_scale": String(fluxScale), "bands": config.format.bands.joined(separator: ",")]
    for (column, name) in source.columnsUsed { inputs["column_\(column)"] = name }
    let absent = AbsentColumns.candidates.filter { source.columnsUsed[$0] == nil }
    inputs.merge(AbsentColumns.record(absent)) { _, recorded in recorded }
    if size < source.imageSize { inputs["crop"] = "centre \(size)×\(size) of \(source.imageSize)×\(source.imageSize), offset \((source.imageSize - size) / 2)" }
    options.attributes.inputs = jsonText(inputs)  // completed with the checksum before the first row
    let writer = try DataSetWriter(target: config.output.out, options: options)  // a bad --out fails here, at once
    let sourceHash = BackgroundFileHash(path: config.source)
    defer { _ = try? sourceHash.result() }  // the thread reads the source: let it end before returning

    // A block's source images stay under 256 MiB whatever --block-rows asks (GalaxiesML's 127² images: 1,000 rows).
    let blockRows = max(1, min(config.blockRows, (256 << 20) / (5 * source.imageSize * source.imageSize * 4)))
    let p = 5 * size * size
    // Cropped blocks in flight: the reader runs ahead of the writer (and of the checksum, when
    // a shard is about to close) by up to 128 MiB of them.
    let depth = max(2, min(8, (128 << 20) / max(1, blockRows * p * 4)))
    let buffers = (0..<depth).map { _ in SendablePointer(.allocate(capacity: blockRows * p)) }
    let free = DispatchSemaphore(value: depth)
    let writerQueue = DispatchQueue(label: "photoz.convert.write")
    let sink = ConvertSink(writer: writer, inputs: inputs, sourceHash: sourceHash, pixelsPerImage: p)
    defer {
        writerQueue.sync {}
        buffers.forEach { $0.pointer.deallocate() }
    }

    var seen = Set<Int64>()
    seen.reserveCapacity(min(source.rows, 1 << 20))
    var row = 0, skipped: [Int] = [], skippedCount = 0
    let sourceSize = source.imageSize, sp = 5 * sourceSize * sourceSize
    let offset = (sourceSize - size) / 2
    let scalarColumns = ShardSchema.requiredColumns.filter { $0.name != ShardSchema.images }
    var number = 0
    while row < source.rows {
        free.wait()
        // Give the buffer back before stopping: libdispatch traps when a semaphore is released
        // below its initial value.
        if sink.failed { free.signal(); break }
        let n = min(blockRows, source.rows - row)
        let slot = buffers[number % depth], buffer = slot.pointer
        var parts = Split.allCases.map { _ in ShardRows(imageSize: size, columns: scalarColumns, capacity: n) }
        var first = [Int](repeating: 0, count: Split.allCases.count)
        do {
            let block = try source.read(n)
            // Each split's rows go to one run of the buffer, in source order, so that the writer
            // takes them from there as they are; a skipped row's place is taken by the next one.
            var splits: [Int] = []
            splits.reserveCapacity(n)
            var ids: [Int64] = []
            ids.reserveCapacity(n)
            for k in 0..<n {
                let id = block.ids?[k] ?? Int64(row + k)
                let split: Split = switch config.splitScheme {
                case .hash: config.fractions.split(of: id)
                case let .all(s): s
                }
                ids.append(id)
                splits.append(split.index)
                first[split.index] += 1
            }
            var at = [0, first[0], first[0] + first[1]]
            first = at
            try block.images.withUnsafeBufferPointer { src in
                for k in 0..<n {
                    let i = splits[k]
                    let z = block.z[k], ebv = block.ebv?[k] ?? 0, zErr = block.zErr?[k] ?? 0
                    let ra = block.ra?[k] ?? 0, dec = block.dec?[k] ?? 0
                    // Crop (centre) and scale into the row's place.
                    var finite = z.isFinite && ebv.isFinite && zErr.isFinite && ra.isFinite && dec.isFinite
                    let image = buffer + at[i] * p
                    for b in 0..<5 {
                        for y in 0..<size {
                            let from = src.baseAddress! + k * sp + (b * sourceSize + y + offset) * sourceSize + offset
                            finite = copyScaled(from, to: image + (b * size + y) * size, count: size, scale: fluxScale) && finite
                        }
                    }
                    guard finite else {
                        skippedCount += 1
                        if skipped.count < convertSkippedShown { skipped.append(row + k) }
                        continue
                    }
                    guard seen.insert(ids[k]).inserted else {
                        throw PhotoZDataError.schema(path: config.source, message: "row \(row + k): object id \(ids[k]) appears twice; photoz needs unique ids (remove the duplicate from the source)")
                    }
                    parts[i].objectID.append(ids[k])
                    parts[i].ra.append(ra)
                    parts[i].dec.append(dec)
                    parts[i].zSpec.append(z)
                    parts[i].zSpecErr.append(zErr)
                    parts[i].ebv.append(ebv)
                    at[i] += 1
                }
            }
        } catch {
            free.signal()
            writerQueue.sync {}
            sink.abandon()
            throw error
        }
        row += n
        number += 1
        let done = row, total = source.rows
        let (blockParts, runs) = (parts, first)
        writerQueue.async {
            sink.consume(blockParts, images: slot.pointer, runs: runs)
            progress?(done, total)
            free.signal()
        }
    }
    writerQueue.sync {}
    try sink.finish()
    inputs["source_sha256"] = try sourceHash.result()
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

/// Copies `count` floats times `scale`; returns whether every copied value is finite (checked
/// on the bits, with no branch per value, so that the loop vectorises).
@inline(__always)
private func copyScaled(_ from: UnsafePointer<Float>, to: UnsafeMutablePointer<Float>, count: Int, scale: Float) -> Bool {
    if scale == 1 {
        to.update(from: from, count: count)
    } else {
        for x in 0..<count { to[x] = from[x] * scale }
    }
    var nonFinite: UInt32 = 0
    UnsafeRawPointer(to).withMemoryRebound(to: UInt32.self, capacity: count) { bits in
        for x in 0..<count { nonFinite |= (bits[x] & 0x7F80_0000) == 0x7F80_0000 ? 1 : 0 }
    }
    return nonFinite == 0
}

/// The writing side of convert, on one serial queue: waits for the source's checksum, gives it
/// to the writer (its shards record it in their inputs), then hands each block's runs of rows
/// to it, split by split. The first error stops it.
private final class ConvertSink: @unchecked Sendable {
    private let writer: DataSetWriter
    private var inputs: [String: String]
    private let sourceHash: BackgroundFileHash
    private let pixelsPerImage: Int
    private var started = false
    /// Rows appended to each split.
    private var appended = [Int](repeating: 0, count: Split.allCases.count)
    private let lock = NSLock()
    private var error: Error?

    init(writer: DataSetWriter, inputs: [String: String], sourceHash: BackgroundFileHash, pixelsPerImage: Int) {
        self.writer = writer
        self.inputs = inputs
        self.sourceHash = sourceHash
        self.pixelsPerImage = pixelsPerImage
    }

    var failed: Bool { lock.withLock { error != nil } }

    /// Appends `parts[i]` (every column but the images) with its images from `images + runs[i]`
    /// rows on, for each split i.
    func consume(_ parts: [ShardRows], images: UnsafeMutablePointer<Float>, runs: [Int]) {
        guard !failed else { return }
        do {
            // The checksum must be in every shard before it is closed, which happens when it
            // holds shardSize rows: wait for it before the block that would close the first one.
            let closes = parts.indices.contains { appended[$0] + parts[$0].count >= writer.options.shardSize }
            if closes || sourceHash.isDone { try start() }
            for (i, split) in Split.allCases.enumerated() where parts[i].count > 0 {
                let run = UnsafeBufferPointer(start: images + runs[i] * pixelsPerImage, count: parts[i].count * pixelsPerImage)
                try writer.append(parts[i], images: run, split: split)
                appended[i] += parts[i].count
            }
        } catch {
            lock.withLock { if self.error == nil { self.error = error } }
        }
    }

    /// Throws the first error (the writer abandoned), else leaves the writer ready to finish.
    func finish() throws {
        if let error = lock.withLock({ error }) {
            abandon()
            throw error
        }
        try start()
    }

    func abandon() { writer.abandon() }

    private func start() throws {
        guard !started else { return }
        inputs["source_sha256"] = try sourceHash.result()
        try writer.setShardInputs(jsonText(inputs))
        started = true
    }
}

/// The SHA-256 of a file, computed on a thread of its own from creation; `result()` waits for it.
private final class BackgroundFileHash: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var value: Result<String, Error>?
    private let lock = NSLock()

    init(path: String) {
        Thread.detachNewThread { [self] in
            let result = Result { try SHA256.hexDigest(ofFile: path) }
            lock.withLock { value = result }
            done.signal()
        }
    }

    /// Whether the hash is known (`result()` then returns at once).
    var isDone: Bool { lock.withLock { value != nil } }

    func result() throws -> String {
        if let value = lock.withLock({ value }) { return try value.get() }
        done.wait()
        done.signal()  // later callers pass straight through
        return try lock.withLock { value! }.get()
    }
}
