import ArgumentParser
import Foundation
import HDF5
import NeuralNet
import PhotoZ
import PhotoZData

extension Split: ExpressibleByArgument {}

/// `photoz predict`: predictions of one model or an ensemble, as a RAIL/qp-readable HDF5 file.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict redshifts (PDF and point estimates) for a data set or shard.",
        discussion: "Writes schema photoz.predictions v1 (schemas/predictions-v1.md), which qp.read() opens as a histogram ensemble. Several --model options average the models' PDFs."
    )

    @Option(help: "Model file (repeat for an ensemble).")
    var model: [String]

    @Option(help: "Data-set folder or a single shard.")
    var data: String

    @Option(help: "Predictions file to write (.h5 or .hdf5).")
    var out: String

    @Option(help: "Split to predict: test, valid, train or all (a single shard is used whole).")
    var split: String = "test"

    @Option(help: "Images per forward pass.")
    var batchSize: Int = 64

    @Option(help: "Arithmetic of convolutions and dense layers: f32, or bf16 (AVX512-BF16 kernels; float32 weights, loss and softmax).")
    var precision: NeuralNet.Precision = .f32

    @Flag(help: "Replace an existing predictions file.")
    var overwrite = false

    func validate() throws {
        guard !model.isEmpty else { throw ValidationError("give at least one --model") }
        guard split == "all" || Split(rawValue: split) != nil else { throw ValidationError("--split '\(split)': test, valid, train or all") }
    }

    func run() throws {
        NeuralNet.Precision.default = precision
        let predictions = try predictToFile(models: model, data: data, out: out, split: split == "all" ? nil : Split(rawValue: split),
                                            batchSize: batchSize, overwrite: overwrite)
        print("\(predictions.count) objects → \(out)")
        if predictions.zSpec.contains(where: \.isFinite) {
            print(PhotoZMetrics(zPhot: predictions.zPhot, zSpec: predictions.zSpec).summary)
        }
    }
}

/// Loads models, predicts a split and writes the predictions file; shared with `demo`.
func predictToFile(models: [String], data: String, out: String, split: Split?, batchSize: Int, overwrite: Bool) throws -> Predictions {
    if FileManager.default.fileExists(atPath: out) && !overwrite { throw PhotoZDataError.outputExists(path: out) }
    let networks = try models.map { try PhotoZNetwork.load(from: $0).network }
    let dataSet = try DataSet(path: data)
    var predictions = try Predictor(networks: networks, batchSize: batchSize)
        .predict(dataSet, split: split, progress: ProgressDisplay("predict").handler)
    predictions.attributes = [
        "models": .strings(models),
        "model_sha256": .strings(try models.map { try SHA256.hexDigest(ofFile: $0) }),
        "architecture": .strings(networks.map(\.architecture.rawValue)),
        "head": .string(networks[0].head.rawValue),
        "data": .string(data),
        "data_checksum": .string(dataSet.checksum),
        "split": .string(split?.rawValue ?? "all"),
    ]
    try PredictionFile.write(predictions, to: out, overwrite: overwrite)
    return predictions
}
