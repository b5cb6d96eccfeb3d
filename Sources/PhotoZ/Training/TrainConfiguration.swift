import NeuralNet
import PhotoZData

/// Everything `train` needs; recorded as JSON in the model file.
public struct TrainConfiguration: Codable, Sendable, Equatable {
    public enum OptimizerKind: String, Codable, Sendable, CaseIterable { case adam, sgd }
    /// How the learning rate evolves after the warm-up: a cosine decay to 1 % of the initial
    /// rate at the last step, or the step decay (×`learningRateGamma` every `learningRateStep`).
    public enum Schedule: String, Codable, Sendable, CaseIterable { case cosine, step }

    public var data: String
    public var out: String
    public var architecture: Architecture = .simple
    public var head: Head = .classification
    /// Length of the run: `steps` wins over `epochs` when both are set.
    public var epochs: Int? = 10
    public var steps: Int?
    public var batchSize = 64
    /// Initial (peak) learning rate; nil: the architecture's default (`defaultLearningRate`).
    public var learningRate: Float?
    /// The decay after the warm-up. nil is the schedule of configurations saved before the
    /// option existed (step decay, no warm-up), so that they resume exactly.
    public var schedule: Schedule? = .cosine
    /// Updates of linear warm-up; nil: automatic (5 % of the run, at most 200) with a schedule,
    /// none for the legacy nil schedule.
    public var warmupSteps: Int?
    /// Stop when the validation σ_MAD has not improved for this many evaluations (nil: never).
    public var earlyStopping: Int?
    /// Steps between learning-rate decays of the step schedule (0: never; nil: half-way, as Lin et al. 2022).
    public var learningRateStep: Int?
    public var learningRateGamma: Float = 0.2
    public var optimizer: OptimizerKind = .adam
    public var momentum: Float = 0.9
    public var augment = true
    /// Scale each band's network input by a power of two to about unit standard deviation (from
    /// the train split) before the first layer; model files fold it into the first convolution.
    /// nil (configurations saved before the option) and false: no scaling.
    public var normaliseInput: Bool? = true
    /// Standard deviation in z of the Gaussian soft targets of the classification loss (training
    /// only; ignored by the regression head). nil: one-hot targets, as in configurations saved
    /// before the option. 0.01 (≈ 4.5 bins of 0.0022): the sweep in README "Training recipe".
    public var labelSmoothing: Double? = 0.01
    public var pixelTransform: PixelTransform = .default
    public var seed: UInt64 = 0
    /// Validate (and save) every this many steps; nil: once per epoch.
    public var validEvery: Int?
    /// Rows of the shuffle buffer of the data stream.
    public var shuffleBuffer = 1024
    public var overwrite = false
    /// JSON-lines log, one line per evaluation.
    public var log: String?
    /// Adversarial training (`--adversarial`): nil for classic training. See AdversarialTraining.swift.
    public var adversarial: AdversarialTrainingConfiguration?
    /// Arithmetic of convolutions and dense layers; nil: float32 (optional so that configurations
    /// saved before the option existed still decode, and resume).
    public var precision: Precision?

    public init(data: String, out: String) {
        self.data = data
        self.out = out
    }

    /// Checks values a user can set; the message names the option.
    public func validate() throws {
        func bad(_ text: String) -> PhotoZDataError { .invalidOption(text) }
        if let epochs, epochs < 1, steps == nil { throw bad("--epochs \(epochs): at least 1") }
        if let steps, steps < 1 { throw bad("--steps \(steps): at least 1") }
        if epochs == nil && steps == nil { throw bad("give --epochs or --steps") }
        guard batchSize >= 1 else { throw bad("--batch-size \(batchSize): at least 1") }
        if let learningRate { guard learningRate > 0, learningRate.isFinite else { throw bad("--learning-rate \(learningRate): must be positive") } }
        if let warmupSteps, warmupSteps < 0 { throw bad("--warmup \(warmupSteps): 0 (none) or more") }
        if let earlyStopping, earlyStopping < 1 { throw bad("--early-stopping \(earlyStopping): at least 1 evaluation") }
        guard learningRateGamma > 0 else { throw bad("--lr-gamma \(learningRateGamma): must be positive") }
        if let learningRateStep, learningRateStep < 0 { throw bad("--lr-step \(learningRateStep): 0 (never) or more") }
        if let labelSmoothing {
            guard labelSmoothing > 0, labelSmoothing < 1 else { throw bad("--label-smoothing \(labelSmoothing): a standard deviation in z between 0 and 1, e.g. 0.01 (0 turns it off)") }
        }
        if let validEvery, validEvery < 1 { throw bad("--valid-every \(validEvery): at least 1") }
        guard shuffleBuffer >= batchSize else { throw bad("--shuffle-buffer \(shuffleBuffer): at least the batch size \(batchSize)") }
        try adversarial?.validate()
    }

    /// The learning rate the run starts from (after the warm-up).
    public var resolvedLearningRate: Float { learningRate ?? architecture.defaultLearningRate }

    /// The learning-rate schedule of a run of `totalSteps` updates.
    public func learningRateSchedule(totalSteps: Int) -> StepSchedule {
        let lr = resolvedLearningRate
        guard let schedule else {   // saved before the recipe: step decay half-way, no warm-up
            return StepSchedule(initial: lr, stepSize: learningRateStep ?? max(1, totalSteps / 2), gamma: learningRateGamma)
        }
        let warmup = warmupSteps ?? min(200, totalSteps / 20)
        switch schedule {
        case .cosine:
            return StepSchedule(initial: lr, warmupSteps: warmup, cosineSteps: totalSteps)
        case .step:
            var s = StepSchedule(initial: lr, stepSize: learningRateStep ?? max(1, totalSteps / 2), gamma: learningRateGamma)
            s.warmupSteps = warmup
            return s
        }
    }

    /// The best-model file written beside `out`: `model.h5` → `model.best.h5`.
    public var bestPath: String {
        out.hasSuffix(".h5") ? String(out.dropLast(3)) + ".best.h5" : out + ".best.h5"
    }
}
