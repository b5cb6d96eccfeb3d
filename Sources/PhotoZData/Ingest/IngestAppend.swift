import Foundation

/// `ingest --append`: the data set being added to, checked against the run.
///
/// The new version is written by the same `DataSetWriter` as any ingest, staged beside the
/// data set and swapped in at the end, so a failed or killed append leaves the previous
/// version as it was. Existing rows are copied row by row (not hard-linked: the last shard of
/// each split is topped up with new rows, and the writer's checksums then cover every shard it
/// lists), each into its own split, every column bit for bit.
///
/// An object id already in the data set refuses the whole append, listing the ids (nothing is
/// written). `merge`'s rule (identical rows kept once) would need every new cutout read and
/// compared before deciding; for an append a re-used id is much more likely a catalog mistake
/// or a re-run with the same catalog, and either way the user should decide, not photoz.
final class AppendBase {
    let reader: DataSetReader
    let path: String
    /// Ids listed in the duplicate-id error at most.
    static let idsShown = 20

    /// The object ids the data set holds: their cutouts (usually in the same folder as the new
    /// ones) are not reported as cutouts without a catalog row.
    let existingIDs: Set<Int64>

    init(_ config: IngestConfiguration, output: String, extraColumns: [ShardColumn], work ids: [Int64]) throws {
        path = output
        guard Manifest.isDataSet(output) else {
            throw PhotoZDataError.invalidOption("--append: \(output) is not a photoz data set (no photoz manifest.json); append adds to a folder photoz ingest wrote — drop --append to write a new one")
        }
        reader = try DataSetReader(path: output)
        let manifest = reader.manifest!
        guard reader.imageSize == config.size else {
            throw PhotoZDataError.invalidOption("--size \(config.size): \(output) holds \(reader.imageSize)×\(reader.imageSize) images; append with --size \(reader.imageSize)")
        }
        let bands = ShardAttributes().bands
        guard manifest.bands == bands else {
            throw PhotoZDataError.invalidOption("--append: \(output) has bands \(manifest.bands.joined()) but ingest writes \(bands.joined()): append only to a data set of the same bands")
        }
        guard manifest.shardSchemaVersion == Int(ShardSchema.version) else {
            throw PhotoZDataError.invalidOption("--append: \(output) uses shard schema v\(manifest.shardSchemaVersion), this photoz writes v\(ShardSchema.version): re-ingest it first")
        }
        if let name = try reader.opened.first?.file.root.attribute(ShardSchema.Attribute.extinctionCoefficients)?.stringValue, name != config.extinction.name {
            throw PhotoZDataError.invalidOption("--extinction-coefficients \(config.extinction.name): \(output) was ingested with \(name); append with --extinction-coefficients \(name)")
        }
        guard manifest.splitFractions == config.split else {
            throw PhotoZDataError.invalidOption("--split \(config.split): \(output) is split \(manifest.splitFractions); new rows must be split alike (drop --split, or pass --split \(manifest.splitFractions))")
        }
        let held = Set(reader.catalogColumns.map(\.name)), wanted = Set(extraColumns.map(\.name))
        guard held == wanted else {
            throw PhotoZDataError.invalidOption("--keep-columns: \(output) stores the catalog columns [\(held.sorted().joined(separator: ", "))] but this run keeps [\(wanted.sorted().joined(separator: ", "))]; every row must hold the same columns")
        }
        // Text columns are codes into the run's own sorted categories, and a column's type comes
        // from its values: old and new rows must agree, or codes would change meaning.
        for old in reader.catalogColumns {
            guard let new = extraColumns.first(where: { $0.name == old.name }) else { continue }
            guard old.kind == new.kind, old.categories == new.categories, old.unit == new.unit else {
                let what = old.categories != nil || new.categories != nil
                    ? "text values [\((old.categories ?? []).joined(separator: ", "))] in \(output) but [\((new.categories ?? []).joined(separator: ", "))] in \(config.catalog)"
                    : "type \(old.kind.rawValue) (unit '\(old.unit)') in \(output) but \(new.kind.rawValue) (unit '\(new.unit)') in \(config.catalog)"
                throw PhotoZDataError.invalidOption("--keep-columns: catalog column \(old.catalogName) has \(what); append cannot mix them (re-ingest both catalogs together, or append without that column)")
            }
        }
        // Columns a copy would drop (an adversarial set's `perturbation`): refused, not lost.
        let copied = Set((ShardSchema.carriedColumns + reader.catalogColumns).map(\.name))
        let dropped = Set(reader.opened.flatMap(\.optionalColumns).map(\.name)).subtracting(copied)
        guard dropped.isEmpty else {
            throw PhotoZDataError.invalidOption("--append: \(output) holds the columns [\(dropped.sorted().joined(separator: ", "))], which ingest does not write; append only to a data set photoz ingest (or select/split/merge) wrote")
        }
        // Every existing id, from the object_id column only.
        let idColumn = ShardSchema.column(ShardSchema.objectID)!
        var existing = Set<Int64>()
        for (s, info) in reader.shards.enumerated() {
            existing.formUnion(try reader.opened[s].read(rows: 0..<info.rows, columns: [idColumn]).objectID)
        }
        existingIDs = existing
        let repeated = ids.filter(existing.contains).sorted()
        guard repeated.isEmpty else {
            let shown = repeated.prefix(Self.idsShown).map(String.init).joined(separator: ", ")
            throw PhotoZDataError.catalog(path: config.catalog, message: "\(repeated.count) object id(s) are already in \(output) (\(shown)\(repeated.count > Self.idsShown ? ", …" : "")); nothing written. Remove them from the catalog (append adds new objects only), or use photoz select and merge to replace rows")
        }
    }

    /// Provenance: the version appended to, by its manifest's checksum and inputs.
    func record(into inputs: inout [String: String]) {
        inputs["operation"] = "append"
        inputs["previous_data"] = path
        inputs["previous_manifest_sha256"] = reader.checksum
        inputs["previous_rows"] = String(reader.rows(in: nil))
        inputs["previous_inputs"] = jsonText(reader.manifest?.inputs ?? [:])
    }

    /// The new version's split rule: the previous one when it was ingest's hash rule, else both.
    func splitRule(_ ingestRule: String) -> String {
        let before = reader.manifest?.splitRule ?? ingestRule
        return before == ingestRule ? ingestRule : "rows before the append: \(before); appended rows (photoz ingest --append): \(ingestRule)"
    }

    /// Copies every existing row into `writer` in its split, and the previous version's other
    /// files (skip reports…); returns the name of this run's skip report, one not yet used.
    func copy(into writer: DataSetWriter, columns optional: [ShardColumn]) throws -> String {
        let columns = ShardSchema.requiredColumns + optional
        if reader.rows(in: nil) > 0 {
            let batches = try reader.batches(split: nil, order: .perShard, batchSize: RowCopier.batchRows, columns: columns, purpose: "appending")
            while let batch = try batches.next() {
                guard let shard = batch.shard, let split = reader.shards[shard].split else { preconditionFailure("per-shard batches name their shard") }
                try writer.append(batch.count == batch.rows.count ? batch.rows : batch.rows.rows(0..<batch.count), split: split)
            }
        }
        let fm = FileManager.default
        let shardNames = Set(reader.shards.map { ($0.path as NSString).lastPathComponent })
        let others = try fm.contentsOfDirectory(atPath: path).filter { name in
            var isDirectory: ObjCBool = false
            return !name.hasPrefix(".") && name != Manifest.fileName && !shardNames.contains(name)
                && fm.fileExists(atPath: (path as NSString).appendingPathComponent(name), isDirectory: &isDirectory) && !isDirectory.boolValue
        }
        for name in others { try fm.copyItem(atPath: (path as NSString).appendingPathComponent(name), toPath: writer.stagedPath(name)) }
        var k = 1
        while others.contains("skipped-append-\(k).csv") { k += 1 }
        return "skipped-append-\(k).csv"
    }
}
