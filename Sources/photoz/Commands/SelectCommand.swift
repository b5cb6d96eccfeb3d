import ArgumentParser
import Foundation
import PhotoZ
import PhotoZData
import SafeOutput

/// Options shared by the commands that write a data set from data sets (select, split, merge).
struct ManagedOutputOptions: ParsableArguments {
    @Option(help: "Output data-set folder.")
    var out: String

    @Option(help: "Rows per shard file.")
    var shardSize: Int = 1000

    @Option(help: "none, gzip or gzip:LEVEL (1-9).")
    var compression: String = "gzip:4"

    @Flag(help: "Replace an existing output data set (only once the new one is complete).")
    var overwrite = false

    func check(inputs: [(String, String?)], kind: OutputRules.Kind = .folder, recognise: @escaping @Sendable (String) -> Bool = PhotoZOutputs.isDataSet) throws {
        try checkBounds(shardSize, "--shard-size", Limits.shardSize, "rows per shard")
        _ = try output()
        try checkOutput(out, kind: kind, inputs: inputs, overwrite: overwrite, recognise: recognise)
    }

    func output() throws -> ManagedOutput {
        var output = ManagedOutput(out: out)
        try asUsage {
            output.compression = try ShardCompression(parsing: compression)
        }
        output.shardSize = shardSize
        output.overwrite = overwrite
        return output
    }
}

/// Prints a management summary.
func describe(_ s: ManagementSummary, verb: String) -> String {
    func perSplit(_ rows: [String: Int]) -> String { Split.allCases.map { "\($0.rawValue) \(rows[$0.rawValue] ?? 0)" }.joined(separator: ", ") }
    let seconds = String(format: "%.1f", s.seconds)
    var lines: [String]
    if s.dataSets.isEmpty {
        lines = ["\(verb) \(s.written) of \(s.read) rows read (\(perSplit(s.rows))) into \(s.shards) shards in \(seconds) s"]
    } else {  // k-fold: every data set holds every row, so each is counted on its own
        lines = ["\(verb) \(s.read) rows read into \(s.dataSets.count) data sets (\(s.shards) shards) in \(seconds) s"]
    }
    for (name, n) in s.notes.sorted(by: { $0.key < $1.key }) { lines.append("  \(name.replacingOccurrences(of: "_", with: " ")): \(n)") }
    if s.dataSets.isEmpty { lines.append("  output: \(s.output)") }
    for (k, set) in s.dataSets.enumerated() {
        lines.append("  output: \(set)" + (k < s.dataSetRows.count ? " (\(perSplit(s.dataSetRows[k])))" : ""))
    }
    return lines.joined(separator: "\n")
}

/// `photoz select`: a subset of a data set's rows, as a new data set.
struct SelectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "select",
        abstract: "Write the rows of a data set that satisfy a condition as a new data set.",
        discussion: """
        --where takes a condition on the per-row columns (\(RowExpression.names.joined(separator: ", ")), and the catalog \
        columns kept by ingest --keep-columns, as catalog/NAME or NAME): \
        comparisons < <= > >= == !=, and / or / not, parentheses, chained ranges, quoted split names. \
        Examples: '0.05 <= z_spec < 0.2', 'ebv < 0.1 and not (ra > 180)', 'split == "test" or z_spec > 1', \
        'catalog/petroMag_r < 17.7 and class == "GALAXY"' (a text column compares with == or != and one of its values). \
        Integer columns (object_id) compare exactly; float columns compare as doubles, so use ranges rather than ==. \
        NaN compares false (!= true). Rows keep their split unless --assign-split is given; the output's manifest \
        records the condition, the id list and the source's checksum. Exit codes: 0 done, 1 failed, 64 bad options.
        """
    )

    @Argument(help: "Data-set folder or a single shard.")
    var data: String

    @Option(name: .customLong("where"), help: "Condition on the per-row columns (see above).")
    var condition: String?

    @Option(help: "Text file of object ids to keep, one per line (# comments).")
    var ids: String?

    @Option(help: "Only rows of this split: train, valid or test.")
    var split: Split?

    @Option(help: "Write every selected row into this split instead of its own.")
    var assignSplit: Split?

    @OptionGroup var output: ManagedOutputOptions

    @Flag(help: "Print the summary as JSON on stdout.")
    var json = false

    func validate() throws {
        guard condition != nil || ids != nil || split != nil else {
            throw ValidationError("give --where, --ids or --split: without one, select would copy the whole data set")
        }
        if let condition { try asUsage { try RowExpression.checkSyntax(condition) } }
        try output.check(inputs: [("DATA", data), ("--ids", ids)])
    }

    func run() throws {
        if let condition {  // names resolve against the data set's catalog columns: an unknown one is a usage error (64), as is a placeholder
            let reader = try DataSetReader(path: data)
            try asUsage { try refusePlaceholderConditions(RowExpression(condition, catalogColumns: reader.catalogColumns), reader: reader, data: data) }
        }
        let lock = try claimOutput(output.out)
        defer { lock.release() }
        var config = SelectConfiguration(data: data, out: output.out)
        config.condition = condition
        config.idsFile = ids
        config.split = split
        config.assignSplit = assignSplit
        config.output = try output.output()
        let summary = try selectRows(config, progress: ProgressDisplay("select").handler)
        print(json ? jsonText(summary) : describe(summary, verb: "selected"))
    }
}
