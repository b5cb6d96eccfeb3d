import FITS
import Foundation
import HDF5
import SafeOutput

/// The formats `photoz table` writes.
public enum TableFormat: String, Codable, Sendable, CaseIterable {
    /// Comma-separated, a header line, RFC 4180 quoting; `pd.read_csv`, TOPCAT, astropy.
    case csv
    /// A FITS binary table (HDU `PHOTOZ`) with units; astropy `Table.read`, TOPCAT, fitsio.
    case fits
    /// An HDF5 file with one 1-D dataset per column at the root (schema `photoz.table`).
    case hdf5Table = "hdf5-table"
}

public struct TableConfiguration: Codable, Sendable {
    public var data: String
    public var out: String
    /// Only rows of this split; nil: all rows.
    public var split: Split?
    public var format: TableFormat = .csv
    public var overwrite = false

    public init(data: String, out: String) {
        self.data = data
        self.out = out
    }

    /// The root attribute `schema` of an hdf5-table file.
    public static let schema = "photoz.table"
}

/// The per-row columns of a data set (no images), with each row's split.
public struct DataSetTable: Sendable {
    /// The scalar columns of the schema, in table order, then `split`.
    public var columns: [ShardColumn]
    public var rows: ShardRows
    public var splits: [Split]
    public var count: Int { splits.count }

    /// The column names written, in order.
    public var names: [String] { columns.map(\.catalogName) + ["split"] }

    /// The text of row `k` of a catalog text column (codes into `categories`; "" for an empty cell).
    func text(_ c: ShardColumn, _ k: Int) -> String {
        let code = rows[int64: c.name][k]
        guard let categories = c.categories, code >= 0, code < Int64(categories.count) else { return "" }
        return categories[Int(code)]
    }
}

/// Reads the scalar columns of `split` (nil: all) of a data set.
public func readTable(_ reader: DataSetReader, split: Split?) throws -> DataSetTable {
    // `labelled` always (read from z_spec where a shard lacks it): a table is for reading.
    let columns = (ShardSchema.requiredColumns + ShardSchema.carriedColumns + reader.catalogColumns).filter { $0.shape == .scalar }
    var rows = ShardRows(imageSize: reader.imageSize, columns: columns, capacity: reader.rows(in: split))
    var splits: [Split] = []
    let batches = try reader.batches(split: split, order: .perShard, batchSize: 4096, columns: columns, purpose: "a table")
    while let batch = try batches.next() {
        rows.append(rows: 0..<batch.count, of: batch.rows)
        let s = batch.shard!
        splits += repeatElement(reader.shards[s].split ?? reader.opened[s].split ?? .test, count: batch.count)
    }
    // Positions and errors a converted source lacked are unknown, not 0.
    let unknown = AbsentColumns.of(reader).intersection(AbsentColumns.leftOut)
    for c in columns where unknown.contains(c.name) {
        switch c.kind {
        case .float32: rows[float32: c.name] = [Float](repeating: .nan, count: rows.count)
        case .float64: rows[float64: c.name] = [Double](repeating: .nan, count: rows.count)
        case .int64: break
        }
    }
    return DataSetTable(columns: columns, rows: rows, splits: splits)
}

/// `photoz table`: the per-row columns of a data set as a CSV, FITS or HDF5 table, written
/// under a temporary name and renamed into place. Returns the rows written.
@discardableResult
public func exportTable(_ config: TableConfiguration, replacing: Replacement = .never) throws -> Int {
    let reader = try DataSetReader(path: config.data)
    let table = try readTable(reader, split: config.split)
    let source = "\(config.data) (checksum \(reader.checksum))"
    do {
        switch config.format {
        case .csv:
            try AtomicFile.write(Data(csvText(table).utf8), to: config.out, replacing: replacing)
        case .fits:
            try AtomicFile.write(to: config.out, replacing: replacing) { path in
                let file = try FITSFile.create(path)
                try file.createBinaryTable(name: "PHOTOZ", columns: fitsColumns(table))
                try file.write("ORIGIN", .string("photoz \(PhotoZVersion.current)"), comment: "written by photoz table")
                try file.writeHistory("photoz table of \(config.data)")
                try file.writeHistory("source checksum \(reader.checksum)")
                try file.close()
            }
        case .hdf5Table:
            try AtomicFile.write(to: config.out, replacing: replacing) { path in
                let file = try HDF5File.create(path)
                let root = file.root
                if table.columns.contains(where: \.isCatalogColumn) { _ = try root.createGroup(ShardColumn.catalogGroup) }
                for c in table.columns {
                    let dataset: HDF5Dataset
                    switch c.kind {
                    case .int64:
                        dataset = try root.createDataset(c.name, of: Int64.self, shape: [table.count])
                        try dataset.write(table.rows[int64: c.name])
                    case .float32:
                        dataset = try root.createDataset(c.name, of: Float.self, shape: [table.count])
                        try dataset.write(table.rows[float32: c.name])
                    case .float64:
                        dataset = try root.createDataset(c.name, of: Double.self, shape: [table.count])
                        try dataset.write(table.rows[float64: c.name])
                    }
                    if !c.unit.isEmpty { try dataset.setAttribute("unit", .string(c.unit)) }
                    if let categories = c.categories { try dataset.setAttribute("categories", .strings(categories)) }
                }
                _ = try root.createStringDataset("split", values: table.splits.map(\.rawValue))
                try root.setAttribute("schema", .string(TableConfiguration.schema))
                try root.setAttribute("schema_version", .int64(1))
                try root.setAttribute("tool", .string("photoz"))
                try root.setAttribute("tool_version", .string(PhotoZVersion.current))
                try root.setAttribute("created", .string(isoTimestamp()))
                try root.setAttribute("inputs", .string(jsonText(["data": config.data, "data_checksum": reader.checksum])))
                try root.setAttribute("configuration", .string(jsonText(config)))
                try file.close()
            }
        }
    } catch let error as SafeOutputError {
        throw PhotoZDataError.io(path: config.out, message: "\(error.message) (table of \(source))")
    }
    return table.count
}

/// The CSV text of a table: header line, then one line per row. Integers exactly, float32
/// with 9 and float64 with 17 significant digits (both round-trip to the same bits), NaN as
/// `nan`; fields with a comma, quote or line break are quoted (RFC 4180).
public func csvText(_ table: DataSetTable) -> String {
    var lines = [table.names.map(csvField).joined(separator: ",")]
    lines.reserveCapacity(table.count + 1)
    for k in 0..<table.count {
        var fields: [String] = []
        for c in table.columns {
            switch c.kind {
            case .int64 where c.categories != nil: fields.append(csvField(table.text(c, k)))
            case .int64: fields.append(String(table.rows[int64: c.name][k]))
            case .float32: fields.append(number(Double(table.rows[float32: c.name][k]), digits: 9))
            case .float64: fields.append(number(table.rows[float64: c.name][k], digits: 17))
            }
        }
        fields.append(csvField(table.splits[k].rawValue))
        lines.append(fields.joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
}

private func number(_ value: Double, digits: Int) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value > 0 ? "inf" : "-inf" }
    return String(format: "%.\(digits)g", value)
}

/// A CSV field, quoted when it must be.
public func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

private func fitsColumns(_ table: DataSetTable) -> [FITSColumn] {
    var columns = table.columns.map { c -> FITSColumn in
        let unit = c.unit.isEmpty ? nil : c.unit
        switch c.kind {
        case .int64 where c.categories != nil: return FITSColumn(name: c.catalogName, unit: unit, data: .string((0..<table.count).map { table.text(c, $0) }))
        case .int64: return FITSColumn(name: c.catalogName, unit: unit, data: .int64(table.rows[int64: c.name]))
        case .float32: return FITSColumn(name: c.catalogName, unit: unit, data: .float32(table.rows[float32: c.name]))
        case .float64: return FITSColumn(name: c.catalogName, unit: unit, data: .float64(table.rows[float64: c.name]))
        }
    }
    columns.append(FITSColumn(name: "split", data: .string(table.splits.map(\.rawValue))))
    return columns
}
