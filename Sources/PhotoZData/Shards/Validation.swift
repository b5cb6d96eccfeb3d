import Foundation
import HDF5

/// The result of checking a shard, a data-set folder or another photoz file.
public struct ValidationReport: Sendable, Codable {
    public var path: String
    /// Each problem found, naming the file, dataset or attribute.
    public var problems: [String] = []
    /// True when the input could not be read at all (exit code 2).
    public var unreadable = false
    /// Files checked and rows seen.
    public var filesChecked = 0
    public var rows = 0
    /// Rows without a redshift (`labelled` = 0): valid, for prediction only.
    public var unlabelledRows = 0

    public var isValid: Bool { problems.isEmpty && !unreadable }
}

/// Checks a shard, a folder of shards with its manifest, or another photoz HDF5 file:
/// schema and version, dtypes, shapes, row alignment, attributes, non-finite values, duplicate
/// ids and the manifest's rows and SHA-256 checksums.
public func validate(path: String, progress: ProgressHandler? = nil) -> ValidationReport {
    var report = ValidationReport(path: path)
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        report.unreadable = true
        report.problems.append("\(path): no such file or folder")
        return report
    }
    if isDirectory.boolValue {
        validateDataSet(path, &report, progress: progress)
    } else {
        var seen = Set<Int64>()
        validateFile(path, &report, seenIDs: &seen, single: true)
    }
    return report
}

private func validateDataSet(_ directory: String, _ report: inout ValidationReport, progress: ProgressHandler?) {
    let fm = FileManager.default
    let names = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    for leftover in names where leftover.contains(".tmp-") || leftover.contains(".partial-") {
        report.problems.append("\(directory)/\(leftover): temporary file left by an interrupted run; delete it and re-run")
    }
    let shardFiles = names.filter { $0.hasSuffix(".h5") && !$0.hasPrefix(".") }
    let manifest: Manifest
    do { manifest = try Manifest.read(directory: directory) } catch {
        if shardFiles.isEmpty {
            report.unreadable = true
            report.problems.append("\(directory): no manifest.json and no shards: not a photoz data set")
            return
        }
        report.problems.append("\(error): the folder's shards are not known to be complete; re-run ingest")
        var seen = Set<Int64>()
        for name in shardFiles { validateFile((directory as NSString).appendingPathComponent(name), &report, seenIDs: &seen) }
        return
    }
    let manifestProblems = manifest.problems(path: (directory as NSString).appendingPathComponent(Manifest.fileName))
    report.problems += manifestProblems
    if manifestProblems.contains(where: { $0.contains("shard name") || $0.contains("overflow") }) { return }  // entries cannot be trusted
    let listed = Set(manifest.shards.map(\.file))
    for name in shardFiles where !listed.contains(name) {
        report.problems.append("\(directory)/\(name): shard not listed in manifest.json")
    }
    var seen = Set<Int64>()
    for (k, entry) in manifest.shards.enumerated() {
        let path = (directory as NSString).appendingPathComponent(entry.file)
        guard fm.fileExists(atPath: path) else {
            report.problems.append("\(path): listed in manifest.json but missing")
            continue
        }
        if let sha = try? SHA256.hexDigest(ofFile: path), sha != entry.sha256 {
            report.problems.append("\(path): SHA-256 \(sha.prefix(12))… differs from manifest.json's \(entry.sha256.prefix(12))…: the file changed after ingest")
        }
        let before = report.rows
        validateFile(path, &report, seenIDs: &seen, expectedSplit: entry.split, imageSize: manifest.imageSize, bands: manifest.bands)
        if report.rows - before != entry.rows {
            report.problems.append("\(path): \(report.rows - before) rows, manifest.json says \(entry.rows)")
        }
        progress?(k + 1, manifest.shards.count)
    }
}

private func validateFile(_ path: String, _ report: inout ValidationReport, seenIDs: inout Set<Int64>, expectedSplit: Split? = nil,
                          imageSize: Int? = nil, bands: [String]? = nil, single: Bool = false) {
    report.filesChecked += 1
    let file: HDF5File
    do { file = try HDF5File.open(path, readOnly: true) } catch {
        report.unreadable = single
        report.problems.append("\(error)")
        return
    }
    let root = file.root
    guard case let .string(schema)? = try? root.attribute(ShardSchema.Attribute.schema) else {
        report.problems.append("\(path): no root attribute 'schema': not a file photoz wrote")
        report.unreadable = single
        return
    }
    guard schema == ShardSchema.name else {
        report.problems.append(contentsOf: validateOtherFile(path, file: file, schema: schema))
        return
    }
    ShardChecker(path: path, root: root).check(&report, seenIDs: &seenIDs, expectedSplit: expectedSplit, imageSize: imageSize, expectedBands: bands)
}

/// Files other than shards: the schema must at least be one photoz knows.
func validateOtherFile(_ path: String, file: HDF5File, schema: String) -> [String] {
    ["\(path): schema '\(schema)': photoz validate checks data sets and shards (\(ShardSchema.name)); use photoz inspect for other files"]
}
