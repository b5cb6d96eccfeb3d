import Foundation
import PhotoZData
import SafeOutput

/// The colour k-NN baseline run: which data, k, aperture, split, and where to write.
public struct BaselineConfiguration: Codable, Sendable, Equatable {
    public var data: String
    /// Neighbours averaged.
    public var k = 10
    /// Aperture radius in pixels.
    public var aperture = 8.0
    /// The split predicted (the train split is the reference set).
    public var split: Split = .test
    /// Predictions file to write (point estimates), if any.
    public var out: String?
    /// Replace an existing predictions file (never another file).
    public var overwrite = false

    public init(data: String) { self.data = data }

    /// Checks the settings and the output before any work.
    public func validate() throws {
        guard (1...10_000).contains(k) else { throw PhotoZDataError.invalidOption("k \(k): between 1 and 10000") }
        guard aperture.isFinite, aperture > 0, aperture <= 1000 else { throw PhotoZDataError.invalidOption("aperture \(aperture): a positive radius in pixels") }
        if let out {
            try OutputRules.check(out, kind: .file, inputs: [("--data", data)], overwrite: overwrite, recognise: PhotoZOutputs.isPredictions)
        }
    }
}

/// Fits the colour k-NN on the train split, predicts `config.split`, and writes the
/// predictions with their provenance when `config.out` is set. `photoz baseline` is this call.
public func runColourKNNBaseline(_ config: BaselineConfiguration) throws -> (metrics: PhotoZMetrics, predictions: Predictions) {
    try config.validate()
    let dataSet = try DataSet(path: config.data)
    var knn = ColourKNN(k: config.k, apertureRadius: config.aperture)
    let train = try knn.features(of: dataSet, split: .train)
    guard train.features.count >= config.k else {
        throw PhotoZDataError.invalidOption("\(config.data): the train split has \(train.features.count) objects, fewer than k = \(config.k)")
    }
    knn.fit(features: train.features, redshifts: train.batch.zSpec)
    let target = try knn.features(of: dataSet, split: config.split)
    let z = knn.predict(target.features)
    var predictions = Predictions(objectID: target.batch.objectID, zSpec: target.batch.zSpec, ebv: target.batch.ebv, zPhot: z)
    predictions.attributes = ["model": .string("colour k-NN, k = \(config.k), aperture radius \(config.aperture) px"), "data": .string(config.data),
                              "data_checksum": .string(dataSet.checksum), "split": .string(config.split.rawValue)]
    predictions.provenance = .photoz(schema: PredictionFile.schema, version: PredictionFile.version, stage: "baseline", configuration: config,
                                     inputs: [Provenance.Input(role: "data", path: config.data, sha256: dataSet.checksum)])
    if let out = config.out { try PredictionFile.write(predictions, to: out, overwrite: config.overwrite) }
    return (PhotoZMetrics(zPhot: z, zSpec: target.batch.zSpec), predictions)
}
