import ArgumentParser
import Foundation
import PhotoZ
import PhotoZData

/// `photoz evaluate`: figures of merit and plots of a predictions file.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Bias, σ_MAD, η (and PIT, CRPS for PDFs) of a predictions file, overall and per bin; plots.",
        discussion: "Δz = (z_phot − z_spec)/(1 + z_spec); bias = mean Δz (median also given); σ_MAD = 1.4826 × median|Δz − median Δz|; η = % of |Δz| > 0.05. Plots (SVG) are written beside the predictions: photo-z vs spec-z, Δz vs z_spec, PIT histogram."
    )

    @Argument(help: "A predictions file written by photoz predict.")
    var predictions: String

    /// Which per-bin tables to print.
    enum Tables: String, ExpressibleByArgument, CaseIterable { case z, ebv, both, none }

    @Option(help: "Per-bin tables: z (z_spec bins), ebv (E(B-V) bins), both or none.")
    var by: Tables = .both

    @Flag(help: "Print JSON on stdout.")
    var json = false

    @Flag(inversion: .prefixedNo, help: "Write the SVG plots beside the predictions file.")
    var plots = true

    func run() throws {
        let p = try PredictionFile.read(predictions)
        var report = evaluatePredictions(p)
        if by == .z || by == .none { report.byEBV = [] }
        if by == .ebv || by == .none { report.byZSpec = [] }
        guard report.overall.count > 0 else {
            throw ValidationError("\(predictions): no object has a spectroscopic redshift to compare with")
        }
        let written = plots ? try PredictionPlots.write(p, report: report, beside: predictions) : []
        if json {
            print(jsonText(report))
        } else {
            print(report.table)
            if !written.isEmpty { print("plots: " + written.joined(separator: ", ")) }
        }
    }
}
