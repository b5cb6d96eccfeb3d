import Foundation
import SafeOutput

// Data-set management: `select`, `split` and `merge` read data sets through `DataSetReader`
// and write new ones through `DataSetWriter`, so every output is a data set like ingest's
// (staged, hashed, manifest last) and every input stays untouched. Rows are copied bit for bit
// (the required columns of the shard schema and the carried optional ones the sources hold, e.g. `labelled`;
// the optional `perturbation` column of adversarial sets is not carried over — the images
// already contain it).

/// Settings shared by the management commands' outputs.
public struct ManagedOutput: Codable, Sendable {
    public var out: String
    public var shardSize: Int = 1000
    public var compression: ShardCompression = .gzip(4)
    public var overwrite = false

    public init(out: String) { self.out = out }
}

/// What a management command did.
public struct ManagementSummary: Codable, Sendable {
    public var output: String
    /// Rows read from the inputs.
    public var read: Int
    /// Rows written, per split.
    public var rows: [String: Int]
    public var shards: Int
    public var seconds: Double
    /// Counts a user should see (duplicates kept once, conflicts resolved…).
    public var notes: [String: Int] = [:]
    /// Folders written (k-fold: one per fold), and the rows of each per split.
    public var dataSets: [String] = []
    public var dataSetRows: [[String: Int]] = []

    public var written: Int { rows.values.reduce(0, +) }
}

// MARK: - select

public struct SelectConfiguration: Codable, Sendable {
    public var data: String
    /// The `--where` expression (`RowExpression`), nil: every row.
    public var condition: String?
    /// A text file of object ids, one per line (`#` starts a comment); nil: any id.
    public var idsFile: String?
    /// Only rows of this split; nil: all splits.
    public var split: Split?
    /// Write every selected row into this split; nil: rows keep their split.
    public var assignSplit: Split?
    public var output: ManagedOutput

    public init(data: String, out: String) {
        self.data = data
        output = ManagedOutput(out: out)
    }

    enum CodingKeys: String, CodingKey { case data, condition = "where", idsFile = "ids", split, assignSplit = "assign_split", output }
}

/// An id list file larger than this is refused (50 million ids of 20 digits).
public let maxIDListBytes = 1 << 30

/// Reads an id list: one integer per line, blank lines and `#` comments ignored.
public func readIDList(_ path: String) throws -> Set<Int64> {
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
    guard let size else { throw PhotoZDataError.io(path: path, message: "cannot read the id list: no such file") }
    guard size <= maxIDListBytes else { throw PhotoZDataError.io(path: path, message: "the id list has \(size) bytes, more than the \(maxIDListBytes) an id list may have") }
    guard let data = FileManager.default.contents(atPath: path) else { throw PhotoZDataError.io(path: path, message: "cannot read the id list") }
    var ids = Set<Int64>()
    for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let text = (line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingCharacters(in: .whitespaces)
        if text.isEmpty { continue }
        guard let id = Int64(text) else {
            throw PhotoZDataError.io(path: path, message: "line \(number + 1): '\(text.prefix(40))' is not an object id (one integer per line; # starts a comment)")
        }
        ids.insert(id)
    }
    return ids
}

/// Refuses a condition on a placeholder column (`AbsentColumns`: 0 in every row of a converted
/// source that lacked it), which would select by a value nobody measured.
public func refusePlaceholderConditions(_ expression: RowExpression, reader: DataSetReader, data: String) throws {
    let absent = AbsentColumns.of(reader)
    if let column = expression.columns.first(where: { AbsentColumns.leftOut.contains($0.name) && absent.contains($0.name) }) {
        throw PhotoZDataError.invalidOption("--where uses \(column.name), which \(data) does not have: its source had no \(column.name) column and photoz convert wrote 0 for every row (manifest.json inputs: absent). Select by other columns, or by --ids")
    }
}

/// `photoz select`: the rows of a data set that satisfy a condition, as a new data set.
public func selectRows(_ config: SelectConfiguration, progress: ProgressHandler? = nil) throws -> ManagementSummary {
    let start = Date()
    if let condition = config.condition { try RowExpression.checkSyntax(condition) }  // before reading anything
    let ids = try config.idsFile.map(readIDList)
    let reader = try DataSetReader(path: config.data)
    let expression = try config.condition.map { try RowExpression($0, catalogColumns: reader.catalogColumns) }
    if let expression { try refusePlaceholderConditions(expression, reader: reader, data: config.data) }
    var inputs = ["data": config.data, "data_checksum": reader.checksum, "operation": "select"]
    if let expression { inputs["where"] = expression.text }
    if let idsFile = config.idsFile { inputs["ids"] = idsFile; inputs["ids_sha256"] = try SHA256.hexDigest(ofFile: idsFile) }
    if let split = config.split { inputs["split"] = split.rawValue }
    if let assign = config.assignSplit { inputs["assign_split"] = assign.rawValue }
    let copier = try RowCopier(sources: [reader], output: config.output, inputs: inputs, configuration: jsonText(config))
    let read = try copier.copy(reader, split: config.split, progress: progress) { rows, k, split, _ in
        if let ids, !ids.contains(rows.objectID[k]) { return nil }
        if let expression, !expression.matches(rows, row: k, split: split) { return nil }
        return config.assignSplit ?? split
    }
    let fractions = reader.manifest?.splitFractions ?? .default
    let rule = config.assignSplit.map { "every selected row assigned to \($0.rawValue) by photoz select" }
        ?? "kept from \(config.data): \(reader.manifest?.splitRule ?? "the source shard's split")"
    var summary = try copier.finish(fractions: fractions, rule: rule, read: read, start: start)
    if let ids { summary.notes["ids_listed"] = ids.count }
    return summary
}

// MARK: - split

/// How `photoz split` assigns rows to splits.
public enum SplitScheme: Codable, Sendable, Equatable, CustomStringConvertible {
    /// A hash of object_id (and the seed) against the fractions: seed 0 is ingest's rule.
    case hash
    /// K folds by a hash of object_id: K data sets, fold i the test split, fold i+1 (mod K) valid.
    case kfold(Int)
    /// Rows ordered by a scalar column (ties by object_id), cut at the fractions: the lowest
    /// values train, then valid, then the highest test (an extrapolation test).
    case column(String)

    public static let maxFolds = 100

    public init(parsing text: String) throws {
        if text == "hash" { self = .hash; return }
        if text.hasPrefix("kfold:") {
            guard let k = Int(text.dropFirst(6)), (2...Self.maxFolds).contains(k) else {
                throw PhotoZDataError.invalidOption("--scheme '\(text)': kfold:K needs K between 2 and \(Self.maxFolds), e.g. kfold:5")
            }
            self = .kfold(k)
            return
        }
        if text.hasPrefix("column:") {
            let name = String(text.dropFirst(7))
            guard let c = ShardSchema.column(name), c.shape == .scalar else {
                let names = ShardSchema.columns.filter { $0.shape == .scalar }.map(\.name).joined(separator: ", ")
                throw PhotoZDataError.invalidOption("--scheme '\(text)': column:NAME needs a per-row scalar column: \(names)")
            }
            self = .column(name)
            return
        }
        throw PhotoZDataError.invalidOption("--scheme '\(text)': expected hash, kfold:K or column:NAME")
    }

    public var description: String {
        switch self {
        case .hash: "hash"
        case let .kfold(k): "kfold:\(k)"
        case let .column(name): "column:\(name)"
        }
    }
}

public struct SplitConfiguration: Codable, Sendable {
    public var data: String
    public var scheme: SplitScheme = .hash
    public var fractions: SplitFractions = .default
    /// Varies the hash schemes; 0 gives ingest's assignment.
    public var seed: UInt64 = 0
    public var output: ManagedOutput

    public init(data: String, out: String) {
        self.data = data
        output = ManagedOutput(out: out)
    }

    /// The uniform number in [0, 1) of an object under this seed.
    func unit(_ id: Int64) -> Double {
        guard seed != 0 else { return SplitFractions.unitHash(id) }
        return SplitFractions.unitHash(id ^ Int64(bitPattern: UInt64(bitPattern: Int64(bitPattern: seed)) &* 0x9E37_79B9_7F4A_7C15))
    }

    /// The folder of fold `i` of a k-fold split.
    public static func foldFolder(_ out: String, _ i: Int) -> String { (out as NSString).appendingPathComponent("fold-\(i)") }
}

/// `photoz split`: the rows of a data set with new splits, as a new data set (or, for
/// `kfold:K`, a folder of K data sets `fold-0` … `fold-(K-1)`).
public func resplit(_ config: SplitConfiguration, progress: ProgressHandler? = nil) throws -> ManagementSummary {
    let start = Date()
    let reader = try DataSetReader(path: config.data)
    var inputs = ["data": config.data, "data_checksum": reader.checksum, "operation": "split", "scheme": config.scheme.description,
                  "seed": String(config.seed)]
    if case .kfold = config.scheme {} else { inputs["fractions"] = config.fractions.description }
    let f = config.fractions
    func cut(_ u: Double) -> Split { u < f.train ? .train : u < f.train + f.valid ? .valid : .test }

    switch config.scheme {
    case .hash:
        let rule = "splitmix64(object_id\(config.seed == 0 ? "" : " xor seed \(config.seed)")) in [0,1) against cumulative train/valid/test fractions (photoz split --scheme hash)"
        let copier = try RowCopier(sources: [reader], output: config.output, inputs: inputs, configuration: jsonText(config))
        let read = try copier.copy(reader, split: nil, progress: progress) { rows, k, _, _ in cut(config.unit(rows.objectID[k])) }
        return try copier.finish(fractions: f, rule: rule, read: read, start: start)

    case let .column(name):
        // Pass 1: the column and the ids only, to rank every row; pass 2 copies.
        let column = ShardSchema.column(name)!, idColumn = ShardSchema.column(ShardSchema.objectID)!
        let batches = try reader.batches(split: nil, order: .sequential(padded: false), batchSize: 4096,
                                         columns: name == ShardSchema.objectID ? [idColumn] : [idColumn, column], purpose: "a split")
        var values: [(value: Double, id: Int64)] = []
        values.reserveCapacity(batches.rows)
        while let batch = try batches.next() {
            for k in 0..<batch.count { values.append((batch.rows.scalar(column, row: k), batch.rows.objectID[k])) }
        }
        // NaN values sort last (into test), so that no row is lost and the order is total.
        let order = values.indices.sorted { a, b in
            let x = values[a], y = values[b]
            if x.value.isNaN != y.value.isNaN { return !x.value.isNaN }
            if x.value != y.value, !x.value.isNaN { return x.value < y.value }
            return x.id < y.id
        }
        var assigned = [Split](repeating: .test, count: values.count)
        let n = Double(values.count)
        for (rank, row) in order.enumerated() { assigned[row] = cut((Double(rank) + 0.5) / n) }
        let rule = "rows ordered by \(name) (NaN last, ties by object_id), cut at cumulative train/valid/test fractions: lowest values train (photoz split --scheme column:\(name))"
        let copier = try RowCopier(sources: [reader], output: config.output, inputs: inputs, configuration: jsonText(config))
        var row = 0
        let read = try copier.copy(reader, split: nil, progress: progress) { _, _, _, _ in
            defer { row += 1 }
            return assigned[row]
        }
        return try copier.finish(fractions: f, rule: rule, read: read, start: start)

    case let .kfold(folds):
        // Each fold is a whole data set (fold i test, fold i+1 valid, the rest train), so that
        // train, predict and evaluate use it as they use any data set; the K data sets are
        // staged together and appear at once.
        let replacing: Replacement = config.output.overwrite ? .ifRecognised(isKFoldFolder) : .never
        let staged: StagedFolder
        do { staged = try StagedFolder(target: config.output.out, replacing: replacing) } catch let error as SafeOutputError {
            throw PhotoZDataError.io(path: config.output.out, message: error.message)
        }
        var summary = ManagementSummary(output: staged.target, read: 0, rows: [:], shards: 0, seconds: 0)
        do {
            for i in 0..<folds {
                var output = config.output
                output.out = SplitConfiguration.foldFolder(staged.path, i)
                output.overwrite = false
                var foldInputs = inputs
                foldInputs["fold"] = String(i)
                let copier = try RowCopier(sources: [reader], output: output, inputs: foldInputs, configuration: jsonText(config))
                let read = try copier.copy(reader, split: nil, progress: progress) { rows, k, _, _ in
                    let fold = min(folds - 1, Int(config.unit(rows.objectID[k]) * Double(folds)))
                    return fold == i ? .test : fold == (i + 1) % folds ? .valid : .train
                }
                let fractions = SplitFractions(train: Double(folds - 2) / Double(folds), valid: 1 / Double(folds), test: 1 / Double(folds))
                let rule = "fold = floor(K × splitmix64(object_id\(config.seed == 0 ? "" : " xor seed \(config.seed)"))), K = \(folds): fold \(i) test, fold \((i + 1) % folds) valid, the rest train (photoz split --scheme kfold:\(folds))"
                let part = try copier.finish(fractions: fractions, rule: rule, read: read, start: start)
                summary.read = part.read
                summary.shards += part.shards
                for (split, n) in part.rows { summary.rows[split, default: 0] += n }
                summary.dataSets.append(SplitConfiguration.foldFolder(staged.target, i))
                summary.dataSetRows.append(part.rows)
            }
            try staged.commit()
        } catch {
            staged.discard()
            throw error
        }
        summary.seconds = Date().timeIntervalSince(start)
        return summary
    }
}

/// Whether `path` is a folder of k-fold data sets written by `photoz split`.
@Sendable public func isKFoldFolder(_ path: String) -> Bool {
    FileManager.default.fileExists(atPath: (SplitConfiguration.foldFolder(path, 0) as NSString).appendingPathComponent(Manifest.fileName))
}

// MARK: - merge

/// Which row wins when two inputs hold different rows for one object id.
public enum MergePreference: String, Codable, Sendable, CaseIterable { case first, last }

public struct MergeConfiguration: Codable, Sendable {
    public var inputs: [String]
    /// nil: conflicting rows are an error.
    public var prefer: MergePreference?
    public var output: ManagedOutput

    public init(inputs: [String], out: String) {
        self.inputs = inputs
        output = ManagedOutput(out: out)
    }

    /// Conflicting ids listed in an error at most.
    public static let idsShown = 20
}

/// `photoz merge`: the rows of several data sets as one. An object id held by several inputs
/// is kept once when its rows are identical (every column bit for bit, and the split);
/// different rows are refused, listing the ids, unless `prefer` picks the first or last input's.
public func mergeDataSets(_ config: MergeConfiguration, progress: ProgressHandler? = nil) throws -> ManagementSummary {
    let start = Date()
    guard config.inputs.count >= 2 else { throw PhotoZDataError.invalidOption("merge needs at least two data sets, got \(config.inputs.count)") }
    let readers = try config.inputs.map { try DataSetReader(path: $0) }
    let first = readers[0]
    let firstBands = first.manifest?.bands ?? Band.allCases.map(\.rawValue)
    for (k, r) in readers.enumerated().dropFirst() {
        guard r.imageSize == first.imageSize else {
            throw PhotoZDataError.invalidOption("\(config.inputs[k]) holds \(r.imageSize)×\(r.imageSize) images but \(config.inputs[0]) holds \(first.imageSize)×\(first.imageSize): merge only data sets cut to one size (re-ingest or cut one with --size \(first.imageSize))")
        }
        let bands = r.manifest?.bands ?? Band.allCases.map(\.rawValue)
        guard bands == firstBands else {
            throw PhotoZDataError.invalidOption("\(config.inputs[k]) has bands \(bands.joined()) but \(config.inputs[0]) has \(firstBands.joined()): merge only data sets of the same bands in the same order")
        }
        let (a, b) = (r.manifest?.shardSchemaVersion ?? Int(ShardSchema.version), first.manifest?.shardSchemaVersion ?? Int(ShardSchema.version))
        guard a == b else {
            throw PhotoZDataError.invalidOption("\(config.inputs[k]) uses shard schema v\(a) but \(config.inputs[0]) v\(b): merge only data sets of one schema version")
        }
    }

    // Pass 1: every id and where it is (input, shard, row).
    struct Place: Hashable { var input: Int, shard: Int, row: Int }
    var places: [Int64: [Place]] = [:]
    let idColumn = ShardSchema.column(ShardSchema.objectID)!
    for (i, r) in readers.enumerated() {
        for (s, info) in r.shards.enumerated() {
            let ids = try r.opened[s].read(rows: 0..<info.rows, columns: [idColumn]).objectID
            for (row, id) in ids.enumerated() { places[id, default: []].append(Place(input: i, shard: s, row: row)) }
        }
    }
    // The duplicated ids: read their rows and compare them exactly.
    var keep: [Int64: Place] = [:]
    var identical = 0, resolved = 0
    var conflicts: [Int64] = []
    for (id, list) in places where list.count > 1 {
        func row(_ p: Place) throws -> ShardRows { try readers[p.input].opened[p.shard].read(rows: p.row..<p.row + 1) }
        func split(_ p: Place) -> Split? { readers[p.input].shards[p.shard].split }
        let reference = try row(list[0])
        var same = true
        for p in list.dropFirst() where same {
            same = rowsIdentical(reference, try row(p)) && split(p) == split(list[0])
        }
        if same {
            identical += list.count - 1
            keep[id] = list[0]
        } else if let prefer = config.prefer {
            resolved += 1
            keep[id] = prefer == .first ? list.first! : list.last!
        } else {
            conflicts.append(id)
        }
    }
    guard conflicts.isEmpty else {
        conflicts.sort()
        let shown = conflicts.prefix(MergeConfiguration.idsShown).map(String.init).joined(separator: ", ")
        throw PhotoZDataError.invalidOption("\(conflicts.count) object id(s) have different rows in different inputs (\(shown)\(conflicts.count > MergeConfiguration.idsShown ? ", …" : "")); nothing written. Pass --prefer first or --prefer last to keep one input's rows, or remove them with photoz select")
    }

    var inputs = ["operation": "merge"]
    for (k, r) in readers.enumerated() { inputs["data_\(k)"] = config.inputs[k]; inputs["data_\(k)_checksum"] = r.checksum }
    if let prefer = config.prefer { inputs["prefer"] = prefer.rawValue }
    let copier = try RowCopier(sources: readers, output: config.output, inputs: inputs, configuration: jsonText(config))
    var read = 0
    for (i, r) in readers.enumerated() {
        read += try copier.copy(r, split: nil, progress: progress) { rows, k, split, place in
            let id = rows.objectID[k]
            guard let kept = keep[id] else { return split }
            return kept == Place(input: i, shard: place.shard, row: place.row) ? split : nil
        }
    }
    let fractions = first.manifest?.splitFractions ?? .default
    var summary = try copier.finish(fractions: fractions, rule: "kept from the inputs (photoz merge)", read: read, start: start)
    summary.notes["duplicates_identical"] = identical
    summary.notes["conflicts_resolved"] = resolved
    return summary
}

/// Whether two one-row `ShardRows` hold the same bits in every column.
func rowsIdentical(_ a: ShardRows, _ b: ShardRows) -> Bool {
    guard a.columns == b.columns, a.imageSize == b.imageSize else { return false }
    for c in a.columns {
        let same = a.withBytes(of: c, rows: 0..<1) { x in
            b.withBytes(of: c, rows: 0..<1) { y in
                switch (x, y) {
                case let (.float32(p), .float32(q)): p.elementsEqual(q) { $0.bitPattern == $1.bitPattern }
                case let (.float64(p), .float64(q)): p.elementsEqual(q) { $0.bitPattern == $1.bitPattern }
                case let (.int64(p), .int64(q)): p.elementsEqual(q)
                default: false
                }
            }
        }
        if !same { return false }
    }
    return true
}

// MARK: - Copying rows

/// Copies rows from readers into one `DataSetWriter`, each row to the split a decision gives
/// (nil: dropped). Shards are read in order, in batches that never span two shards.
final class RowCopier {
    let writer: DataSetWriter
    let output: ManagedOutput
    let inputs: [String: String]
    /// The columns copied: the required ones, the carried optional ones and the common catalog columns.
    let columns: [ShardColumn]
    static let batchRows = 256

    init(sources: [DataSetReader], output: ManagedOutput, inputs: [String: String], configuration: String) throws {
        let source = sources[0]
        var options = DataSetWriter.Options(imageSize: source.imageSize)
        options.shardSize = output.shardSize
        options.compression = output.compression
        options.overwrite = output.overwrite
        // Catalog columns every source holds alike are carried; others cannot be (a merge of
        // sets kept with other columns keeps the common ones).
        let catalog = sources.map(\.catalogColumns).reduce(sources[0].catalogColumns) { common, next in common.filter(next.contains) }
        let held = ShardSchema.carriedColumns.filter { c in sources.contains { $0.heldCarriedColumns.contains(c) } }
        options.optionalColumns = held + catalog
        columns = ShardSchema.requiredColumns + held + catalog
        if let name = try source.opened.first?.file.root.attribute(ShardSchema.Attribute.extinctionCoefficients)?.stringValue,
           let set = ExtinctionCoefficients.named(name) { options.attributes.extinction = set }
        // Bands and pixel scale are data: a g,r,i,z,y set stays g,r,i,z,y through select/split/merge.
        if let bands = try source.manifest?.bands ?? (source.opened.first?.file.root.attribute(ShardSchema.Attribute.bands)?.stringsValue) {
            options.attributes.bands = bands
        }
        if let scale = try source.opened.first?.file.root.attribute(ShardSchema.Attribute.pixelScale)?.doubleValue { options.attributes.pixelScale = scale }
        var inputs = inputs
        inputs.merge(AbsentColumns.carried(from: sources)) { own, _ in own }
        options.attributes.inputs = jsonText(inputs)
        options.attributes.configuration = configuration
        self.output = output
        self.inputs = inputs
        writer = try DataSetWriter(target: output.out, options: options)
    }

    /// Copies the rows of `split` (nil: all) of `reader` that `decide` keeps; returns the rows read.
    func copy(_ reader: DataSetReader, split: Split?, progress: ProgressHandler?,
              _ decide: (ShardRows, Int, Split, (shard: Int, row: Int)) throws -> Split?) throws -> Int {
        guard reader.rows(in: split) > 0 else { return 0 }
        // The carried optional columns too (`labelled`: read as z_spec's finiteness from shards without it).
        let columns = self.columns
        let batches = try reader.batches(split: split, order: .perShard, batchSize: Self.batchRows, columns: columns, purpose: "copying rows")
        var read = 0, shard = -1, rowInShard = 0
        while let batch = try batches.next() {
            if batch.shard != shard { shard = batch.shard!; rowInShard = 0 }
            let source = reader.shards[shard].split ?? reader.opened[shard].split ?? .test
            let targets = try (0..<batch.count).map { k in try decide(batch.rows, k, source, (shard, rowInShard + k)) }
            rowInShard += batch.count
            if let only = targets.first ?? nil, targets.allSatisfy({ $0 == only }) {
                // Every row to one split (merge, select of a whole range): the batch as it is, no copy.
                try writer.append(batch.count == batch.rows.count ? batch.rows : batch.rows.rows(0..<batch.count), split: only)
            } else {
                var parts: [Split: ShardRows] = [:]
                var k = 0
                while k < targets.count {  // runs of rows with one target are copied at once
                    var end = k + 1
                    while end < targets.count, targets[end] == targets[k] { end += 1 }
                    if let target = targets[k] { parts[target, default: ShardRows(imageSize: reader.imageSize, columns: columns)].append(rows: k..<end, of: batch.rows) }
                    k = end
                }
                for split in Split.allCases { if let part = parts[split] { try writer.append(part, split: split) } }
            }
            read += batch.count
            progress?(read, batches.rows)
        }
        return read
    }

    /// Finishes the data set: manifest with the fractions, the split rule and the inputs.
    func finish(fractions: SplitFractions, rule: String, read: Int, start: Date) throws -> ManagementSummary {
        let compression = output.compression.description, inputs = inputs
        let manifest = try writer.finish { _ in
            var m = Manifest(imageSize: writer.options.imageSize, splitFractions: fractions, compression: compression, inputs: inputs,
                             rows: [:], skipped: 0, skippedReport: nil, shards: [])
            m.splitRule = rule
            return m
        }
        return ManagementSummary(output: writer.target, read: read, rows: manifest.rows, shards: manifest.shards.count,
                                 seconds: Date().timeIntervalSince(start))
    }
}
