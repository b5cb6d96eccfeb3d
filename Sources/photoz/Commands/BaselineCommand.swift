import ArgumentParser
import Foundation
import PhotoZ
import PhotoZData

/// `photoz baseline`: the colour k-NN photo-z a CNN has to beat.
struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Fit a k-nearest-neighbour photo-z on aperture colours from the shards' images and report its metrics.",
        discussion: "Features: dereddened asinh aperture magnitudes (u−g, g−r, r−i, i−z, r), standardised on the train split; estimate: mean z_spec of the k nearest train objects (Csabai et al. 2007, Beck et al. 2016)."
    )

    @Option(help: "Data-set folder written by ingest.")
    var data: String

    @Option(help: "Neighbours averaged.")
    var k: Int = 10

    @Option(help: "Aperture radius in pixels.")
    var aperture: Double = 8

    @Option(help: "Split to predict: test or valid.")
    var split: Split = .test

    @Option(help: "Also write the predictions to this file, e.g. knn.hdf5: a qp histogram ensemble like predict's (each PDF the histogram of the k neighbours' redshifts).")
    var out: String?

    @Flag(help: "Replace an existing --out file.")
    var overwrite = false

    @Flag(help: "Print the metrics as JSON.")
    var json = false

    func validate() throws {
        try checkBounds(k, "--k", 1...10_000)
        guard aperture.isFinite, aperture > 0, aperture <= 1000 else { throw ValidationError("--aperture \(aperture): a positive radius in pixels, e.g. 8") }
        if let out {
            try checkOutput(out, kind: .file, inputs: [("--data", data)], overwrite: overwrite, recognise: PhotoZOutputs.isPredictions)
        }
    }

    func run() throws {
        let lock = try out.map { try claimOutput($0) }
        defer { lock?.release() }
        var config = BaselineConfiguration(data: data)
        config.k = k
        config.aperture = aperture
        config.split = split
        config.out = out
        config.overwrite = overwrite
        let (metrics, _) = try runColourKNNBaseline(config)
        print(json ? jsonText(metrics) : "colour k-NN (k = \(k)) on \(split.rawValue): \(metrics.summary)")
    }
}
