import NeuralNet
import PhotoZData

/// A batch after an attack: adversarial images and what the attack saw.
public struct AdversarialBatch: Sendable {
    /// Adversarial images in flux units, (n, 5, S, S).
    public var images: [Float]
    /// `images` minus the clean images, flux units, (n, 5, S, S).
    public var perturbation: [Float]
    /// The perturbation in the attack's space (what ε bounds), (n, 5, S, S).
    public var delta: [Float]
    /// Point estimates of the attacked network on the clean images, when the attack evaluated
    /// it there (no random start); nil otherwise.
    public var cleanEstimates: [Float]?
    /// The objective (mean over the batch) at the clean images, when evaluated there.
    public var cleanObjective: Float?
}

/// FGSM, BIM and PGD against one network, in L∞ or L2, in input or sky-σ space
/// (SCIENCE.md §3):
///
///     δ₀ = 0, or uniform in the ε-ball (random start)
///     δₜ₊₁ = Proj_ε(δₜ + α·direction(∇_δ J(x(δₜ))))     t = 0 … K−1
///
/// with direction = sign (L∞) or g/‖g‖₂ (L2), J the objective of `AttackObjective` and x(δ) the
/// map of `PerturbationMap`. FGSM is K = 1, α = ε from δ₀ = 0: δ = ε·sign(∇ₓJ). Images are not
/// clipped to a range: flux may be negative. Deterministic for a given seed and batch index.
public struct Attack: Sendable {
    public let configuration: AttackConfiguration

    /// Checks the configuration. A universal perturbation is fitted with `UniversalPerturbation.fit`.
    public init(_ configuration: AttackConfiguration) throws {
        try configuration.validate()
        guard configuration.method != .universal else {
            throw PhotoZDataError.invalidOption("a universal perturbation is fitted over a data set (UniversalPerturbation.fit), not per batch")
        }
        self.configuration = configuration
    }

    /// Attacks a batch of flux images (n·5·S·S values, nanomaggies) with their E(B−V) and z_spec.
    /// `batchIndex` seeds the random start, so that a data set is attacked reproducibly.
    public func perturb(flux: [Float], ebv: [Float], zSpec: [Float], network: PhotoZNetwork, batchIndex: Int = 0) throws -> AdversarialBatch {
        try Self.checkShape(flux.count, ebv.count, zSpec.count, network)
        let map = PerturbationMap(flux: flux, imageSize: network.imageSize, bands: network.bands,
                                  space: configuration.space, transform: network.pixelTransform)
        let result = try run(map, ebv: ebv, zSpec: zSpec, network: network, batchIndex: batchIndex)
        let (images, perturbation) = map.flux(for: result.delta)
        return AdversarialBatch(images: images, perturbation: perturbation, delta: result.delta,
                                cleanEstimates: result.estimates, cleanObjective: result.value)
    }

    /// Attacks network inputs (already pixel-transformed) in input space and returns the
    /// adversarial inputs: what adversarial training mixes into its batches.
    public func perturb(input: [Float], ebv: [Float], zSpec: [Float], network: PhotoZNetwork, batchIndex: Int = 0) throws -> [Float] {
        precondition(configuration.space == .input, "network inputs can only be attacked in input space")
        try Self.checkShape(input.count, ebv.count, zSpec.count, network)
        let map = PerturbationMap(input: input, imageSize: network.imageSize, bands: network.bands, transform: network.pixelTransform)
        return map.input(for: try run(map, ebv: ebv, zSpec: zSpec, network: network, batchIndex: batchIndex).delta)
    }

    /// The iterations; returns δ and, when the first step was taken at the clean images, the
    /// estimates and objective there.
    func run(_ map: PerturbationMap, ebv: [Float], zSpec: [Float], network: PhotoZNetwork, batchIndex: Int)
        throws -> (delta: [Float], estimates: [Float]?, value: Float?)
    {
        let c = configuration
        let ball = NormBall(norm: c.norm, epsilon: c.epsilon, valuesPerImage: map.valuesPerImage)
        let objective = AttackObjective(c)
        let targets = objective.targets(for: zSpec)
        var generator = SplitMix64(seed: c.seed ^ (UInt64(batchIndex) &+ 1) &* 0x9E37_79B9_7F4A_7C15)
        var delta = c.effectiveRandomStart ? ball.randomStart(count: map.count, using: &generator)
                                           : [Float](repeating: 0, count: map.cleanInput.count)
        var estimates: [Float]?, value: Float?
        for t in 0..<c.effectiveSteps {
            let at = try objective.evaluate(network, input: map.input(for: delta), ebv: ebv, targets: targets)
            if t == 0 && !c.effectiveRandomStart { (estimates, value) = (at.estimates, at.value) }
            var gradient = at.gradient
            map.pullBack(&gradient, at: delta)
            ball.step(&delta, along: gradient, size: c.effectiveStepSize)
            ball.project(&delta)
        }
        return (delta, estimates, value)
    }

    static func checkShape(_ values: Int, _ ebv: Int, _ z: Int, _ network: PhotoZNetwork) throws {
        precondition(ebv == z, "\(ebv) E(B-V) values for \(z) redshifts")
        guard values == ebv * network.valuesPerImage else {
            throw PhotoZDataError.invalidOption("\(values) image values for \(ebv) images: the model expects \(network.bands)×\(network.imageSize)×\(network.imageSize) per image")
        }
    }
}
