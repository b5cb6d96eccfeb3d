import ArgumentParser
import Foundation
import PhotoZ
import PhotoZData

extension MergePreference: ExpressibleByArgument {}

/// `photoz merge`: several data sets as one.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge data sets of the same bands and image size into one.",
        discussion: """
        Rows keep their split. An object id found in several inputs is written once when its rows are \
        identical (every column bit for bit, and the split); when they differ the merge is refused, listing \
        the ids, unless --prefer first|last keeps the first or last input's row. Inputs of other image sizes, \
        bands or shard-schema versions are refused. The summary reports the duplicates.
        """
    )

    @Argument(help: "Data-set folders or shards, at least two.")
    var inputs: [String]

    @Option(help: "On conflicting rows for one object id, keep the first or the last input's.")
    var prefer: MergePreference?

    @OptionGroup var output: ManagedOutputOptions

    @Flag(help: "Print the summary as JSON on stdout.")
    var json = false

    func validate() throws {
        guard inputs.count >= 2 else { throw ValidationError("give at least two data sets to merge") }
        try output.check(inputs: inputs.map { ("an input", $0) })
    }

    func run() throws {
        let lock = try claimOutput(output.out)
        defer { lock.release() }
        var config = MergeConfiguration(inputs: inputs, out: output.out)
        config.prefer = prefer
        config.output = try output.output()
        let summary = try mergeDataSets(config, progress: ProgressDisplay("merge").handler)
        print(json ? jsonText(summary) : describe(summary, verb: "merged"))
    }
}
