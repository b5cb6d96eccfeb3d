import ArgumentParser
import Foundation
import PhotoZData

/// `photoz inspect`: what a shard, a data set or any photoz HDF5 file holds.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Summarise a shard, a folder of shards, or any HDF5 file photoz writes.",
        discussion: "For shards: schema, rows per split, per-band pixel statistics, z and E(B-V) distributions. For other files: every group and dataset with shapes, types and attributes."
    )

    @Argument(help: "A shard (.h5), a data-set folder, or another photoz HDF5 file.")
    var path: String

    @Option(help: "Rows sampled for the pixel statistics.")
    var maxRows: Int = 2000

    @Flag(help: "Print JSON on stdout.")
    var json = false

    func validate() throws {
        try checkBounds(maxRows, "--max-rows", 1...10_000_000, "rows sampled")
    }

    func run() throws {
        if isShardOrDataSet(path) {
            let inspection = try inspectShards(path: path, maxPixelRows: maxRows)
            print(json ? jsonText(inspection) : describe(inspection))
        } else {
            let entries = try describeHDF5(path: path)
            if json {
                print(jsonText(entries))
            } else {
                for entry in entries {
                    let shape = entry.shape.map { " " + $0.map(String.init).joined(separator: "×") } ?? ""
                    print("\(entry.path)  \(entry.kind)\(shape)\(entry.type.map { " " + $0 } ?? "")")
                    for (name, value) in entry.attributes.sorted(by: { $0.key < $1.key }) {
                        print("    @\(name) = \(value.count > 100 ? String(value.prefix(100)) + "…" : value)")
                    }
                }
            }
        }
    }

    private func isShardOrDataSet(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return true }
        return (try? Shard(path: path)) != nil
    }
}

func describe(_ d: DataSetInspection) -> String {
    func f(_ v: Double) -> String { String(format: "%.4g", v) }
    var lines = [
        "\(d.path): \(d.schema) v\(d.schemaVersion).\(d.schemaMinorVersion), \(d.files) file(s), \(d.rows) rows, images 5×\(d.imageSize)×\(d.imageSize) float32 (\(d.attributes["flux_unit"] ?? "?")), filters: \(d.compression.isEmpty ? "none" : d.compression.joined(separator: "+"))",
        "splits: " + ["train", "valid", "test", "unknown"].compactMap { s in d.rowsPerSplit[s].map { "\(s) \($0)" } }.joined(separator: ", "),
        "labels: \(d.labelledRows) rows with a spectroscopic redshift, \(d.unlabelledRows) without (predict only)"
            + (d.optionalColumns.isEmpty ? "" : "; optional columns: " + d.optionalColumns.joined(separator: ", ")),
        "pixels (\(d.pixelRowsSampled) rows sampled)        mean        std        min     median        max",
    ]
    for band in d.bandOrder {
        let s = d.bands[band]!
        lines.append("  \(band)  " + [s.mean, s.std, s.min, s.median, s.max].map { f($0).padding(toLength: 10, withPad: " ", startingAt: 0) }.joined(separator: " "))
    }
    for (name, s) in ShardSchema.columns.compactMap({ c in d.columns[c.name].map { (c.name, $0) } }) {
        lines.append("\(name.padding(toLength: 10, withPad: " ", startingAt: 0)) min \(f(s.min))  p16 \(f(s.p16))  median \(f(s.median))  p84 \(f(s.p84))  max \(f(s.max))  (N \(s.count))")
    }
    for key in ["extinction_coefficients", "tool_version", "created"] { if let v = d.attributes[key] { lines.append("\(key): \(v)") } }
    return lines.joined(separator: "\n")
}
