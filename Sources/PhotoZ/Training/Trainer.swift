import Foundation
import HDF5
import MPI
import NeuralNet
import PhotoZData
import SafeOutput

/// One evaluation during training: a line of the history and of `--log`.
public struct TrainingRecord: Codable, Sendable {
    public var step: Int
    public var epoch: Double
    public var learningRate: Float
    public var trainLoss: Double
    public var validLoss: Double
    public var validMetrics: PhotoZMetrics
    public var imagesPerSecond: Double
    public var seconds: Double
    /// Under mpirun: the share of the steps' time (since the previous evaluation) spent waiting
    /// for the gradient average across ranks after backward (overlapped: the part not hidden
    /// behind backward); nil for a single process (and in histories saved before).
    public var allreduceShare: Double?
}

/// What a training run ends with.
public struct TrainingSummary: Sendable {
    public var steps: Int
    public var history: [TrainingRecord]
    public var best: TrainingRecord?
    public var lastPath: String
    public var bestPath: String
    /// Training images per second after the first step, data loading included, validation
    /// and saving excluded: the steady rate, comparable with `photoz bench`.
    public var imagesPerSecond: Double
    /// Seconds the first step took (filling the shuffle buffer, compiling oneDNN's kernels).
    public var firstStepSeconds: Double
    /// True when early stopping ended the run before its length.
    public var stoppedEarly = false
    /// The number of processes that trained (1 without mpirun).
    public var ranks = 1
    /// Under mpirun: the share of the steady steps' time spent in the gradient allreduce
    /// (and the loss's) after backward, from the steps after the first; nil for a single
    /// process. With `AllreduceMode.overlap`, only the part not hidden behind backward.
    public var allreduceShare: Double?
    /// Under mpirun: how the gradients were averaged; nil for a single process.
    public var allreduceMode: AllreduceMode?
    /// Under mpirun: whether the parameters were found identical on every rank at the evaluations.
    public var parametersCheckedIdentical = false
}

/// Trains a photo-z network from shards: streams batches, steps the optimizer, validates,
/// and writes the last and best model files atomically, with history and optimizer state so
/// that `resume` continues exactly where a stopped run was.
///
/// Under mpirun (a distributed `context`) the run is synchronous data-parallel: rank 0 reads a
/// resumed run's model file and broadcasts the parameters, the optimizer state and the history
/// (a new run's initial weights too); `batchSize` stays the global batch B, whose rows every rank
/// draws in the single process's order (seed, epoch, step) and of which it reads and trains on
/// `RankPartition(count: B, ranks: N).range(of: rank)`; the gradients are averaged with weights
/// rows/B (`GradientBucketReducer`, each bucket started during backward as soon as its layers
/// are done, or after backward with `AllreduceMode.blocking`) before every rank applies the
/// same update; validation is
/// split by batches across ranks and gathered on rank 0, which alone writes model files and the
/// log and sends the evaluation to the others. Progress callbacks run on every rank (the CLI
/// shows rank 0's).
public final class Trainer {
    public let config: TrainConfiguration
    public let network: PhotoZNetwork
    public let optimizer: Optimizer
    public let dataSet: DataSet
    public private(set) var history: [TrainingRecord] = []
    private let totalSteps: Int
    private let stepsPerEpoch: Int
    private let validEvery: Int
    /// The process's place in the run (rank 0 of 1 without mpirun).
    public let context: MPIContext

    /// A hook run on every training batch before the step (adversarial training replaces part of it).
    public var batchHook: ((inout TrainingBatch, PhotoZNetwork) throws -> Void)?

    /// How the gradients are averaged under mpirun (nothing is reduced alone). Every rank must
    /// use the same (`run` checks). Default: `PHOTOZ_ALLREDUCE` (`AllreduceMode.fromEnvironment`).
    public var allreduceMode: AllreduceMode

    /// Prepares a new run, or continues the run saved at `config.out` when `resume` is true.
    /// `context`: the MPI run (default: `MPIContext.start()`, rank 0 of 1 without mpirun).
    public init(_ config: TrainConfiguration, resume: Bool = false, context: MPIContext? = nil) throws {
        let context = try context ?? MPIContext.start()
        self.context = context
        allreduceMode = try AllreduceMode.fromEnvironment()
        try config.validate()
        self.config = config
        dataSet = try DataSet(path: config.data)
        let trainRows = try dataSet.requireRows(in: .train, purpose: "training").reduce(0) { $0 + $1.rows }
        _ = try dataSet.requireRows(in: .valid, purpose: "validation during training")
        guard trainRows >= config.batchSize else {
            throw PhotoZDataError.invalidOption("\(config.data): the train split has \(trainRows) rows, fewer than --batch-size \(config.batchSize)")
        }
        try Self.checkLabels(dataSet)
        stepsPerEpoch = trainRows / config.batchSize
        totalSteps = config.steps ?? (config.epochs! * stepsPerEpoch)
        validEvery = config.validEvery ?? stepsPerEpoch
        let schedule = config.learningRateSchedule(totalSteps: totalSteps)
        let engine = try Engine(precision: config.precision ?? .f32)
        // From the data (which a resumed run checks is the same), so every rank and every
        // resumption computes the same factors without reading them from a file.
        let inputScale = config.normaliseInput == true ? try Self.inputScale(dataSet, transform: config.pixelTransform) : nil
        if resume {
            // Rank 0 reads and checks the saved run; the other ranks build the same network and
            // optimizer from the configuration and receive its state below.
            var loaded: LoadedModel?
            var failure: (any Error)?
            if context.isRoot {
                do {
                    try Self.checkResumable(config, dataSet: dataSet)
                    loaded = try PhotoZNetwork.load(from: config.out, engine: engine, inputScale: inputScale)
                    guard loaded!.optimizerState != nil else {
                        throw PhotoZDataError.schema(path: config.out, message: "no optimizer state in the model file; it cannot be resumed")
                    }
                } catch { failure = error }
            }
            try context.agree("reading \(config.out) to resume", failure)  // rank 0's error on every rank, no hang
            if let loaded {
                network = loaded.network
                optimizer = Self.makeOptimizer(config, network, schedule)
                try optimizer.importState(loaded.optimizerState!)
                if let text = loaded.history, let saved = try? JSONDecoder().decode([TrainingRecord].self, from: Data(text.utf8)) { history = saved }
            } else {
                network = try PhotoZNetwork(architecture: config.architecture, head: config.head, pixelTransform: config.pixelTransform,
                                            imageSize: dataSet.imageSize, seed: config.seed, inputScale: inputScale, engine: engine)
                optimizer = Self.makeOptimizer(config, network, schedule)
            }
            if context.isDistributed {
                try ParameterSync.checkSameLayout(network.parameters, context: context)
                try ParameterSync.broadcast(network.parameters, context: context)
                try ParameterSync.broadcast(optimizer, context: context)
                history = try context.broadcast(context.isRoot ? history : nil)
            }
            // Model files record only the step part of the schedule (initial, step, gamma); the
            // warm-up and cosine decay follow from the configuration, which resume checks is the same.
            optimizer.schedule = schedule
        } else {
            _ = try context.onRoot("checking the model files to write") { () -> Bool in
                for path in [config.out, config.bestPath] {     // not an input; replaced only if a model file and asked
                    try OutputRules.check(path, kind: .file, inputs: [("--data", config.data)], overwrite: config.overwrite, recognise: PhotoZOutputs.isModelFile)
                }
                return true
            }
            network = try PhotoZNetwork(architecture: config.architecture, head: config.head, pixelTransform: config.pixelTransform,
                                        imageSize: dataSet.imageSize, seed: config.seed, inputScale: inputScale, engine: engine)
            optimizer = Self.makeOptimizer(config, network, schedule)
            if context.isDistributed {
                // Every rank drew the same weights from the seed; rank 0's are sent anyway, so
                // that the ranks start identical whatever the platform's arithmetic.
                try ParameterSync.checkSameLayout(network.parameters, context: context)
                try ParameterSync.broadcast(network.parameters, context: context)
            }
        }
        try installAdversarialTraining()     // part of the configuration: no second call
    }

    /// The input scale of `TrainConfiguration.normaliseInput`: per band, the power of two nearest
    /// to 1/σ of the pixel-transformed values of the first (up to) 256 rows of the train split
    /// (factors within 2⁻¹²…2¹², 1 for a constant band). Deterministic for a data set.
    static func inputScale(_ dataSet: DataSet, transform: PixelTransform) throws -> [Float] {
        guard let first = dataSet.shards(in: .train).first(where: { $0.rows > 0 }) else { return [Float](repeating: 1, count: 5) }
        let rows = min(first.rows, 256), size = dataSet.imageSize, plane = size * size, bands = 5
        var images = [Float](repeating: 0, count: rows * bands * plane)
        try images.withUnsafeMutableBufferPointer { try Shard(path: first.path).readImages(0..<rows, into: $0) }
        transform.apply(&images)
        return (0..<bands).map { band in
            var sum = 0.0, squares = 0.0
            for row in 0..<rows {
                let start = (row * bands + band) * plane
                for i in start..<(start + plane) { let v = Double(images[i]); sum += v; squares += v * v }
            }
            let n = Double(rows * plane), variance = max(squares / n - (sum / n) * (sum / n), 0)
            guard variance > 0, variance.isFinite else { return 1 }
            let exponent = min(max((-0.5 * log2(variance)).rounded(), -12), 12)
            return Float(exp2(exponent))
        }
    }

    /// Checks that the run saved at `config.out` can be continued with `config` on `dataSet`.
    private static func checkResumable(_ config: TrainConfiguration, dataSet: DataSet) throws {
        guard FileManager.default.fileExists(atPath: config.out) else {
            throw PhotoZDataError.io(path: config.out, message: "nothing to resume: the model file does not exist (drop --resume to start a new run)")
        }
        let file = try ModelFile.read(from: config.out)
        guard case let .string(saved)? = file.attributes["training_configuration"],
              let previous = try? JSONDecoder().decode(TrainConfiguration.self, from: Data(saved.utf8)) else {
            throw PhotoZDataError.schema(path: config.out, message: "no training configuration saved in the model file; it cannot be resumed")
        }
        try ModelImages.check(model: config.out, against: dataSet, purpose: "resuming its training")
        var a = previous, b = config
        (a.epochs, a.steps, a.overwrite, a.log, b.epochs, b.steps, b.overwrite, b.log) = (nil, nil, false, nil, nil, nil, false, nil)
        guard a == b else {
            throw PhotoZDataError.invalidOption("--resume with other settings than the saved run (\(config.out)); only --epochs/--steps and --log may change")
        }
        guard case let .string(sum)? = file.attributes["data_checksum"], sum == dataSet.checksum else {
            throw PhotoZDataError.invalidOption("--resume: \(config.data) is not the data set the run was trained on (manifest checksum differs)")
        }
    }

    private static func makeOptimizer(_ c: TrainConfiguration, _ n: PhotoZNetwork, _ s: StepSchedule) -> Optimizer {
        switch c.optimizer {
        case .adam: Adam(parameters: n.parameters, learningRate: s.initial, schedule: s)
        case .sgd: SGD(parameters: n.parameters, learningRate: s.initial, momentum: c.momentum, schedule: s)
        }
    }

    /// Labels must be finite: a NaN z_spec or E(B−V) would poison every step.
    private static func checkLabels(_ dataSet: DataSet) throws {
        // Rows without a redshift (ingest --keep-unlabelled, or a catalog without z) are for
        // predict: say so, and how to train on the others, rather than "row k is nan".
        // (Only where shards record labels: a NaN z_spec in a shard without `labelled` is bad data, reported below.)
        if dataSet.heldCarriedColumns.contains(where: { $0.name == ShardSchema.labelled }),
           let unlabelled = try dataSet.unlabelledRows(in: nil), unlabelled > 0 {
            throw PhotoZDataError.invalidOption("\(dataSet.path): \(unlabelled) of its \(dataSet.rows(in: nil)) rows have no spectroscopic redshift (unlabelled, for predict); training needs labels on every row: train on the labelled rows with photoz select \(dataSet.path) --where 'labelled == 1' --out LABELLED")
        }
        for info in dataSet.shards(in: nil) {
            let shard = try Shard(path: info.path)
            for name in [ShardSchema.zSpec, ShardSchema.ebv] {
                let values = try shard.floatColumn(name)
                if let row = values.firstIndex(where: { !$0.isFinite }) {
                    throw PhotoZDataError.schema(path: info.path, message: "/\(name) row \(row) is \(values[row]); labels must be finite (re-ingest, or run photoz validate)")
                }
            }
        }
    }

    /// Runs to the configured length. `progress(step, total, loss, imagesPerSecond)` after each step.
    /// `stopAfter` ends the run early at that global step, as a run killed there would (tests).
    public func run(stopAfter: Int? = nil, progress: ((Int, Int, Float, Double) -> Void)? = nil) throws -> TrainingSummary {
        let start = optimizer.step
        let partition = RankPartition(count: config.batchSize, ranks: context.size)
        let mine = partition.range(of: context.rank)
        let weight = partition.weight(of: context.rank)
        // A rank without rows (more ranks than --batch-size) reads nothing and adds zeros.
        let stream = mine.isEmpty ? nil : try BatchStream(dataSet: dataSet, split: .train, batchSize: config.batchSize, seed: config.seed,
                                                          augment: config.augment, transform: network.pixelTransform, startStep: start,
                                                          bufferRows: config.shuffleBuffer, rows: mine)
        defer { stream?.stop() }
        let overlap = allreduceMode == .overlap
        if context.isDistributed {
            // Blocking and non-blocking collectives do not match each other: a rank of the other
            // mode would hang the run or mix its buffers.
            let modes = try (context.allreduce(overlap ? 1 : 0, .min), context.allreduce(overlap ? 1 : 0, .max))
            guard modes.0 == modes.1 else {
                throw PhotoZDataError.invalidOption("the ranks disagree on \(AllreduceMode.variable) (overlap on some, blocking on others); give every rank the same value (mpirun -x \(AllreduceMode.variable))")
            }
        }
        let reducer = context.isDistributed ? GradientBucketReducer(parameters: network.parameters.map(\.parameter), context: context,
                                                                    overlap: overlap) : nil
        // Overlap: each bucket's MPI_Iallreduce starts as soon as backward has made its
        // gradients final (the dense layers' first, the Inception's 100 MB fc0 among them),
        // while the convolutional layers still run backward; each layer's end also lets MPI
        // progress the reductions in flight.
        var hookError: (any Error)?
        if let reducer, overlap {
            network.onGradientsFinal = { indices in
                do { for index in indices { try reducer.markReady(index) } } catch { if hookError == nil { hookError = error } }
            }
        }
        defer { network.onGradientsFinal = nil }
        let clock = Date()
        var window = Date(), windowImages = 0, rate = 0.0
        var lossSum = 0.0, lossCount = 0
        var evaluationSeconds = 0.0
        var warm: Date?  // the end of the first step
        // Time in the allreduces, over the steady steps and since the last evaluation.
        var reduceSeconds = 0.0, stepSeconds = 0.0, windowReduce = 0.0, windowStep = 0.0
        // A resumed run that had already stopped early stays stopped.
        stoppedEarly = shouldStopEarly
        for step in start..<(stoppedEarly ? start : min(totalSteps, stopAfter ?? totalSteps)) {
            let stepStart = Date()
            var localLoss: Float = 0
            var failure: (any Error)?
            if let reducer, overlap { reducer.beginStep(weight: weight) }
            if let stream {
                do {
                    var batch = try stream.next()
                    try batchHook?(&batch, network)
                    try network.forward(images: batch.images, ebv: batch.ebv)
                    if let sigma = config.labelSmoothing, network.head == .classification {
                        localLoss = network.smoothedLoss(redshifts: batch.zSpec, sigma: sigma)
                    } else {
                        localLoss = network.loss(redshifts: batch.zSpec)
                    }
                    if localLoss.isFinite { network.backward(.parameters) }
                } catch { failure = error }
            }
            if let hookError { throw hookError }  // an MPI failure: the run ends (naming this rank)
            var loss = localLoss
            let reduceStart = Date()
            if let reducer, overlap {
                // Every bucket starts on every rank, in the same order, before the collectives
                // below: also on a rank without rows (zeros), one whose loss is not finite and
                // one that failed (the run ends at `agree`; its values are never used).
                try reducer.markAllReady()
            }
            if let reducer {
                // A rank that failed to read its rows says so before the others wait for its gradients.
                try context.agree("reading and training on its rows of step \(step + 1)", failure)
                // The global batch's mean loss: Σ_r weight_r · loss_r.
                loss = Float(try context.allreduce(weight == 0 ? 0 : Double(localLoss) * Double(weight), .sum))
            } else if let failure { throw failure }
            guard loss.isFinite else {
                throw PhotoZDataError.invalidOption("training diverged at step \(step + 1) (loss \(loss)); lower --learning-rate")
            }
            if let reducer {
                if !overlap {
                    reducer.beginStep(weight: weight)
                    try reducer.markAllReady()
                }
                try reducer.waitAll()
            }
            let reduced = Date().timeIntervalSince(reduceStart)
            optimizer.update()
            lossSum += Double(loss); lossCount += 1
            if warm == nil { warm = Date() } else {
                let spent = Date().timeIntervalSince(stepStart)
                reduceSeconds += reduced; stepSeconds += spent
                windowReduce += reduced; windowStep += spent
            }
            windowImages += config.batchSize
            let elapsed = Date().timeIntervalSince(window)
            if elapsed > 2 { rate = Double(windowImages) / elapsed; window = Date(); windowImages = 0 }
            if rate == 0 { rate = Double(windowImages) / max(Date().timeIntervalSince(clock), 1e-9) }
            progress?(step + 1, totalSteps, loss, rate)
            if (step + 1) % validEvery == 0 || step + 1 == totalSteps {
                let evaluationStart = Date()
                let share = reducer == nil || windowStep == 0 ? nil : windowReduce / windowStep
                try evaluate(step: step + 1, trainLoss: lossSum / Double(max(lossCount, 1)), rate: rate, seconds: Date().timeIntervalSince(clock),
                             allreduceShare: share)
                evaluationSeconds += Date().timeIntervalSince(evaluationStart)
                window = Date(); windowImages = 0
                lossSum = 0; lossCount = 0
                windowReduce = 0; windowStep = 0
                if shouldStopEarly { stoppedEarly = true; break }
            }
        }
        let stepsRun = max(min(optimizer.step, stopAfter ?? totalSteps) - start, 0)
        let firstStep = warm.map { $0.timeIntervalSince(clock) } ?? 0
        let steadyImages = Double(max(stepsRun - 1, 0) * config.batchSize)
        let steadySeconds = (warm.map { Date().timeIntervalSince($0) } ?? 0) - evaluationSeconds
        var summary = TrainingSummary(steps: start + stepsRun, history: history, best: bestRecord, lastPath: config.out, bestPath: config.bestPath,
                                      imagesPerSecond: steadyImages / max(steadySeconds, 1e-9), firstStepSeconds: firstStep)
        summary.stoppedEarly = stoppedEarly
        summary.ranks = context.size
        summary.parametersCheckedIdentical = parametersCheckedIdentical
        if reducer != nil, stepSeconds > 0 { summary.allreduceShare = reduceSeconds / stepSeconds }
        if reducer != nil { summary.allreduceMode = allreduceMode }
        return summary
    }

    /// The record with the lowest validation σ_MAD (then η). σ_MAD rather than the loss: with
    /// 180 narrow bins the validation cross-entropy often rises while the redshifts improve,
    /// as the PDFs sharpen.
    public var bestRecord: TrainingRecord? { history.min(by: Self.isBetter) }

    /// True when the run ended before its length because of `earlyStopping`.
    public private(set) var stoppedEarly = false

    /// Under mpirun: true once an evaluation found the parameters bit for bit identical on
    /// every rank (checked at each evaluation; a difference ends the run with an error).
    public private(set) var parametersCheckedIdentical = false

    /// Early stopping: the last `earlyStopping` evaluations brought no better σ_MAD than the best before them.
    private var shouldStopEarly: Bool {
        guard let patience = config.earlyStopping, history.count > patience,
              let best = bestRecord, let index = history.lastIndex(where: { $0.step == best.step }) else { return false }
        return history.count - 1 - index >= patience
    }

    static func isBetter(_ a: TrainingRecord, than b: TrainingRecord) -> Bool {
        let (x, y) = (a.validMetrics, b.validMetrics)
        return x.sigmaMAD != y.sigmaMAD ? x.sigmaMAD < y.sigmaMAD : x.outlierPercent < y.outlierPercent
    }

    private func evaluate(step: Int, trainLoss: Double, rate: Double, seconds: Double, allreduceShare: Double?) throws {
        // Each rank predicts its share of the valid split's batches; rank 0 gathers them,
        // computes the record, writes the files and sends the record to the others, so that
        // every rank's history, best model and early stopping agree.
        var share: Predictions?
        var failure: (any Error)?
        do {
            let predictor = try Predictor(networks: [network], batchSize: config.batchSize)
            share = try predictor.predict(dataSet, split: .valid, keepPDFs: false, rank: context.rank, ranks: context.size)
        } catch { failure = error }
        try context.agree("validating its share of the valid split", failure)
        if context.isDistributed {
            // Every rank applied the same update to the same averaged gradient; a difference
            // would be a bug (or a faulty node), and rank 0's files would not be the others' model.
            let differing = try ParameterSync.differing(network.parameters, context: context)
            guard differing.isEmpty else {
                throw MPIError(function: "ParameterSync.differing", rank: context.rank, size: context.size,
                               summary: "the ranks' parameters diverged by step \(step)",
                               message: "\(differing.count) parameters differ between ranks, first \(differing[0])")
            }
            parametersCheckedIdentical = true
        }
        let gathered = try share!.gathered(context)
        let record = try context.onRoot("evaluating and saving step \(step)") { () -> TrainingRecord in
            let predictions = gathered!
            let validLoss = Self.loss(of: predictions, network: network)
            var record = TrainingRecord(step: step, epoch: Double(step) / Double(stepsPerEpoch),
                                        learningRate: optimizer.schedule.learningRate(after: step - 1),
                                        trainLoss: trainLoss, validLoss: validLoss,
                                        validMetrics: PhotoZMetrics(zPhot: predictions.zPhot, zSpec: predictions.zSpec),
                                        imagesPerSecond: rate, seconds: seconds)
            record.allreduceShare = allreduceShare
            let isBest = history.allSatisfy { Self.isBetter(record, than: $0) }
            history.append(record)
            defer { history.removeLast() }  // appended below on every rank
            try save(to: config.out)
            if isBest { try save(to: config.bestPath) }
            if let log = config.log { try appendLine(jsonText(record), to: log) }
            return record
        }
        history.append(record)
    }

    /// Validation loss from predictions: mean cross-entropy of the true bin, or mean squared error.
    static func loss(of p: Predictions, network: PhotoZNetwork) -> Double {
        guard p.count > 0 else { return .nan }
        if let losses = p.trueBinLoss { return losses.reduce(0.0) { $0 + Double($1) } / Double(p.count) }
        if let pdf = p.pdf {
            let k = network.bins.count
            return (0..<p.count).reduce(0.0) { $0 - log(max(Double(pdf[$1 * k + network.bins.index(of: p.zSpec[$1])]), 1e-30)) } / Double(p.count)
        }
        return zip(p.zPhot, p.zSpec).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(p.count)
    }

    private func save(to path: String) throws {
        var attributes = network.modelAttributes
        attributes["created"] = .string(isoTimestamp())
        attributes["tool_version"] = .string(PhotoZVersion.current)
        attributes["training_configuration"] = .string(jsonText(config))
        attributes["data"] = .string(config.data)
        attributes["data_checksum"] = .string(dataSet.checksum)
        attributes["step"] = .int64(Int64(optimizer.step))
        attributes["mpi_ranks"] = .int64(Int64(context.size))
        attributes.merge(ModelImages(dataSet: dataSet).attributes) { $1 }  // band names, pixel scale: checked where the model is applied
        attributes.merge(Provenance.photoz(schema: ModelFile.schema, version: ModelFile.schemaVersion, stage: "train", configuration: config,
                                           inputs: [.init(role: "data", path: config.data, sha256: dataSet.checksum)]).hdf5Attributes) { $1 }
        let historyText = jsonText(history)
        try network.withInputScaleFolded {  // the file's weights work on unscaled input, for every reader
            try ModelFile(attributes: attributes, parameters: network.parameters, optimizer: optimizer.exportState(), history: historyText)
                .write(to: path, overwrite: true)
        }
    }
}

/// Appends one line to a text file, creating it if needed.
func appendLine(_ line: String, to path: String) throws {
    if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
    guard let handle = FileHandle(forWritingAtPath: path) else {
        throw PhotoZDataError.io(path: path, message: "cannot open the log file for writing")
    }
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: Data((line + "\n").utf8))
}

