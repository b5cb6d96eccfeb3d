import ArgumentParser
import Foundation
import PhotoZ
import PhotoZData
import SafeOutput

extension TableFormat: ExpressibleByArgument {}

/// `photoz table`: the per-row columns of a data set as a table file.
struct TableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table",
        abstract: "Write a data set's per-row columns (no images) as a CSV, FITS or HDF5 table.",
        discussion: """
        Columns: \(RowExpression.names.joined(separator: ", ")). csv: pd.read_csv(FILE) or astropy Table.read(FILE, format="csv"); \
        fits: a binary table HDU PHOTOZ with units, Table.read(FILE) or TOPCAT; hdf5-table: one 1-D dataset per column, \
        read into pandas with h5py: with h5py.File(FILE) as f: df = pd.DataFrame({k: f[k].asstr()[:] if k == "split" else f[k][:] for k in f}) \
        (pd.read_hdf needs PyTables' own layout, which photoz does not write).
        """
    )

    @Argument(help: "Data-set folder or a single shard.")
    var data: String

    @Option(help: "Only rows of this split: train, valid or test.")
    var split: Split?

    @Option(help: "csv, fits or hdf5-table.")
    var format: TableFormat = .csv

    @Option(help: "Table file to write.")
    var out: String

    @Flag(help: "Replace an existing table that photoz wrote.")
    var overwrite = false

    func validate() throws {
        try checkOutput(out, kind: .file, inputs: [("DATA", data)], overwrite: overwrite, recognise: Self.recognise(format))
    }

    /// A table photoz wrote: an hdf5-table by its schema; CSV and FITS files by their first bytes.
    static func recognise(_ format: TableFormat) -> @Sendable (String) -> Bool {
        { path in
            switch format {
            case .hdf5Table: return PhotoZOutputs.isHDF5(path, schema: TableConfiguration.schema)
            case .csv:
                guard let handle = FileHandle(forReadingAtPath: path), let head = try? handle.read(upToCount: 64) else { return false }
                return String(decoding: head, as: UTF8.self).hasPrefix("object_id,ra,dec,")
            case .fits:
                // The primary header (one 2880-byte block) and the table's header start.
                guard let handle = FileHandle(forReadingAtPath: path), let head = try? handle.read(upToCount: 5760) else { return false }
                let text = String(decoding: head, as: UTF8.self)
                return text.hasPrefix("SIMPLE") && text.contains("EXTNAME = 'PHOTOZ")
            }
        }
    }

    func run() throws {
        let lock = try claimOutput(out)
        defer { lock.release() }
        var config = TableConfiguration(data: data, out: out)
        config.split = split
        config.format = format
        config.overwrite = overwrite
        let rows = try exportTable(config, replacing: overwrite ? .ifRecognised(Self.recognise(format)) : .never)
        print("\(rows) rows → \(out) (\(format.rawValue))")
    }
}
