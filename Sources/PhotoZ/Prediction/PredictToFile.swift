import Foundation
import SafeOutput
import HDF5
import MPI
import NeuralNet
import PhotoZData

/// What `predictToFile` does: the models, the data, the split, the output.
public struct PredictionConfiguration: Codable, Sendable, Equatable {
    /// Model files; several are an ensemble (their PDFs are averaged).
    public var models: [String]
    /// A data-set folder or a single shard.
    public var data: String
    /// The predictions file to write.
    public var out: String
    /// The split to predict; nil: every row.
    public var split: Split?
    /// Images per forward pass.
    public var batchSize: Int = 64
    /// Replace an existing predictions file (never any other file).
    public var overwrite = false

    public init(models: [String], data: String, out: String, split: Split? = .test) {
        self.models = models
        self.data = data
        self.out = out
        self.split = split
    }

    /// Checks the settings and the output (not an input, replaceable) before any work.
    public func validate() throws {
        guard !models.isEmpty else { throw PhotoZDataError.invalidOption("give at least one model") }
        guard (1...4096).contains(batchSize) else { throw PhotoZDataError.invalidOption("batch size \(batchSize): between 1 and 4096") }
        try OutputRules.check(out, kind: .file, inputs: [("--data", data)] + models.map { ("--model", $0) },
                              overwrite: overwrite, recognise: PhotoZOutputs.isPredictions)
    }
}

/// Loads the models, predicts the split and writes the predictions file (`PredictionFile`)
/// with its full provenance: the configuration, the models and the data with their checksums.
/// The command-line `photoz predict` is this call.
///
/// Under mpirun (`context` distributed) every rank predicts its share of the batches
/// (`Predictor.predict(rank:ranks:)`), rank 0 gathers them and alone writes the file, the same
/// file a single process writes, with `mpi_ranks` recording the number of ranks (1 alone).
/// Rank 0 returns every prediction; the other ranks return their own share.
public func predictToFile(_ config: PredictionConfiguration, context: MPIContext? = nil,
                          progress: ProgressHandler? = nil) throws -> Predictions {
    let context = try context ?? MPIContext.start()
    var networks: [PhotoZNetwork] = [], opened: DataSet?, share: Predictions?
    var failure: (any Error)?
    do {
        try config.validate()
        networks = try config.models.map { try PhotoZNetwork.load(from: $0).network }
        opened = try DataSet(path: config.data)
        for model in config.models { try ModelImages.check(model: model, against: opened!, purpose: "prediction") }
        share = try Predictor(networks: networks, batchSize: config.batchSize)
            .predict(opened!, split: config.split, progress: progress, rank: context.rank, ranks: context.size)
    } catch { failure = error }
    // Every rank learns of a failure on any before the gather they would otherwise wait in.
    try context.agree("reading the models and predicting its share of the rows", failure)
    let dataSet = opened!
    let all = try share!.gathered(context)
    var written: Predictions?
    // Rank 0 writes; a failure there is every rank's error (onRoot).
    _ = try context.onRoot("writing \(config.out)") { () -> Bool in
        var predictions = all!
        let modelInputs = try config.models.map { try Provenance.Input.checksummed(role: "model", path: $0) }
        predictions.attributes = [
            "models": .strings(config.models),
            "model_sha256": .strings(modelInputs.map(\.sha256)),
            "architecture": .strings(networks.map(\.architecture.rawValue)),
            "head": .string(networks[0].head.rawValue),
            "data": .string(config.data),
            "data_checksum": .string(dataSet.checksum),
            "split": .string(config.split?.rawValue ?? "all"),
            "mpi_ranks": .int64(Int64(context.size)),
        ]
        predictions.provenance = .photoz(schema: PredictionFile.schema, version: PredictionFile.version, stage: "predict", configuration: config,
                                         inputs: modelInputs + [Provenance.Input(role: "data", path: config.data, sha256: dataSet.checksum)])
        try PredictionFile.write(predictions, to: config.out, overwrite: config.overwrite)
        written = predictions
        return true
    }
    return written ?? share!
}
