import Dispatch
import Foundation

/// What an ingest run did.
public struct IngestSummary: Sendable, Codable {
    public var output: String
    public var layout: CutoutLayout
    public var rows: [String: Int]
    public var ingested: Int
    public var skipped: [String: Int]
    public var skippedReport: String
    public var shards: Int
    public var bytes: Int
    public var seconds: Double
    public var nonFinitePixelsFilled: Int
    /// Rows written without a redshift (prediction only).
    public var unlabelled: Int = 0
    /// Where E(B−V) came from.
    public var ebvSource: String = ""
    /// Rows whose cutout had no celestial WCS (their `/wcs` row is NaN).
    public var withoutWCS: Int = 0
    /// `--append`: the rows the data set held before (they are kept, and included in `rows`).
    public var appendedTo: Int?
    /// Where `seconds` went: `catalog` (reading and matching the catalog and the cutout
    /// folder, input checksums), `cutouts` (reading the cutouts and writing the shards),
    /// `finish` (last rows, checksums, report, manifest, the swap into place) and, inside
    /// `finish`, `sync`: waiting for the disk to hold every byte before the swap (`syncfs`),
    /// which a pipeline that does not make its output durable does not pay.
    public var phases: [String: Double] = [:]

    public var objectsPerSecond: Double { seconds > 0 ? Double(ingested) / seconds : 0 }
}

/// Progress of a long stage: `done` of `total` units.
public typealias ProgressHandler = @Sendable (_ done: Int, _ total: Int) -> Void

/// FITS cutouts + a spectroscopic catalog → HDF5 shards, `manifest.json` and a report of
/// skipped objects.
///
/// Everything is written into a hidden staging folder beside the output and moved into place
/// at the end, so a failed or killed run leaves the previous output untouched and never a
/// folder that looks complete.
public func ingest(_ config: IngestConfiguration, progress: ProgressHandler? = nil) throws -> IngestSummary {
    try config.validate()
    let start = Date()
    let output = URL(fileURLWithPath: config.output).standardizedFileURL
    let fm = FileManager.default
    if fm.fileExists(atPath: output.path), !((try? fm.contentsOfDirectory(atPath: output.path))?.isEmpty ?? true), !config.overwrite, !config.append {
        throw PhotoZDataError.outputExists(path: output.path)
    }

    let catalog = try Catalog.read(config.catalog, columns: config.columns, extinction: config.extinction,
                                   selection: config.selection, ebv: config.ebv, keep: config.keepColumns)
    var index = try CutoutIndex.scan(config.cutouts, layout: config.layout, template: config.template)

    // Match catalog rows with cutout files.
    var skipped = catalog.skipped
    var work: [(entry: CatalogEntry, files: [Band: String])] = []
    var used = Set<Int64>()
    for entry in catalog.entries {
        guard let files = index.files[entry.objectID] else {
            skipped.append(SkippedObject(objectID: entry.objectID, row: entry.row, file: nil, reason: .missingCutout,
                                         detail: "no file \(index.template.replacingOccurrences(of: "{id}", with: String(entry.objectID))) in \(index.directory)"))
            continue
        }
        used.insert(entry.objectID)
        work.append((entry, files))
    }
    // --append: the existing data set, checked against this run before anything is written.
    let previous = config.append ? try AppendBase(config, output: output.path, extraColumns: catalog.extraColumns, work: work.map(\.entry.objectID)) : nil
    // A cutout of an object the data set already holds is not a cutout without a catalog row.
    let alreadyHeld = previous?.existingIDs ?? []
    // A cutout whose catalog row was skipped is that row's line of skipped.csv (with its file),
    // not a second "without catalog row" line: each object is counted once.
    let skippedRows = Dictionary(catalog.skipped.enumerated().compactMap { k, s in s.objectID.map { ($0, k) } }, uniquingKeysWith: { a, _ in a })
    for (id, files) in index.files where !used.contains(id) && !alreadyHeld.contains(id) {
        index.unmatchedFiles.append(contentsOf: files.values)
        if let k = skippedRows[id] {
            if skipped[k].file == nil { skipped[k].file = files.values.sorted().first }
            continue
        }
        skipped.append(SkippedObject(objectID: id, row: nil, file: files.values.sorted().first, reason: .cutoutWithoutRow,
                                     detail: "cutout has no row in the catalog; not ingested"))
    }

    let catalogSHA = try SHA256.hexDigest(ofFile: config.catalog)
    var inputs = ["catalog": config.catalog, "catalog_sha256": catalogSHA, "cutouts": config.cutouts, "layout": index.layout.rawValue,
                  "template": index.template, "catalog_columns": catalog.columnsUsed.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; "),
                  "catalog_selection": config.selection.summary, "ebv_source": catalog.columnsUsed["ebv"] ?? ""]
    if case let .maps(paths) = config.ebv {  // the maps are inputs: recorded with their checksums
        inputs["ebv_maps"] = paths.joined(separator: ", ")
        inputs["ebv_maps_sha256"] = try paths.map { try SHA256.hexDigest(ofFile: $0) }.joined(separator: ", ")
    }
    if let previous { previous.record(into: &inputs) }
    var options = DataSetWriter.Options(imageSize: config.size)
    options.shardSize = config.shardSize
    options.compression = config.compression
    // An append replaces the data set by its new version through the writer's staged swap.
    options.overwrite = config.overwrite || config.append
    options.optionalColumns = [ShardSchema.column(ShardSchema.labelled)!, ShardSchema.column(ShardSchema.wcs)!] + catalog.extraColumns
    options.attributes.extinction = config.extinction
    options.attributes.inputs = jsonText(inputs)
    options.attributes.configuration = jsonText(config)
    options.expectedRows = Dictionary(grouping: work) { config.split.split(of: $0.entry.objectID) }.mapValues(\.count)
    if let previous { for split in Split.allCases { options.expectedRows[split, default: 0] += previous.reader.rows(in: split) } }
    let writer = try DataSetWriter(target: output.path, options: options)
    var phases = ["catalog": Date().timeIntervalSince(start)]
    // The existing rows go first, each to its own split, bit for bit; the new ones follow them.
    var reportName = "skipped.csv"
    if let previous {
        do { reportName = try previous.copy(into: writer, columns: options.optionalColumns) } catch {
            writer.abandon()
            throw error
        }
    }

    // Blocks of objects are read on all cores into one of three buffers while a writer thread
    // hands earlier blocks to the split writers (which compress, or hash, on all cores too).
    let reader = CutoutReader(layout: index.layout, size: config.size, fillNonFinite: config.fillNonFinite, cubeBandOrder: config.cubeBandOrder)
    let threads = config.threads ?? ProcessInfo.processInfo.activeProcessorCount
    let blockSize = 64
    let pixels = 5 * config.size * config.size
    let sink = IngestSink(writer: writer, pixelsPerImage: pixels, imageSize: config.size, extraColumns: catalog.extraColumns)
    let depth = 3  // blocks in flight: one being read, up to two waiting for or in the writer
    let buffers = (0..<depth).map { _ in SendablePointer(.allocate(capacity: blockSize * pixels)) }
    let outcomes = (0..<depth).map { _ in OutcomeBox<StampRead, CutoutProblem>(count: blockSize) }
    let free = DispatchSemaphore(value: buffers.count)
    let writerQueue = DispatchQueue(label: "photoz.ingest.write")
    defer {
        writerQueue.sync {}
        buffers.forEach { $0.pointer.deallocate() }
    }
    do {
        for (number, blockStart) in stride(from: 0, to: work.count, by: blockSize).enumerated() {
            free.wait()
            // Give the buffer back before stopping: libdispatch traps when a semaphore is
            // released below its initial value (ingest died with SIGILL on a full disk).
            if sink.failed { free.signal(); break }
            let items = Array(work[blockStart..<min(blockStart + blockSize, work.count)])
            let base = buffers[number % depth], slots = outcomes[number % depth]
            // Each split's objects get one run of the buffer, so that the writers take their
            // images from it as they are.
            let placement = BlockPlacement(items.map { config.split.split(of: $0.entry.objectID) })
            DispatchQueue.concurrentPerform(iterations: min(threads, items.count)) { worker in
                for k in stride(from: worker, to: items.count, by: threads) {
                    let image = UnsafeMutableBufferPointer(start: base.pointer + placement.slot[k] * pixels, count: pixels)
                    do throws(CutoutProblem) {
                        let read = try reader.readStamp(files: items[k].files, into: image)
                        slots.set(k, .success(StampRead(filled: read.filled, wcs: read.wcs)))
                    } catch {
                        slots.set(k, .failure(error))
                    }
                }
            }
            let done = blockStart + items.count, total = work.count
            writerQueue.async {
                sink.consume(items.map(\.entry), images: UnsafeMutableBufferPointer(start: base.pointer, count: items.count * pixels),
                             placement: placement, outcomes: slots)
                progress?(done, total)
                free.signal()
            }
        }
        writerQueue.sync {}
        try sink.finish()
    } catch {
        writer.abandon()
        throw error
    }
    skipped += sink.skipped
    let filled = sink.filled
    phases["cutouts"] = Date().timeIntervalSince(start) - phases["catalog"]!

    let ingested = sink.rows
    guard ingested > 0 else {
        writer.abandon()
        let reasons = Dictionary(grouping: skipped, by: \.reason).map { "\($0.value.count) \($0.key.rawValue)" }.sorted().joined(separator: ", ")
        let example = skipped.first.map { " First: \($0.file ?? "row \($0.row ?? 0)"): \($0.detail)" } ?? ""
        throw PhotoZDataError.catalog(path: config.catalog, message: "no object could be ingested (\(catalog.entries.count + catalog.skipped.count) catalog rows; skipped: \(reasons.isEmpty ? "none" : reasons)).\(example)")
    }

    // Report, then the writer's checksums, manifest and move into place.
    try writeSkippedReport(skipped, to: writer.stagedPath(reportName), catalogRows: catalog.rowCount)
    let manifest = try writer.finish { _ in
        var m = Manifest(imageSize: config.size, splitFractions: config.split, compression: config.compression.description, inputs: inputs,
                         rows: [:], skipped: skipped.count, skippedReport: reportName, shards: [])
        if let previous { m.splitRule = previous.splitRule(m.splitRule) }
        return m
    }
    let seconds = Date().timeIntervalSince(start)
    phases["finish"] = seconds - phases["catalog"]! - phases["cutouts"]!
    phases["sync"] = writer.durabilitySyncSeconds
    var summary = IngestSummary(
        output: output.path, layout: index.layout, rows: manifest.rows, ingested: ingested,
        skipped: Dictionary(grouping: skipped, by: \.reason.rawValue).mapValues(\.count),
        skippedReport: writer.finalPath(reportName), shards: manifest.shards.count,
        bytes: manifest.shards.reduce(0) { $0 + $1.bytes }, seconds: seconds, nonFinitePixelsFilled: filled,
        unlabelled: sink.unlabelled, ebvSource: catalog.columnsUsed["ebv"] ?? "", withoutWCS: sink.withoutWCS, appendedTo: previous?.reader.rows(in: nil))
    summary.phases = phases
    return summary
}

/// What reading one object's cutout gave besides its pixels.
struct StampRead: Sendable {
    var filled: Int
    var wcs: StampWCS?
}

/// Where the objects of a block go in its buffer: the objects of each split in one run, in
/// block order (train first, then valid, then test).
struct BlockPlacement: Sendable {
    let splits: [Split]
    /// The image slot of each object of the block.
    let slot: [Int]
    /// The first slot of each split's run, and the run's length.
    let start: [Int], count: [Int]

    init(_ splits: [Split]) {
        self.splits = splits
        var count = [Int](repeating: 0, count: Split.allCases.count)
        for split in splits { count[split.index] += 1 }
        var start = [Int](repeating: 0, count: count.count)
        for i in start.indices.dropFirst() { start[i] = start[i - 1] + count[i - 1] }
        var next = start
        slot = splits.map { split in
            defer { next[split.index] += 1 }
            return next[split.index]
        }
        self.start = start
        self.count = count
    }
}

/// The writing side of ingest: hands each split's run of a block to its writer, without the
/// objects that could not be read, and collects the skipped objects. Runs on one thread at a
/// time (the writer queue); the first error stops it.
final class IngestSink: @unchecked Sendable {
    private let writer: DataSetWriter
    private let pixelsPerImage: Int
    private let imageSize: Int
    private(set) var skipped: [SkippedObject] = []
    private(set) var filled = 0
    private(set) var rows = 0
    private(set) var unlabelled = 0
    /// Rows whose cutout had no equatorial celestial WCS (stored as NaN).
    private(set) var withoutWCS = 0
    /// One per split, refilled for each block: every column but `images`, which stay in the block's buffer.
    private var batches: [ShardRows] = []
    private let lock = NSLock()
    private var error: Error?

    private let extraColumns: [ShardColumn]

    init(writer: DataSetWriter, pixelsPerImage: Int, imageSize: Int, extraColumns: [ShardColumn] = []) {
        self.extraColumns = extraColumns
        self.writer = writer
        self.pixelsPerImage = pixelsPerImage
        self.imageSize = imageSize
    }

    var failed: Bool { lock.lock(); defer { lock.unlock() }; return error != nil }

    /// Adds one block: `images` holds the block's objects where `placement` put them,
    /// `outcomes` says which were read. The images of skipped objects are squeezed out of their
    /// split's run in place.
    func consume(_ entries: [CatalogEntry], images: UnsafeMutableBufferPointer<Float>, placement: BlockPlacement,
                 outcomes: OutcomeBox<StampRead, CutoutProblem>) {
        guard !failed else { return }
        if batches.isEmpty {
            let columns = (ShardSchema.requiredColumns + [ShardSchema.labelled, ShardSchema.wcs].map { ShardSchema.column($0)! })
                .filter { $0.name != ShardSchema.images } + extraColumns
            batches = Split.allCases.map { _ in ShardRows(imageSize: imageSize, columns: columns, capacity: entries.count) }
        }
        defer { for i in batches.indices { batches[i].removeAll() } }  // reused: no fresh pages to fault in per block
        for (k, entry) in entries.enumerated() {
            let s = placement.splits[k].index
            switch outcomes.get(k) {
            case let .success(read)?:
                filled += read.filled
                let kept = placement.start[s] + batches[s].count
                if kept != placement.slot[k] {  // an earlier object of the split was skipped
                    (images.baseAddress! + kept * pixelsPerImage).update(from: images.baseAddress! + placement.slot[k] * pixelsPerImage,
                                                                          count: pixelsPerImage)
                }
                batches[s].append(entry)
                batches[s][float64: ShardSchema.wcs].append(contentsOf: read.wcs?.values ?? StampWCS.none)
                if read.wcs == nil { withoutWCS += 1 }
                if !entry.labelled { unlabelled += 1 }
            case let .failure(problem)?:
                skipped.append(SkippedObject(objectID: entry.objectID, row: entry.row, file: problem.file, reason: problem.reason, detail: problem.detail))
            case nil:
                preconditionFailure("ingest: object \(k) of the block was not read")
            }
        }
        do {
            for (s, (split, batch)) in zip(Split.allCases, batches).enumerated() where batch.count > 0 {
                let run = UnsafeBufferPointer(rebasing: images[placement.start[s] * pixelsPerImage..<(placement.start[s] + batch.count) * pixelsPerImage])
                try writer.append(batch, images: run, split: split)
                rows += batch.count
            }
        } catch {
            lock.lock()
            self.error = error
            lock.unlock()
        }
    }

    /// Throws the first error.
    func finish() throws {
        if let error { throw error }
    }
}

extension ShardRows {
    /// Appends a catalog object's columns (rows without `images`: the images travel beside them).
    mutating func append(_ entry: CatalogEntry) {
        objectID.append(entry.objectID)
        ra.append(entry.ra)
        dec.append(entry.dec)
        zSpec.append(entry.zSpec)
        zSpecErr.append(entry.zSpecErr)
        ebv.append(entry.ebv)
        if holds(ShardSchema.labelled) { self[int64: ShardSchema.labelled].append(entry.labelled ? 1 : 0) }
        // The catalog columns kept, in the order of the entry's values (both follow Catalog.extraColumns).
        for (c, value) in zip(columns.filter(\.isCatalogColumn), entry.extras) {
            switch value {
            case let .int(v): self[int64: c.name].append(v)
            case let .real(v): self[float64: c.name].append(v)
            }
        }
    }
}

/// Catalog-level reasons listed as one summary line each when they are more than this many
/// rows and most of the catalog: a specObj file has millions of rows for a few thousand
/// cutouts, and a report of millions of "no cutout" lines helps nobody.
let skippedSummaryThreshold = 1000

/// Writes the skipped objects as CSV: object_id, catalog_row, reason, file, detail. Rows
/// skipped for a catalog-level reason (no cutout, not selected, no redshift) that are most of
/// the catalog are summarised in one line per reason (count and the first ids in `detail`).
func writeSkippedReport(_ skipped: [SkippedObject], to path: String, catalogRows: Int = 0) throws {
    var text = "object_id,catalog_row,reason,file,detail\n"
    let summarised: Set<SkipReason> = [.missingCutout, .notSelected, .missingRedshift]
    let counts = Dictionary(grouping: skipped.filter { summarised.contains($0.reason) }, by: \.reason).mapValues(\.count)
    let folded = Set(counts.filter { $0.value > skippedSummaryThreshold && 2 * $0.value > catalogRows }.keys)
    for reason in SkipReason.allCases where folded.contains(reason) {
        let rows = skipped.filter { $0.reason == reason }
        let first = rows.prefix(5).map { "\($0.objectID.map(String.init) ?? "?") (row \($0.row ?? 0))" }.joined(separator: ", ")
        let detail = "\(rows.count) of \(catalogRows) catalog rows (summarised); first: \(first); e.g. \(rows[0].detail)"
        text += ["", "", reason.rawValue, "", detail].map(csvQuote).joined(separator: ",") + "\n"
    }
    for s in skipped where !folded.contains(s.reason) {
        let fields = [s.objectID.map(String.init) ?? "", s.row.map(String.init) ?? "", s.reason.rawValue, s.file ?? "", s.detail]
        text += fields.map(csvQuote).joined(separator: ",") + "\n"
    }
    try writeAtomically(Data(text.utf8), to: path)
}

func csvQuote(_ field: String) -> String {
    field.contains(where: { ",\"\n".contains($0) }) ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
}

/// JSON text of an encodable value, keys sorted, for provenance attributes and `--json`.
/// Non-finite numbers are written as the strings "nan", "inf" and "-inf".
public func jsonText<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    do {
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    } catch {
        preconditionFailure("cannot encode \(T.self) as JSON: \(error)")
    }
}

extension Split {
    var index: Int { Split.allCases.firstIndex(of: self)! }
}

/// A raw pointer handed to worker threads that write disjoint parts of one buffer.
struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}

/// Per-slot results written by worker threads (each slot by one thread), read after they join.
final class OutcomeBox<Value: Sendable, Failure: Error>: @unchecked Sendable {
    private var slots: [Result<Value, Failure>?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ k: Int, _ value: Result<Value, Failure>) { lock.lock(); slots[k] = value; lock.unlock() }
    func get(_ k: Int) -> Result<Value, Failure>? { lock.lock(); defer { lock.unlock() }; return slots[k] }
}

extension ShardRows {
    /// Appends one catalog object with its image (5 × S × S floats in nanomaggies).
    public mutating func append(entry: CatalogEntry, image: UnsafeBufferPointer<Float>) {
        precondition(image.count == pixelsPerImage, "image must hold 5 × S × S floats")
        images.append(contentsOf: image)
        append(entry)
    }
}
