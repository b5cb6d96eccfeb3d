import PhotoZData

/// Everything `train` needs; recorded as JSON in the model file.
public struct TrainConfiguration: Codable, Sendable, Equatable {
    public enum OptimizerKind: String, Codable, Sendable, CaseIterable { case adam, sgd }

    public var data: String
    public var out: String
    public var architecture: Architecture = .simple
    public var head: Head = .classification
    /// Length of the run: `steps` wins over `epochs` when both are set.
    public var epochs: Int? = 10
    public var steps: Int?
    public var batchSize = 64
    public var learningRate: Float = 1e-4
    /// Steps between learning-rate decays (0: never; nil: half-way, as Lin et al. 2022).
    public var learningRateStep: Int?
    public var learningRateGamma: Float = 0.2
    public var optimizer: OptimizerKind = .adam
    public var momentum: Float = 0.9
    public var augment = true
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
        guard learningRate > 0, learningRate.isFinite else { throw bad("--learning-rate \(learningRate): must be positive") }
        guard learningRateGamma > 0 else { throw bad("--lr-gamma \(learningRateGamma): must be positive") }
        if let learningRateStep, learningRateStep < 0 { throw bad("--lr-step \(learningRateStep): 0 (never) or more") }
        if let validEvery, validEvery < 1 { throw bad("--valid-every \(validEvery): at least 1") }
        guard shuffleBuffer >= batchSize else { throw bad("--shuffle-buffer \(shuffleBuffer): at least the batch size \(batchSize)") }
        try adversarial?.validate()
    }

    /// The best-model file written beside `out`: `model.h5` → `model.best.h5`.
    public var bestPath: String {
        out.hasSuffix(".h5") ? String(out.dropLast(3)) + ".best.h5" : out + ".best.h5"
    }
}
