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

    @Option(help: "Also write the predictions (point estimates) to this file.")
    var out: String?

    @Flag(help: "Replace an existing --out file.")
    var overwrite = false

    @Flag(help: "Print the metrics as JSON.")
    var json = false

    func validate() throws {
        guard k >= 1 else { throw ValidationError("--k \(k): at least 1") }
        guard aperture > 0 else { throw ValidationError("--aperture \(aperture): must be positive") }
    }

    func run() throws {
        let (metrics, predictions) = try runBaseline(data: data, k: k, aperture: aperture, split: split)
        if let out {
            try PredictionFile.write(predictions, to: out, overwrite: overwrite)
        }
        print(json ? jsonText(metrics) : "colour k-NN (k = \(k)) on \(split.rawValue): \(metrics.summary)")
    }
}

/// Fits the k-NN on the train split and predicts `split`; shared with `demo`.
func runBaseline(data: String, k: Int, aperture: Double, split: Split) throws -> (PhotoZMetrics, Predictions) {
    let dataSet = try DataSet(path: data)
    var knn = ColourKNN(k: k, apertureRadius: aperture)
    let train = try knn.features(of: dataSet, split: .train)
    guard train.features.count >= k else {
        throw ValidationError("\(data): the train split has \(train.features.count) objects, fewer than --k \(k)")
    }
    knn.fit(features: train.features, redshifts: train.batch.zSpec)
    let target = try knn.features(of: dataSet, split: split)
    let z = knn.predict(target.features)
    var predictions = Predictions(objectID: target.batch.objectID, zSpec: target.batch.zSpec, ebv: target.batch.ebv, zPhot: z)
    predictions.attributes = ["model": .string("colour k-NN, k = \(k), aperture radius \(aperture) px"), "data": .string(data),
                              "data_checksum": .string(dataSet.checksum), "split": .string(split.rawValue)]
    return (PhotoZMetrics(zPhot: z, zSpec: target.batch.zSpec), predictions)
}
