import Foundation
import HDF5

/// Provenance and settings written as root attributes of a shard.
public struct ShardAttributes: Sendable {
    public var imageSize: Int = Survey.cutoutSize
    public var extinction: ExtinctionCoefficients = .sfd98
    public var split: Split?
    /// JSON text describing the inputs (catalog and cutouts with checksums, source shards…).
    public var inputs: String = "{}"
    /// JSON text of the full configuration of the stage that wrote the shard.
    public var configuration: String = "{}"
    /// Extra attributes, e.g. the attack settings of an adversarial shard.
    public var extra: [String: HDF5AttributeValue] = [:]

    public init() {}
}

/// Writes one shard: `begin` (the initialiser) → `append` batches → `finish`.
///
/// The file is written under a temporary name in the target folder and renamed only by
/// `finish`, so a run killed half-way never leaves a file that looks complete. Rows are
/// buffered and written in whole chunks, which lets the HDF5 layer compress them on all cores.
///
/// Given the number of rows it will most likely hold (`plannedRows`), an uncompressed shard
/// reserves its storage at creation and computes its SHA-256 while it is written (`sha256`),
/// so that nobody has to read the file back to hash it. Fewer rows than planned are fine: the
/// datasets shrink at `finish`, and `sha256` is nil then.
public final class ShardWriter {
    public let path: String
    public let temporaryPath: String
    private let file: HDF5File
    private let images: HDF5Dataset
    private let columns: [String: HDF5Dataset]
    private var pending: ShardBatch
    private let flushRows: Int
    private let withPerturbation: Bool
    private var perturbation: HDF5Dataset?
    private var pendingPerturbation: [Float] = []
    public private(set) var rows = 0
    /// Rows the datasets have room for (their extent along dim 0).
    private var extent: Int
    private let plannedRows: Int
    private let streamingHash: StreamingFileHash?
    /// Whether whole chunks are written from the caller's rows (no compression to batch for).
    private let writesDirectly: Bool
    /// The finished file's SHA-256 when it was computed while writing, else nil.
    public private(set) var sha256: String?
    private var finished = false

    /// Starts a shard at `path` (which must not exist unless `overwrite`).
    public init(path: String, attributes: ShardAttributes, compression: HDF5Compression = .gzip(level: 4),
                overwrite: Bool = false, withPerturbation: Bool = false, plannedRows: Int? = nil) throws {
        if FileManager.default.fileExists(atPath: path) && !overwrite { throw PhotoZDataError.outputExists(path: path) }
        self.path = path
        let url = URL(fileURLWithPath: path)
        temporaryPath = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        try? FileManager.default.removeItem(atPath: temporaryPath)
        file = try HDF5File.create(temporaryPath, mode: .exclusive)
        let size = attributes.imageSize
        let shuffle = compression != .none
        let planned = compression == .none && !withPerturbation ? max(plannedRows ?? 0, 0) : 0
        let reserve = planned > 0
        self.plannedRows = planned
        writesDirectly = compression == .none && !withPerturbation
        extent = planned
        let root = file.root
        // Images first: with reserved storage their chunks come right after the first metadata
        // block, in row order, ahead of everything else in the file.
        images = try root.createDataset(ShardSchema.images, of: Float.self, shape: [planned, 5, size, size], maxShape: [nil, 5, size, size],
                                        chunks: [ShardSchema.chunkRows, 5, size, size], compression: compression, shuffle: shuffle,
                                        reserveStorage: reserve)
        var columns: [String: HDF5Dataset] = [:]
        for (name, kind, _) in ShardSchema.datasets where name != ShardSchema.images {
            let chunk = [ShardSchema.columnChunkRows]
            switch kind {
            case .float32: columns[name] = try root.createDataset(name, of: Float.self, shape: [planned], maxShape: [nil], chunks: chunk, compression: compression, shuffle: shuffle, reserveStorage: reserve)
            case .float64: columns[name] = try root.createDataset(name, of: Double.self, shape: [planned], maxShape: [nil], chunks: chunk, compression: compression, shuffle: shuffle, reserveStorage: reserve)
            case .int64: columns[name] = try root.createDataset(name, of: Int64.self, shape: [planned], maxShape: [nil], chunks: chunk, compression: compression, shuffle: shuffle, reserveStorage: reserve)
            }
        }
        self.columns = columns
        for (name, _, unit) in ShardSchema.datasets where !unit.isEmpty {
            try (name == ShardSchema.images ? images : columns[name]!).setAttribute("unit", .string(unit))
        }
        self.withPerturbation = withPerturbation
        if withPerturbation {
            perturbation = try root.createDataset(ShardSchema.perturbation, of: Float.self, shape: [0, 5, size, size], maxShape: [nil, 5, size, size],
                                                  chunks: [ShardSchema.chunkRows, 5, size, size], compression: compression, shuffle: shuffle)
            try perturbation!.setAttribute("unit", .string(Survey.fluxUnit))
        }
        pending = ShardBatch(imageSize: size, capacity: 2 * 16 * ShardSchema.chunkRows)
        flushRows = 16 * ShardSchema.chunkRows
        try Self.writeRootAttributes(root, attributes)
        var streamingHash: StreamingFileHash?
        if reserve {
            // All metadata is in the file from here on; the image chunks are then hashed as
            // they are written, in file order (see StreamingFileHash).
            try root.setAttribute(ShardSchema.Attribute.rows, .int64(Int64(planned)))
            try file.flush()
            streamingHash = StreamingFileHash(path: temporaryPath, chunks: try images.chunkLocations())
            if let streamingHash { images.onDirectChunkWrite = { streamingHash.chunkWritten($0, $1) } }
        }
        self.streamingHash = streamingHash
    }

    deinit {
        if !finished { try? file.close(); try? FileManager.default.removeItem(atPath: temporaryPath) }
    }

    /// Adds rows; `perturbation` (same layout as `batch.images`) is required for adversarial shards.
    public func append(_ batch: ShardBatch, perturbation delta: [Float]? = nil) throws {
        precondition(!finished, "append after finish")
        precondition(withPerturbation == (delta != nil), "perturbation must be given exactly when the shard was created with one")
        if writesDirectly {
            return try batch.images.withUnsafeBufferPointer { try append(batch, images: $0) }
        }
        pending.images += batch.images
        pending.objectID += batch.objectID
        pending.ra += batch.ra
        pending.dec += batch.dec
        pending.zSpec += batch.zSpec
        pending.zSpecErr += batch.zSpecErr
        pending.ebv += batch.ebv
        if let delta { pendingPerturbation += delta }
        if pending.count >= flushRows { try flush(all: false) }
    }

    /// Appends the rows of `batch` whose images are `rowImages` (`batch.images` is not used).
    /// Uncompressed shards write whole chunks straight from `rowImages`; only a partial chunk's
    /// rows wait in memory for the next rows.
    func append(_ batch: ShardBatch, images rowImages: UnsafeBufferPointer<Float>) throws {
        precondition(!finished, "append after finish")
        precondition(rowImages.count == batch.count * batch.pixelsPerImage, "one image per row")
        guard writesDirectly else {  // compressed: rows wait until enough chunks compress in parallel
            precondition(!withPerturbation, "perturbation must be given exactly when the shard was created with one")
            pending.append(rows: 0..<batch.count, of: batch, images: rowImages)
            if pending.count >= flushRows { try flush(all: false) }
            return
        }
        let k = ShardSchema.chunkRows
        var start = 0
        if pending.count > 0 {  // complete the waiting chunk first
            start = min(batch.count, k - pending.count)
            pending.append(rows: 0..<start, of: batch, images: rowImages)
            guard pending.count == k else { return }
            try flush(all: true)
        }
        let whole = (batch.count - start) / k * k
        try write(batch, start..<start + whole, images: rowImages, perturbation: nil)
        pending.append(rows: start + whole..<batch.count, of: batch, images: rowImages)
    }

    /// Writes what is buffered, closes the file and gives it its final name.
    @discardableResult
    public func finish() throws -> Int {
        try flush(all: true)
        let asPlanned = plannedRows > 0 && rows == plannedRows
        if rows != extent { try setExtent(rows) }
        if !asPlanned { try file.root.setAttribute(ShardSchema.Attribute.rows, .int64(Int64(rows))) }  // else set at creation
        let chunksAtClose = asPlanned && streamingHash != nil ? try images.chunkLocations() : []
        try file.close()
        finished = true
        sha256 = asPlanned ? streamingHash?.finish(chunksAtClose: chunksAtClose) : nil
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        do { try FileManager.default.moveItem(atPath: temporaryPath, toPath: path) } catch {
            throw PhotoZDataError.io(path: path, message: "cannot rename \(temporaryPath) to its final name: \(error.localizedDescription)")
        }
        return rows
    }

    /// Stops without keeping anything.
    public func abandon() {
        guard !finished else { return }
        finished = true
        try? file.close()
        try? FileManager.default.removeItem(atPath: temporaryPath)
    }

    private func flush(all: Bool) throws {
        let n = all ? pending.count : pending.count / ShardSchema.chunkRows * ShardSchema.chunkRows
        guard n > 0 else { return }
        // Rows 0..<n go straight from the buffers; the few rows after them stay for the next flush.
        try pending.images.withUnsafeBufferPointer { rowImages in
            try pendingPerturbation.withUnsafeBufferPointer { delta in
                try write(pending, 0..<n, images: rowImages, perturbation: perturbation == nil ? nil : delta)
            }
        }
        if perturbation != nil { pendingPerturbation.removeFirst(n * pending.pixelsPerImage) }
        pending.discardFirst(n)
    }

    /// Writes rows `part` of `source` (images from `rowImages`, perturbations from `delta`,
    /// both holding the rows of `source`) after the rows written so far.
    private func write(_ source: ShardBatch, _ part: Range<Int>, images rowImages: UnsafeBufferPointer<Float>,
                       perturbation delta: UnsafeBufferPointer<Float>?) throws {
        let n = part.count
        guard n > 0 else { return }
        if rows + n > extent { try setExtent(rows + n) }
        let target = rows..<rows + n
        func put<T: HDF5Scalar>(_ values: UnsafeBufferPointer<T>, _ perRow: Int, into dataset: HDF5Dataset) throws {
            try dataset.writeRows(target, from: UnsafeBufferPointer(rebasing: values[part.lowerBound * perRow..<part.upperBound * perRow]))
        }
        func put<T: HDF5Scalar>(_ values: [T], into name: String) throws {
            try values.withUnsafeBufferPointer { try put($0, 1, into: columns[name]!) }
        }
        try put(rowImages, source.pixelsPerImage, into: images)
        try put(source.objectID, into: ShardSchema.objectID)
        try put(source.ra, into: ShardSchema.ra)
        try put(source.dec, into: ShardSchema.dec)
        try put(source.zSpec, into: ShardSchema.zSpec)
        try put(source.zSpecErr, into: ShardSchema.zSpecErr)
        try put(source.ebv, into: ShardSchema.ebv)
        if let delta, let perturbation { try put(delta, source.pixelsPerImage, into: perturbation) }
        rows += n
    }

    /// Grows or shrinks every dataset to `newExtent` rows.
    private func setExtent(_ newExtent: Int) throws {
        try images.resize(rows: newExtent)
        for dataset in columns.values { try dataset.resize(rows: newExtent) }
        try perturbation?.resize(rows: newExtent)
        extent = newExtent
    }

    private static func writeRootAttributes(_ root: HDF5Group, _ a: ShardAttributes) throws {
        typealias A = ShardSchema.Attribute
        try root.setAttribute(A.schema, .string(ShardSchema.name))
        try root.setAttribute(A.schemaVersion, .int64(ShardSchema.version))
        try root.setAttribute(A.bands, .strings(Band.allCases.map(\.rawValue)))
        try root.setAttribute(A.imageSize, .int64(Int64(a.imageSize)))
        try root.setAttribute(A.pixelScale, .double(Survey.pixelScale))
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
