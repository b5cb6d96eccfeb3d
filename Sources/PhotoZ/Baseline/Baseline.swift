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
    try dataSet.requireSDSSBands(purpose: "the colour k-NN baseline (u-g…i-z colours dereddened with SDSS extinction coefficients)")
    var knn = ColourKNN(k: config.k, apertureRadius: config.aperture)
    let train = try knn.features(of: dataSet, split: .train)
    guard train.features.count >= config.k else {
        throw PhotoZDataError.invalidOption("\(config.data): the train split has \(train.features.count) objects, fewer than k = \(config.k)")
    }
    knn.fit(features: train.features, redshifts: train.batch.zSpec)
    let target = try knn.features(of: dataSet, split: config.split)
    let neighbours = knn.neighbourRedshifts(target.features)
    let z = (0..<target.features.count).map { q in neighbours[q * config.k..<(q + 1) * config.k].reduce(0, +) / Float(config.k) }
    var predictions = Predictions(objectID: target.batch.objectID, zSpec: target.batch.zSpec, ebv: target.batch.ebv, zPhot: z)
    // The file is a qp histogram ensemble like predict's (qp.read opens it): each object's PDF
    // is the histogram of its k neighbours' redshifts, on bins of the network's width reaching
    // the largest train redshift (below 0: the first bin).
    let width = RedshiftBins.standard.width
    let zTop = max(RedshiftBins.standard.zMax, (Double(train.batch.zSpec.filter(\.isFinite).max() ?? 0) / width).rounded(.up) * width + width)
    let bins = RedshiftBins(count: Int((zTop / width).rounded()), zMin: 0, zMax: zTop)
    var pdf = [Float](repeating: 0, count: z.count * bins.count)
    for q in 0..<z.count {
        for j in 0..<config.k {
            let b = min(max(Int((Double(neighbours[q * config.k + j]) - bins.zMin) / bins.width), 0), bins.count - 1)
            pdf[q * bins.count + b] += 1 / Float(config.k)
        }
    }
    let summary = PDFSummary(pdfs: pdf, bins: bins)
    predictions.pdf = pdf
    predictions.binEdges = bins.edges
    predictions.zPhotMode = summary.mode
    predictions.zPhotStd = summary.std
    predictions.attributes = ["model": .string("colour k-NN, k = \(config.k), aperture radius \(config.aperture) px"), "data": .string(config.data),
                              "data_checksum": .string(dataSet.checksum), "split": .string(config.split.rawValue),
                              "point_estimate": .string("z_phot: mean z_spec of the k nearest train objects; PDF: histogram of those k redshifts; z_phot_mode: its most probable bin's centre")]
    predictions.provenance = .photoz(schema: PredictionFile.schema, version: PredictionFile.version, stage: "baseline", configuration: config,
                                     inputs: [Provenance.Input(role: "data", path: config.data, sha256: dataSet.checksum)])
    if let out = config.out { try PredictionFile.write(predictions, to: out, overwrite: config.overwrite) }
    return (PhotoZMetrics(zPhot: z, zSpec: target.batch.zSpec), predictions)
}
