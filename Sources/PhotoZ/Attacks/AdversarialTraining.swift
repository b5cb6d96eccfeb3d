import PhotoZData

/// Adversarial training settings (`photoz train --adversarial fgsm|pgd --adv-fraction F
/// --adv-epsilon E`): a fraction F of every training batch is replaced by adversarial images
/// made on the fly with the network being trained (Goodfellow et al. 2014; the talk: F = 0.5,
/// FGSM, ε ten times the attack's). F = 1 with PGD is Madry et al.'s training.
///
/// ε is in network-input space (after the pixel transform) and L∞; the loss is the model's.
public struct AdversarialTrainingConfiguration: Codable, Sendable, Equatable {
    public enum Method: String, Codable, CaseIterable, Sendable { case fgsm, pgd }

    public var method: Method
    /// Fraction of each batch replaced, in (0, 1].
    public var fraction: Float = 0.5
    public var epsilon: Float
    /// PGD iterations (default 7, step 2.5·ε/steps, random start).
    public var steps: Int?

    public init(method: Method, fraction: Float = 0.5, epsilon: Float, steps: Int? = nil) {
        self.method = method
        self.fraction = fraction
        self.epsilon = epsilon
        self.steps = steps
    }

    /// Checks the options; messages name them.
    public func validate() throws {
        guard fraction.isFinite, fraction > 0, fraction <= 1 else {
            throw PhotoZDataError.invalidOption("--adv-fraction \(fraction): a fraction of the batch in (0, 1], e.g. 0.5")
        }
        if method == .fgsm, steps != nil { throw PhotoZDataError.invalidOption("--adv-steps applies to --adversarial pgd only") }
        try attack(seed: 0).validate()
    }

    /// The attack run on each batch.
    public func attack(seed: UInt64) -> AttackConfiguration {
        var c = AttackConfiguration(method: method == .fgsm ? .fgsm : .pgd, epsilon: epsilon)
        if method == .pgd { c.steps = steps ?? 7 }
        c.seed = seed
        return c
    }

    /// Images of a batch of `n` that are replaced: round(F·n), at least 1.
    public func replacedCount(batchSize n: Int) -> Int { min(n, max(1, Int((fraction * Float(n)).rounded()))) }
}

extension Trainer {
    /// Installs, as `batchHook`, the replacement of `config.adversarial.fraction` of each batch
    /// (its first rows: batches are shuffled) by adversarial images made with the current
    /// network. Does nothing when the configuration asks for no adversarial training. Called
    /// by `Trainer.init`: adversarial training is part of the training configuration, so a
    /// library caller gets it without a second call.
    ///
    /// The attack runs on the whole batch and only the replaced rows are kept: the network's
    /// buffers are built for one batch size, and rebuilding them twice a step for a sub-batch
    /// costs more than the extra rows (see the README's adversarial-training note). Each step's
    /// random start is seeded by (seed, step), so a resumed run makes the same images.
    func installAdversarialTraining() throws {
        guard let settings = config.adversarial else { return }
        try settings.validate()
        let attack = try Attack(settings.attack(seed: config.seed))
        var step = optimizer.step
        batchHook = { batch, network in
            // The first round(F·B) rows of the global batch are replaced; under mpirun each rank
            // perturbs those of its own share (FGSM's sign step is per row, so the images are the
            // single process's; PGD's random start is drawn per rank's batch instead).
            let m = settings.replacedCount(batchSize: batch.globalCount)
            let global = batch.rowsOfGlobalBatch
            let replaced = max(0, min(m, global.upperBound) - global.lowerBound)
            if replaced > 0 {
                let adversarial = try attack.perturb(input: batch.images, ebv: batch.ebv, zSpec: batch.zSpec, network: network, batchIndex: step)
                let values = replaced * network.valuesPerImage
                batch.images.replaceSubrange(0..<values, with: adversarial[0..<values])
            }
            step += 1
        }
    }
}
