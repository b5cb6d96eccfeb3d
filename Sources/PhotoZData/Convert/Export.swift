import Foundation
import HDF5
import SafeOutput

// `photoz export`: a data set → the layout of the Pasquet et al. or Hayat et al. code, one
// file written under a temporary name and renamed (SafeOutput), rows streamed in batches in
// increasing object id (`split` limits it to one split).
//
// Why object id order: shards keep rows by split, so data-set order (train, valid, test) is not
// the order of the file a data set came from, and no column records that order. The id is the
// one order every data set has and every stage (select, split, merge, append) keeps meaning:
// a converted npz without ids got object_id = its row index, so convert then export gives the
// npz back row for row, bit for bit, whatever the split scheme; a source listed by id (and
// every file export writes) comes back in its order too.

/// The layouts `photoz export` writes.
public enum ExportFormat: String, Codable, Sendable, CaseIterable {
    /// `data` (N, S, S, 5) float32 channels last, `z`, `ebv`, `object_id`, plus `ra`, `dec`, `z_err`
    /// unless the data set's source lacked them (`AbsentColumns`).
    case pasquetNPZ = "pasquet-npz"
    /// `images` (N, 5, S, S) float32, `specz_redshift`, `specz_redshift_err`, `e_bv` (N, 5) =
    /// R × E(B−V) with the SFD98 R, `ObjID`, `ra`, `dec`.
    case hayat
}

public struct ExportConfiguration: Codable, Sendable {
    public var data: String
    public var format: ExportFormat
    public var out: String
    /// Only rows of this split; nil: all, train then valid then test.
    public var split: Split?
    public var batchRows = 256

    public init(data: String, format: ExportFormat, out: String) {
        self.data = data
        self.format = format
        self.out = out
    }

    /// The schema name recorded in a Hayat-layout export (its `--overwrite` recogniser).
    public static let hayatSchema = "photoz.export.hayat"
}

/// Writes the data set in `config.format`; returns the rows written.
public func exportCollection(_ config: ExportConfiguration, replacing: Replacement = .never, progress: ProgressHandler? = nil) throws -> Int {
    let reader = try DataSetReader(path: config.data)
    let bands = try reader.manifest?.bands ?? (reader.opened.first?.file.root.attribute(ShardSchema.Attribute.bands)?.stringsValue) ?? ShardSchema.sdssBands
    guard bands == ShardSchema.sdssBands else {
        throw PhotoZDataError.invalidOption("\(config.data) holds bands \(bands.joined(separator: ",")) but the \(config.format.rawValue) layout is u,g,r,i,z: photoz does not relabel bands (export only SDSS data sets to it)")
    }
    _ = try reader.requireRows(in: config.split, purpose: "an export")
    let order = try exportOrder(reader, split: config.split)
    let n = order.count
    let batches = ExportBatches(reader: reader, order: order, batchRows: config.batchRows)
    let s = reader.imageSize, plane = s * s
    // Placeholders convert wrote for a source without positions or errors are left out (ids
    // and E(B−V) stay: the layouts need them, and the manifest says what they are).
    let placeholders = AbsentColumns.of(reader), absent = placeholders.intersection(AbsentColumns.leftOut)
    let positions = !absent.contains("ra") && !absent.contains("dec"), errors = !absent.contains("z_spec_err")
    do {
        return try AtomicFile.write(to: config.out, replacing: replacing) { path in
            switch config.format {
            case .pasquetNPZ:
                // Images stream into `data`; the per-row values (24 bytes a row) are kept for the small arrays after it.
                let npz = try NpzWriter(path: path)
                try npz.begin("data", dtype: NumpyDType(kind: .float, size: 4), shape: [n, s, s, 5])
                var rows = ShardRows(imageSize: s, columns: ShardSchema.requiredColumns.filter { $0.name != ShardSchema.images }, capacity: n)
                var channelsLast = [Float](repeating: 0, count: config.batchRows * plane * 5)
                while let batch = try batches.next() {
                    let k = batch.count
                    batch.rows.images.withUnsafeBufferPointer { src in
                        channelsLast.withUnsafeMutableBufferPointer { dst in
                            for r in 0..<k {
                                let from = src.baseAddress! + r * plane * 5, to = dst.baseAddress! + r * plane * 5
                                for b in 0..<5 { for p in 0..<plane { to[p * 5 + b] = from[b * plane + p] } }
                            }
                        }
                    }
                    try channelsLast.withUnsafeBytes { try npz.write(UnsafeRawBufferPointer(rebasing: $0[0..<k * plane * 5 * 4])) }
                    rows.append(rows: 0..<k, of: batch.rows)
                    progress?(rows.count, n)
                }
                try npz.end()
                let f4 = NumpyDType(kind: .float, size: 4), f8 = NumpyDType(kind: .float, size: 8), i8 = NumpyDType(kind: .int, size: 8)
                try npz.array("z", dtype: f4, shape: [n], rows.zSpec)
                try npz.array("ebv", dtype: f4, shape: [n], rows.ebv)
                try npz.array("object_id", dtype: i8, shape: [n], rows.objectID)
                if positions {
                    try npz.array("ra", dtype: f8, shape: [n], rows.ra)
                    try npz.array("dec", dtype: f8, shape: [n], rows.dec)
                }
                if errors { try npz.array("z_err", dtype: f4, shape: [n], rows.zSpecErr) }
                try npz.finish()
            case .hayat:
                let file = try HDF5File.create(path)
                let root = file.root
                let images = try root.createDataset("images", of: Float.self, shape: [n, 5, s, s], chunks: [min(max(n, 1), ShardSchema.chunkRows), 5, s, s],
                                                    compression: .gzip(level: 4), shuffle: true)
                let z = try root.createDataset("specz_redshift", of: Float.self, shape: [n])
                let zErr = errors ? try root.createDataset("specz_redshift_err", of: Float.self, shape: [n]) : nil
                let extinction = try root.createDataset("e_bv", of: Float.self, shape: [n, 5])
                let ids = try root.createDataset("ObjID", of: Int64.self, shape: [n])
                let ra = positions ? try root.createDataset("ra", of: Double.self, shape: [n]) : nil
                let dec = positions ? try root.createDataset("dec", of: Double.self, shape: [n]) : nil
                let r = ExtinctionCoefficients.sfd98.values.map(Float.init)
                var at = 0
                while let batch = try batches.next() {
                    let k = batch.count, range = at..<at + k
                    let b = batch.rows
                    try b.images.withUnsafeBufferPointer { try images.writeRows(range, from: UnsafeBufferPointer(rebasing: $0[0..<k * 5 * plane])) }
                    try b.zSpec.withUnsafeBufferPointer { try z.writeRows(range, from: $0) }
                    if let zErr { try b.zSpecErr.withUnsafeBufferPointer { try zErr.writeRows(range, from: $0) } }
                    let a = (0..<k).flatMap { row in r.map { $0 * b.ebv[row] } }
                    try a.withUnsafeBufferPointer { try extinction.writeRows(range, from: $0) }
                    try b.objectID.withUnsafeBufferPointer { try ids.writeRows(range, from: $0) }
                    if let ra, let dec {
                        try b.ra.withUnsafeBufferPointer { try ra.writeRows(range, from: $0) }
                        try b.dec.withUnsafeBufferPointer { try dec.writeRows(range, from: $0) }
                    }
                    at += k
                    progress?(at, n)
                }
                try extinction.setAttribute("bands", .strings(ShardSchema.sdssBands))
                try extinction.setAttribute("R", .doubles(ExtinctionCoefficients.sfd98.values))
                try images.setAttribute("unit", .string(Survey.fluxUnit))
                try root.setAttribute("schema", .string(ExportConfiguration.hayatSchema))
                try root.setAttribute("tool", .string("photoz"))
                try root.setAttribute("tool_version", .string(PhotoZVersion.current))
                try root.setAttribute("created", .string(isoTimestamp()))
                try root.setAttribute("source", .string(config.data))
                try root.setAttribute("source_checksum", .string(reader.checksum))
                if !placeholders.isEmpty { try root.setAttribute("source_absent", .string(AbsentColumns.candidates.filter(placeholders.contains).joined(separator: ","))) }
                try root.setAttribute("bands", .strings(ShardSchema.sdssBands))
                try file.close()
            }
            return n
        }
    } catch let error as SafeOutputError {
        throw PhotoZDataError.io(path: config.out, message: error.message)
    }
}

/// The rows of `split` (nil: all) by increasing object id (ties, which a valid data set does
/// not have, by shard and row): 16 bytes a row, read from the id columns alone.
func exportOrder(_ reader: DataSetReader, split: Split?) throws -> [RowReference] {
    var keyed: [(id: Int64, row: RowReference)] = []
    keyed.reserveCapacity(reader.rows(in: split))
    for shard in reader.shardIndices(in: split) {
        let ids = try reader.opened[shard].objectIDs()
        for (row, id) in ids.enumerated() { keyed.append((id, RowReference(shard: shard, row: row))) }
    }
    keyed.sort { ($0.id, $0.row.shard, $0.row.row) < ($1.id, $1.row.shard, $1.row.row) }
    return keyed.map(\.row)
}

/// The rows of an export in `order`, `batchRows` at a time (rows of one shard that lie close
/// together are read at once by `DataSetReader.read(_:columns:)`).
private final class ExportBatches {
    private let reader: DataSetReader
    private let order: [RowReference]
    private let batchRows: Int
    private var at = 0

    init(reader: DataSetReader, order: [RowReference], batchRows: Int) {
        self.reader = reader
        self.order = order
        self.batchRows = max(1, batchRows)
    }

    func next() throws -> (rows: ShardRows, count: Int)? {
        guard at < order.count else { return nil }
        let part = Array(order[at..<min(order.count, at + batchRows)])
        at += part.count
        return (try reader.read(part), part.count)
    }
}

extension ExportFormat {
    /// The arrays of a Pasquet-layout export, in file order (`ra`, `dec` and `z_err` only when
    /// the data set has them).
    static let npzArrays = ["data", "z", "ebv", "object_id", "ra", "dec", "z_err"]
    static let npzArraysAlways = ["data", "z", "ebv", "object_id"]

    /// Whether `path` is a file `photoz export` wrote in this layout (what `--overwrite` may replace):
    /// an npz holding exactly the export's arrays in its order, or an HDF5 file of the export's schema.
    @Sendable public func isExport(_ path: String) -> Bool {
        switch self {
        case .pasquetNPZ:
            guard let archive = try? ZipArchive(path: path) else { return false }
            let names = archive.entries.map(\.name), arrays = Self.npzArrays.map { $0 + ".npy" }
            return names == arrays.filter(names.contains) && Self.npzArraysAlways.allSatisfy { names.contains($0 + ".npy") }
        case .hayat:
            guard let file = try? HDF5File.open(path, readOnly: true), let value = try? file.root.attribute("schema") else { return false }
            return value == .string(ExportConfiguration.hayatSchema)
        }
    }
}
