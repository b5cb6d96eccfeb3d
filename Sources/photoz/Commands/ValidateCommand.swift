import ArgumentParser
import PhotoZData
import SafeOutput

/// `photoz validate`: check shards and data sets against their schema.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a shard or a data-set folder against its schema and manifest.",
        discussion: "Checks schema and version, dtypes, shapes, row alignment, attributes, non-finite values, duplicate ids, and the manifest's rows and SHA-256 checksums. Exit codes: 0 valid, 1 invalid (each problem listed), 2 unreadable."
    )

    @Argument(help: "A shard (.h5) or a data-set folder.")
    var path: String

    @Flag(help: "Print the report as JSON on stdout.")
    var json = false

    func run() throws {
        let report = PhotoZData.validate(path: path, progress: ProgressDisplay("validate", unit: "shards").handler)
        if json {
            print(jsonText(report))
        } else if report.isValid {
            print("valid: \(path) (\(report.filesChecked) file(s), \(report.rows) rows\(report.unlabelledRows > 0 ? ", \(report.unlabelledRows) of them unlabelled: no redshift, for predict only" : ""))")
        } else {
            print("\(report.unreadable ? "unreadable" : "invalid"): \(path) (\(report.problems.count) problem(s))")
            for problem in report.problems { print("  - \(problem)") }
        }
        // Leftovers of killed runs beside (or inside) the data set: reported, not a reason to
        // fail (the data set itself is complete); the next run writing there removes them.
        let leftovers = Leftovers.of(path)
        if !leftovers.isEmpty {
            printError("leftovers of killed runs (removed by the next photoz run writing \(path), or delete them):")
            for leftover in leftovers { printError("  - \(leftover)") }
        }
        if report.unreadable { throw ExitCode(2) }
        if !report.isValid { throw ExitCode(1) }
    }
}
