import ArgumentParser
import Foundation
import MPI
import PhotoZ
import PhotoZData

extension Architecture: ExpressibleByArgument {}
extension Head: ExpressibleByArgument {}
/// On the command line the transform is spelled as the README and help spell it
/// (`signed-sqrt`); `sign_sqrt`, the name model files record, is accepted too.
extension PixelTransform: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "signed-sqrt", PixelTransform.signedSquareRoot.rawValue: self = .signedSquareRoot
        default: self.init(rawValue: argument)
        }
    }
    public var defaultValueDescription: String { self == .signedSquareRoot ? "signed-sqrt" : rawValue }
    public static var allValueStrings: [String] { ["signed-sqrt", "asinh", "identity"] }
}
extension TrainConfiguration.OptimizerKind: ExpressibleByArgument {}
extension TrainConfiguration.Schedule: ExpressibleByArgument {}

/// `photoz train`: train a photo-z network from shards.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a photo-z network (Inception or the small CNN) from HDF5 shards.",
        discussion: """
        Streams the train split (shuffle buffer, random k·90° rotations and flips), validates on \
        the valid split every epoch (or --valid-every steps) and writes --out (the last state, \
        with optimizer state and history, for --resume) and OUT.best.h5 (the evaluation with the lowest \
        validation σ_MAD, ties broken by the outlier rate η), both atomically. Model files: schemas/model-file.md.
        """
    )

    @Option(help: "Data-set folder (with manifest.json) written by ingest.")
    var data: String

    @Option(help: "Model file to write (the best one goes to <out>.best.h5).")
    var out: String

    @Option(help: "Network: inception (Pasquet et al. 2019) or simple (small CNN).")
    var model: Architecture = .simple

    @Option(help: "classification (180-bin PDF, cross-entropy) or regression (one value, MSE).")
    var head: Head = .classification

    @Option(help: "Passes over the train split (ignored when --steps is given).")
    var epochs: Int = 10

    @Option(help: "Optimizer steps (overrides --epochs).")
    var steps: Int?

    @Option(help: "Images per step (default: 64 for inception, 32 for simple).")
    var batchSize: Int?

    @Option(help: "Peak learning rate (default: 3e-4 for inception, 2e-3 for simple; README \"Training recipe\").")
    var learningRate: Float?

    @Option(help: "Learning-rate decay after the warm-up: cosine (to 1 % at the last step) or step (×--lr-gamma every --lr-step).")
    var schedule: TrainConfiguration.Schedule = .cosine

    @Option(help: "Steps of linear learning-rate warm-up (default: 5 % of the run, at most 200).")
    var warmup: Int?

    @Option(help: "Stop when the validation sigma_MAD has not improved for N evaluations (default: never).")
    var earlyStopping: Int?

    @Option(help: "Steps between learning-rate decays with --schedule step (0: never; default: half-way through the run).")
    var lrStep: Int?

    @Option(help: "Factor applied to the learning rate at each decay.")
    var lrGamma: Float = 0.2

    @Option(help: "adam or sgd (with --momentum).")
    var optimizer: TrainConfiguration.OptimizerKind = .adam

    @Option(help: "Momentum of SGD.")
    var momentum: Float = 0.9

    @Flag(inversion: .prefixedNo, help: "Random k·90° rotations and flips of training images.")
    var augment = true

    @Flag(inversion: .prefixedNo, help: "Scale each band's input to about unit standard deviation (a power of two from the train split) before the first layer; model files hold it folded into the first convolution.")
    var normaliseInput = true

    @Option(help: "Standard deviation in z of the Gaussian soft targets of the training loss (classification head; default 0.01; 0: one-hot targets).")
    var labelSmoothing: Double?

    @Option(help: "Flux → network input: signed-sqrt (sign(x)(√(|x|+1)−1)), asinh or identity.")
    var pixelTransform: PixelTransform = .default

    @Option(help: "Seed of the weights, the data order and the augmentations.")
    var seed: UInt64 = 0

    @Option(help: "Validate and save every N steps (default: every epoch).")
    var validEvery: Int?

    @Option(help: "Rows held in the shuffle buffer.")
    var shuffleBuffer: Int = 1024

    @Option(help: "oneDNN/OpenMP threads (default: one per core).")
    var threads: Int?

    @Option(help: "Append one JSON line per evaluation to this file.")
    var log: String?

    @Option(help: "Arithmetic of convolutions and dense layers: f32, or bf16 (AVX512-BF16 kernels; float32 weights, loss and softmax).")
    var precision: Precision = .f32

    @Flag(help: "Continue the run saved in --out where it stopped (same data, settings and data order).")
    var resume = false

    @Flag(help: "Replace existing model files.")
    var overwrite = false

    @Option(help: "Adversarial training: replace part of each batch by fgsm or pgd images made with the current network.")
    var adversarial: AdversarialTrainingConfiguration.Method?

    @Option(help: "Fraction of each batch replaced by adversarial images (with --adversarial).")
    var advFraction: Float = 0.5

    @Option(help: "ε of the adversarial images, network-input space, L∞ (with --adversarial; the talk: 10× the attack's ε).")
    var advEpsilon: Float?

    @Option(help: "PGD iterations of the adversarial images (with --adversarial pgd; default 7).")
    var advSteps: Int?

    func validate() throws {
        try checkBounds(epochs, "--epochs", Limits.epochs)
        try checkBounds(steps, "--steps", Limits.steps)
        try checkBounds(batchSize, "--batch-size", Limits.batchSize)
        try checkBounds(lrStep, "--lr-step", 0...Limits.steps.upperBound, "0: never")
        try checkBounds(validEvery, "--valid-every", Limits.steps)
        try checkBounds(shuffleBuffer, "--shuffle-buffer", 1...1_000_000, "rows held in memory")
        try checkBounds(threads, "--threads", Limits.threads)
        try checkBounds(advSteps, "--adv-steps", 1...1000)
        if let learningRate, !(learningRate.isFinite && learningRate > 0) { throw ValidationError("--learning-rate \(learningRate): must be positive, e.g. 1e-3") }
        guard lrGamma.isFinite, lrGamma > 0, lrGamma <= 1 else { throw ValidationError("--lr-gamma \(lrGamma): a factor in (0, 1], e.g. 0.2") }
        guard momentum.isFinite, momentum >= 0, momentum < 1 else { throw ValidationError("--momentum \(momentum): in [0, 1), e.g. 0.9") }
        if adversarial == nil, advEpsilon != nil || advSteps != nil {
            throw ValidationError("--adv-epsilon and --adv-steps need --adversarial fgsm|pgd")
        }
        if adversarial != nil, advEpsilon == nil { throw ValidationError("--adversarial needs --adv-epsilon (network-input space, e.g. 0.01)") }
        if let advEpsilon, !(advEpsilon.isFinite && advEpsilon > 0) { throw ValidationError("--adv-epsilon \(advEpsilon): must be positive, e.g. 0.01") }
        if resume && overwrite { throw ValidationError("--resume continues --out in place: drop --overwrite") }
        let config = try configuration()
        let inputs: [(String, String?)] = [("--data", data)]
        // With --resume the model files are the run's own and are replaced as it goes.
        for (path, option) in [(out, "--out"), (config.bestPath, "--out (its best model)")] {
            try checkOutput(path, option: option, kind: .file, inputs: inputs, overwrite: overwrite || resume, recognise: PhotoZOutputs.isModelFile)
        }
        if let log { try checkOutput(log, option: "--log", kind: .addingTo, inputs: inputs + [("--out", out)], overwrite: true, recognise: { _ in true }) }
    }

    /// The training configuration these options describe (adversarial training included).
    func configuration() throws -> TrainConfiguration {
        var config = TrainConfiguration(data: data, out: out)
        config.architecture = model
        config.head = head
        config.epochs = epochs
        config.steps = steps
        config.batchSize = batchSize ?? model.defaultBatchSize
        config.learningRate = learningRate
        config.schedule = schedule
        config.warmupSteps = warmup
        config.earlyStopping = earlyStopping
        config.learningRateStep = lrStep
        config.learningRateGamma = lrGamma
        config.optimizer = optimizer
        config.momentum = momentum
        config.augment = augment
        config.normaliseInput = normaliseInput
        if let labelSmoothing { config.labelSmoothing = labelSmoothing == 0 ? nil : labelSmoothing }
        config.pixelTransform = pixelTransform
        config.seed = seed
        config.validEvery = validEvery
        config.shuffleBuffer = shuffleBuffer
        config.overwrite = overwrite
        config.log = log
        config.precision = precision == .f32 ? nil : precision
        if let adversarial, let advEpsilon {
            config.adversarial = AdversarialTrainingConfiguration(method: adversarial, fraction: advFraction, epsilon: advEpsilon, steps: advSteps)
        }
        try asUsage { try config.validate() }
        return config
    }

    func run() throws {
        // Under mpirun every rank trains its share of each batch; rank 0 alone holds the
        // output's lock, writes the model files and the log, and prints.
        try withMPI { context in
            let lock = context.isRoot ? try claimOutput(out) : nil
            defer { lock?.release() }
            if let threads { setenv("OMP_NUM_THREADS", String(threads), 1) }
            let summary = try train(try Trainer(try configuration(), resume: resume, context: context), showProgress: context.isRoot)
            if context.isRoot { print(describe(summary)) }
        }
    }
}

/// Runs a trainer with a progress line on stderr and the evaluations as they come.
func train(_ trainer: Trainer, showProgress: Bool = true) throws -> TrainingSummary {
    guard showProgress else { return try trainer.run() }
    let display = ProgressDisplay("train", unit: "steps")
    var shown = trainer.history.count
    return try trainer.run { step, total, loss, rate in
        display.update(step, total, extra: String(format: "loss %.4f, %.0f images/s", loss, rate))
        if trainer.history.count > shown, let r = trainer.history.last {
            shown = trainer.history.count
            printError(String(format: "  step %d (epoch %.2f): train loss %.4f, valid loss %.4f, ", r.step, r.epoch, r.trainLoss, r.validLoss) + r.validMetrics.summary)
        }
    }
}

func describe(_ s: TrainingSummary) -> String {
    let first = String(format: "%.1f", s.firstStepSeconds)
    // A rate needs steps after the first (which fills the shuffle buffer and compiles the
    // kernels); a one-step run has none, and "0 images/s" would read as a stall.
    let rate = s.imagesPerSecond > 0
        ? "\(Int(s.imagesPerSecond.rounded())) images/s after the first step (data loading included, validation excluded; the first step, which fills the shuffle buffer and compiles the kernels, took \(first) s)"
        : s.firstStepSeconds > 0
            ? "one step in this run (\(first) s, filling the shuffle buffer and compiling the kernels included: too short for a steady rate)"
            : "no step in this run"
    var lines = ["trained \(s.steps) steps, \(rate), peak memory \(Int(NetworkBenchmark.peakRSSMegabytes().rounded())) MB"]
    if let share = s.allreduceShare {
        lines.append("\(s.ranks) MPI ranks: \(String(format: "%.1f", 100 * share)) % of the step time (after the first step) in the gradient allreduce"
                     + (s.allreduceMode.map { $0 == .overlap ? " not hidden behind backward (overlapped)" : " (blocking, after backward)" } ?? "")
                     + (s.parametersCheckedIdentical ? "; parameters identical on every rank at each evaluation" : ""))
    }
    if let last = s.history.last { lines.append("last (step \(last.step)): valid loss \(String(format: "%.4f", last.validLoss)), \(last.validMetrics.summary)  → \(s.lastPath)") }
    if let best = s.best { lines.append("best (step \(best.step)): valid loss \(String(format: "%.4f", best.validLoss)), \(best.validMetrics.summary)  → \(s.bestPath)") }
    return lines.joined(separator: "\n")
}
