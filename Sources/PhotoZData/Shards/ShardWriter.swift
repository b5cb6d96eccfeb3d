import Foundation
import HDF5
import SafeOutput

/// Provenance and settings written as root attributes of a shard.
public struct ShardAttributes: Sendable {
    public var imageSize: Int = Survey.cutoutSize
    public var extinction: ExtinctionCoefficients = .sfd98
    /// Band names in the order of axis 1 of `images` (`ShardSchema.knownBandSets`); converted
    /// HSC data are g,r,i,z,y and must never be labelled u,g,r,i,z.
    public var bands: [String] = Band.allCases.map(\.rawValue)
    /// Arcseconds per pixel (SDSS 0.396, HSC 0.168).
    public var pixelScale: Double = Survey.pixelScale
    public var split: Split?
    /// JSON text describing the inputs (catalog and cutouts with checksums, source shards…).
    public var inputs: String = "{}"
    /// JSON text of the full configuration of the stage that wrote the shard.
    public var configuration: String = "{}"
    /// Extra attributes, e.g. the attack settings of an adversarial shard.
    public var extra: [String: HDF5AttributeValue] = [:]

    public init() {}
}

/// Writes one shard: `begin` (the initialiser) → `append` rows → `finish`. Used by
/// `DataSetWriter`, which owns the folder, the names and the checksums; callers write data
/// sets through it.
///
/// The file is written in place, under its final name: its one caller, `DataSetWriter`, writes
/// shards inside its private staging folder (`SafeOutput.StagedFolder`), which becomes the data
/// set only once every shard is finished and is removed otherwise, so a run killed half-way
/// never leaves a shard that looks complete where a user looks (SafeOutput owns that guarantee;
/// a second temporary name here duplicated it). A writer released or abandoned before `finish`
/// removes its file. Rows are buffered and written in whole chunks, which lets the HDF5 layer
/// compress them on all cores.
///
/// Given the number of rows it will most likely hold (`plannedRows`), an uncompressed shard
/// reserves its storage at creation and computes its SHA-256 while it is written (`sha256`),
/// so that nobody has to read the file back to hash it. Fewer rows than planned are fine: the
/// datasets shrink at `finish`, and `sha256` is nil then.
final class ShardWriter {
    let path: String
    /// The columns written: the required ones and the optional ones asked for, in table order.
    let columns: [ShardColumn]
    private let file: HDF5File
    private let images: HDF5Dataset
    private let datasets: [String: HDF5Dataset]
    private var pending: ShardRows
    private let flushRows: Int
    private(set) var rows = 0
    /// Rows the datasets have room for (their extent along dim 0).
    private var extent: Int
    private let plannedRows: Int
    private let streamingHash: StreamingFileHash?
    /// Whether whole chunks are written from the caller's rows (no compression to batch for).
    private let writesDirectly: Bool
    /// The finished file's SHA-256 when it was computed while writing, else nil.
    private(set) var sha256: String?
    private var finished = false
    /// Write-back of the rows written so far is started after each batch, so that the data
    /// set's one `syncfs` before its swap (SafeOutput) does not wait for the whole shard.
    let writeBack: WriteBack?

    /// Starts a shard at `path` (which must not exist), inside a staging folder.
    init(path: String, attributes: ShardAttributes, compression: HDF5Compression = .gzip(level: 4),
         optionalColumns: [ShardColumn] = [], plannedRows: Int? = nil, earlyWriteBack: Bool = WriteBack.enabled) throws {
        if FileManager.default.fileExists(atPath: path) { throw PhotoZDataError.outputExists(path: path) }
        precondition(optionalColumns.allSatisfy { $0.presence == .optional }, "optionalColumns lists a required column")
        self.path = path
        file = try HDF5File.create(path, mode: .exclusive)
        writeBack = earlyWriteBack ? WriteBack(path: path) : nil
        let size = attributes.imageSize
        let columns = ShardSchema.columns.filter { $0.presence == .required || optionalColumns.contains($0) }
            + optionalColumns.filter(\.isCatalogColumn)
        self.columns = columns
        let shuffle = compression != .none
        // Direct chunk writes and reserved storage only for the plain layout ingest writes.
        let plain = compression == .none && optionalColumns.allSatisfy { $0.shape != .image }  // (per-row values ride along like the required scalars)
        let planned = plain ? max(plannedRows ?? 0, 0) : 0
        let reserve = planned > 0
        self.plannedRows = planned
        writesDirectly = plain
        extent = planned
        let root = file.root
        if columns.contains(where: \.isCatalogColumn) { _ = try root.createGroup(ShardColumn.catalogGroup) }
        // In table order, images first: with reserved storage their chunks come right after the
        // first metadata block, in row order, ahead of everything else in the file.
        var datasets: [String: HDF5Dataset] = [:]
        for c in columns {
            let shape = c.shape.datasetShape(rows: planned, imageSize: size)
            var maxShape: [Int?] = shape
            maxShape[0] = nil
            let chunks = c.shape == .image ? c.shape.datasetShape(rows: ShardSchema.chunkRows, imageSize: size)
                : c.shape.datasetShape(rows: ShardSchema.columnChunkRows, imageSize: size)
                        let d: HDF5Dataset = switch c.kind {
            case .float32: try root.createDataset(c.name, of: Float.self, shape: shape, maxShape: maxShape, chunks: chunks, compression: compression, shuffle: shuffle, reserveStorage: reserve)
            case .float64: try root.createDataset(c.name, of: Double.self, shape: shape, maxShape: maxShape, chunks: chunks, compression: compression, shuffle: shuffle, reserveStorage: reserve)
            case .int64: try root.createDataset(c.name, of: Int64.self, shape: shape, maxShape: maxShape, chunks: chunks, compression: compression, shuffle: shuffle, reserveStorage: reserve)
            }
            if !c.unit.isEmpty { try d.setAttribute("unit", .string(c.unit)) }
            if let categories = c.categories { try d.setAttribute("categories", .strings(categories)) }
            datasets[c.name] = d
        }
        self.datasets = datasets
        images = datasets[ShardSchema.images]!
        pending = ShardRows(imageSize: size, columns: columns, capacity: 2 * 16 * ShardSchema.chunkRows)
        flushRows = 16 * ShardSchema.chunkRows
        try Self.writeRootAttributes(root, attributes)
        var streamingHash: StreamingFileHash?
        if reserve {
            // All metadata is in the file from here on; the image chunks are then hashed as
            // they are written, in file order (see StreamingFileHash).
            try root.setAttribute(ShardSchema.Attribute.rows, .int64(Int64(planned)))
            try file.flush()
            streamingHash = StreamingFileHash(path: path, chunks: try images.chunkLocations())
            if let streamingHash { images.onDirectChunkWrite = { streamingHash.chunkWritten($0, $1) } }
        }
        self.streamingHash = streamingHash
    }

    deinit {
        if !finished { try? file.close(); try? FileManager.default.removeItem(atPath: path) }
    }

    /// Adds rows; `rows` must hold every column of `columns`.
    func append(_ batch: ShardRows) throws {
        precondition(!finished, "append after finish")
        if writesDirectly {
            return try batch.images.withUnsafeBufferPointer { try append(batch, images: $0) }
        }
        pending.append(rows: 0..<batch.count, of: batch)
        if pending.count >= flushRows { try flush(all: false) }
    }

    /// Appends the rows of `batch`, which holds every column but `images`, with their images
    /// from `rowImages`. Uncompressed shards, and compressed ones given at least `flushRows` rows,
    /// write whole chunks straight from `rowImages`; only a partial chunk's rows wait in memory
    /// for the next rows.
    func append(_ batch: ShardRows, images rowImages: UnsafeBufferPointer<Float>) throws {
        precondition(!finished, "append after finish")
        precondition(rowImages.count == batch.count * batch.pixelsPerImage, "one image per row")
        let k = ShardSchema.chunkRows
        guard writesDirectly else {
            // Compressed: small batches wait until enough chunks compress in parallel. A batch of
            // that many rows or more (convert's blocks, merge's batches) is compressed straight
            // from the caller's rows once the waiting ones fill a chunk (copying it into `pending`
            // first copied every image once more), in groups of up to 64 MiB of chunks.
            guard batch.count >= flushRows else {
                pending.append(rows: 0..<batch.count, of: batch, images: rowImages)
                if pending.count >= flushRows { try flush(all: false) }
                return
            }
            var start = 0
            if pending.count > 0 {
                start = (k - pending.count % k) % k
                pending.append(rows: 0..<start, of: batch, images: rowImages)
                try flush(all: false)  // whole chunks: all of them
            }
            let whole = (batch.count - start) / k * k
            try write(batch, start..<start + whole, images: rowImages)
            pending.append(rows: start + whole..<batch.count, of: batch, images: rowImages)
            return
        }
        var start = 0
        if pending.count > 0 {  // complete the waiting chunk first
            start = min(batch.count, k - pending.count)
            pending.append(rows: 0..<start, of: batch, images: rowImages)
            guard pending.count == k else { return }
            try flush(all: true)
        }
        let whole = (batch.count - start) / k * k
        try write(batch, start..<start + whole, images: rowImages)
        pending.append(rows: start + whole..<batch.count, of: batch, images: rowImages)
    }

    /// Writes what is buffered and closes the file.
    @discardableResult
    func finish() throws -> Int {
        try flush(all: true)
        let asPlanned = plannedRows > 0 && rows == plannedRows
        if rows != extent { try setExtent(rows) }
        if !asPlanned { try file.root.setAttribute(ShardSchema.Attribute.rows, .int64(Int64(rows))) }  // else set at creation
        let chunksAtClose = asPlanned && streamingHash != nil ? try images.chunkLocations() : []
        try file.close()
        writeBack?.start()  // the metadata written at close
        writeBack?.close()
        finished = true
        sha256 = asPlanned ? streamingHash?.finish(chunksAtClose: chunksAtClose) : nil
        return rows
    }

    /// Replaces a root attribute of the unfinished shard (`inputs`, once a checksum of the inputs
    /// is known). A streaming hash stays correct: `StreamingFileHash.finish` re-reads the bytes
    /// before the image chunks and gives nil (the file is then hashed whole) if they changed.
    func replaceRootAttribute(_ name: String, _ value: HDF5AttributeValue) throws {
        precondition(!finished, "attribute replaced after finish")
        try file.root.setAttribute(name, value)
    }

    /// Stops without keeping anything.
    func abandon() {
        guard !finished else { return }
        finished = true
        try? file.close()
        try? FileManager.default.removeItem(atPath: path)
    }

    private func flush(all: Bool) throws {
        let n = all ? pending.count : pending.count / ShardSchema.chunkRows * ShardSchema.chunkRows
        guard n > 0 else { return }
        // Rows 0..<n go straight from the buffers; the few rows after them stay for the next flush.
        try pending.images.withUnsafeBufferPointer { try write(pending, 0..<n, images: $0) }
        pending.discardFirst(n)
    }

    /// Writes rows `part` of `source` (images from `rowImages`, holding the rows of `source`;
    /// every other column from `source`) after the rows written so far.
    private func write(_ source: ShardRows, _ part: Range<Int>, images rowImages: UnsafeBufferPointer<Float>) throws {
        let n = part.count
        guard n > 0 else { return }
        if rows + n > extent { try setExtent(rows + n) }
        let target = rows..<rows + n
        let p = source.pixelsPerImage
        try images.writeRows(target, from: UnsafeBufferPointer(rebasing: rowImages[part.lowerBound * p..<part.upperBound * p]))
        for c in columns where c.name != ShardSchema.images {
            let dataset = datasets[c.name]!
            try source.withBytes(of: c, rows: part) { buffer in
                switch buffer {
                case let .float32(b): try dataset.writeRows(target, from: b)
                case let .float64(b): try dataset.writeRows(target, from: b)
                case let .int64(b): try dataset.writeRows(target, from: b)
                }
            }
        }
        rows += n
        writeBack?.start()
    }

    /// Grows or shrinks every dataset to `newExtent` rows.
    private func setExtent(_ newExtent: Int) throws {
        for dataset in datasets.values { try dataset.resize(rows: newExtent) }
        extent = newExtent
    }

    private static func writeRootAttributes(_ root: HDF5Group, _ a: ShardAttributes) throws {
        typealias A = ShardSchema.Attribute
        try root.setAttribute(A.schema, .string(ShardSchema.name))
        try root.setAttribute(A.schemaVersion, .int64(ShardSchema.version))
        try root.setAttribute(A.schemaMinorVersion, .int64(ShardSchema.minorVersion))
        try root.setAttribute(A.bands, .strings(a.bands))
        try root.setAttribute(A.imageSize, .int64(Int64(a.imageSize)))
        try root.setAttribute(A.pixelScale, .double(a.pixelScale))
        try root.setAttribute(A.pixelScaleUnit, .string("arcsec/pixel"))
        try root.setAttribute(A.fluxUnit, .string(Survey.fluxUnit))
        try root.setAttribute(A.extinctionCoefficients, .string(a.extinction.name))
        try root.setAttribute(A.extinctionValues, .doubles(a.extinction.values))
        if let split = a.split { try root.setAttribute(A.split, .string(split.rawValue)) }
        try root.setAttribute(A.tool, .string("photoz"))
        try root.setAttribute(A.toolVersion, .string(PhotoZVersion.current))
        try root.setAttribute(A.created, .string(isoTimestamp()))
        try root.setAttribute(A.inputs, .string(a.inputs))
        try root.setAttribute(A.configuration, .string(a.configuration))
        for (name, value) in a.extra.sorted(by: { $0.key < $1.key }) { try root.setAttribute(name, value) }
    }
}
