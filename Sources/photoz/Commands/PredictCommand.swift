import ArgumentParser
import Foundation
import MPI
import NeuralNet
import PhotoZ
import PhotoZData

extension Split: ExpressibleByArgument {}

/// `photoz predict`: predictions of one model or an ensemble, as a RAIL/qp-readable HDF5 file.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict redshifts (PDF and point estimates) for a data set or shard.",
        discussion: "Writes schema photoz.predictions v1 (schemas/predictions-v1.md), a qp histogram ensemble. Name it .hdf5: qp.read(FILE) chooses its reader by extension and opens .hdf5 as is; a .h5 name works too but needs qp.read(FILE, fmt=\"hdf5\"). Several --model options average the models' PDFs."
    )

    @Option(help: "Model file (repeat for an ensemble).")
    var model: [String]

    @Option(help: "Data-set folder or a single shard.")
    var data: String

    @Option(help: "Predictions file to write, e.g. pred.hdf5 (qp.read opens .hdf5 without fmt=).")
    var out: String

    @Option(help: "Split to predict: test, valid, train or all (a single shard is used whole).")
    var split: SplitChoice = .test

    @Option(help: "Images per forward pass.")
    var batchSize: Int = 64

    @Option(help: "Arithmetic of convolutions and dense layers: f32, or bf16 (AVX512-BF16 kernels; float32 weights, loss and softmax).")
    var precision: NeuralNet.Precision = .f32

    @Flag(help: "Replace an existing predictions file.")
    var overwrite = false

    func validate() throws {
        guard !model.isEmpty else { throw ValidationError("give at least one --model") }
        try checkBounds(batchSize, "--batch-size", Limits.batchSize)
        try checkOutput(out, kind: .file, inputs: [("--data", data)] + model.map { ("--model", $0) }, overwrite: overwrite,
                        recognise: PhotoZOutputs.isPredictions)
    }

    var configuration: PredictionConfiguration {
        var config = PredictionConfiguration(models: model, data: data, out: out, split: split.split)
        config.batchSize = batchSize
        config.overwrite = overwrite
        return config
    }

    func run() throws {
        // Under mpirun each rank predicts its share of the objects; rank 0 holds the lock,
        // gathers, writes the one file and prints.
        try withMPI { context in
        let lock = context.isRoot ? try claimOutput(out) : nil
        defer { lock?.release() }
        NeuralNet.Precision.default = precision
        let predictions = try predictToFile(configuration, context: context, progress: context.isRoot ? ProgressDisplay("predict").handler : nil)
        guard context.isRoot else { return }
        print("\(predictions.count) objects → \(out)")
        // Metrics only over rows with a spectroscopic redshift; the others are what predict is for.
        let known = predictions.zSpec.indices.filter { predictions.zSpec[$0].isFinite }
        if known.count < predictions.count {
            print("\(predictions.count - known.count) of them unlabelled (no z_spec): photo-z only\(known.isEmpty ? "" : ", left out of the metrics")")
        }
        if !known.isEmpty {
            print(PhotoZMetrics(zPhot: known.map { predictions.zPhot[$0] }, zSpec: known.map { predictions.zSpec[$0] }).summary)
        }
        }
    }
}
