import ArgumentParser
import Foundation
import PhotoZ
import PhotoZData

/// `photoz split`: a data set's rows with new train/valid/test splits.
struct SplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Re-split a data set: by a hash of object_id, into k folds, or by a column's value.",
        discussion: """
        --scheme hash: splitmix64(object_id) against --fractions (with --seed 0, ingest's own rule). \
        --scheme kfold:K: --out becomes a folder of K data sets fold-0 … fold-(K-1); in fold i, the objects of \
        fold i are the test split, those of fold i+1 (mod K) the valid split, the rest train — each fold is a \
        data set that train/predict/evaluate use as is (no fold option anywhere), at the cost of K copies on disk. \
        --scheme column:NAME: rows ordered by NAME (ties by object_id, NaN last) and cut at --fractions, \
        lowest values train, highest test (an extrapolation test, e.g. column:z_spec). \
        The manifest's split_rule and inputs record the scheme, seed and source checksum.
        """
    )

    @Argument(help: "Data-set folder or a single shard.")
    var data: String

    @Option(help: "hash, kfold:K or column:NAME.")
    var scheme: String = "hash"

    @Option(help: "Train/valid/test fractions (hash and column schemes).")
    var fractions: String = "80/10/10"

    @Option(help: "Seed of the hash (hash and kfold); 0 reproduces ingest's split.")
    var seed: UInt64 = 0

    @OptionGroup var output: ManagedOutputOptions

    @Flag(help: "Print the summary as JSON on stdout.")
    var json = false

    func validate() throws {
        let config = try configuration()
        if case .kfold = config.scheme {
            try output.check(inputs: [("DATA", data)], recognise: isKFoldFolder)
        } else {
            try output.check(inputs: [("DATA", data)])
        }
    }

    func configuration() throws -> SplitConfiguration {
        var config = SplitConfiguration(data: data, out: output.out)
        try asUsage {
            config.scheme = try SplitScheme(parsing: scheme)
            config.fractions = try SplitFractions(parsing: fractions)
        }
        config.seed = seed
        config.output = try output.output()
        return config
    }

    func run() throws {
        let lock = try claimOutput(output.out)
        defer { lock.release() }
        let summary = try resplit(try configuration(), progress: ProgressDisplay("split").handler)
        print(json ? jsonText(summary) : describe(summary, verb: "split"))
    }
}
