import HDF5
import PhotoZData

/// The attack algorithms (SCIENCE.md §3).
public enum AttackMethod: String, CaseIterable, Codable, Sendable {
    /// Fast gradient sign method: one step of size ε along the sign of the gradient (Goodfellow et al. 2014).
    case fgsm
    /// Basic iterative method / I-FGSM: K steps of size α from the clean image, projected onto the ε-ball (Kurakin et al. 2016).
    case bim
    /// Projected gradient descent: BIM from a random start in the ε-ball (Madry et al. 2017).
    case pgd
    /// One perturbation for all images, grown over a set to maximise the mean loss (Moosavi-Dezfooli et al. 2017).
    case universal
}

/// The norm that bounds the perturbation.
public enum AttackNorm: String, CaseIterable, Codable, Sendable {
    /// max |δ| ≤ ε; steps along sign(∇), clipping to the ε-box.
    case linf
    /// ‖δ‖₂ ≤ ε per image; steps along ∇/‖∇‖₂, projection onto the ε-ball.
    case l2
}

/// The space in which ε is measured.
public enum AttackSpace: String, CaseIterable, Codable, Sendable {
    /// The network input, after the pixel transform.
    case input
    /// Flux, in units of each image's per-band sky noise σ (estimated from its border, `SkyNoise`).
    case skySigma = "sky-sigma"
}

/// What the attack maximises.
public enum AttackLoss: String, CaseIterable, Codable, Sendable {
    /// The model's training loss: cross-entropy to the true bin (classification) or MSE (regression).
    case model
    /// The squared distance of the point estimate (PDF mean, or the regression output) from z_spec.
    case zmean
}

/// Everything that defines an attack; recorded as JSON in the adversarial shards it writes.
///
/// Defaults (stated in `schemas/adversarial-shard.md`): steps 1 for FGSM, 10 for BIM and PGD,
/// 5 passes over the fitting set for a universal perturbation; step size ε for FGSM,
/// 2.5·ε/steps for BIM and PGD (Madry et al.), ε/10 per batch update for a universal
/// perturbation; a random start for PGD only.
public struct AttackConfiguration: Codable, Sendable, Equatable {
    public var method: AttackMethod
    /// The bound of the perturbation, in `space` and `norm`.
    public var epsilon: Float
    public var norm: AttackNorm = .linf
    public var space: AttackSpace = .input
    public var loss: AttackLoss = .model
    /// Iterations (BIM, PGD) or passes over the fitting set (universal); nil: the method's default.
    public var steps: Int?
    /// Size of one step in the same space and norm as ε; nil: the method's default.
    public var stepSize: Float?
    /// Start from a uniform random point of the ε-ball; nil: true for PGD only.
    public var randomStart: Bool?
    public var seed: UInt64 = 0
    /// Targeted attack: move the estimate towards z_spec + Δ·(1 + z_spec) (so that the
    /// normalised error Δz of SCIENCE.md §2 becomes Δ) by minimising the loss to that target.
    public var targetDeltaZ: Float?

    public init(method: AttackMethod, epsilon: Float) {
        self.method = method
        self.epsilon = epsilon
    }

    /// Iterations actually run (passes for a universal perturbation).
    public var effectiveSteps: Int {
        if let steps { return steps }
        switch method {
        case .fgsm: return 1
        case .bim, .pgd: return 10
        case .universal: return 5
        }
    }

    /// The step size actually used.
    public var effectiveStepSize: Float {
        if let stepSize { return stepSize }
        switch method {
        case .fgsm: return epsilon
        case .bim, .pgd: return 2.5 * epsilon / Float(effectiveSteps)
        case .universal: return epsilon / 10
        }
    }

    /// Whether the attack starts from a random point of the ε-ball.
    public var effectiveRandomStart: Bool { randomStart ?? (method == .pgd) }

    /// Checks what a user can set; each message names the option and says what to use.
    public func validate() throws {
        func bad(_ text: String) -> PhotoZDataError { .invalidOption(text) }
        guard epsilon.isFinite, epsilon > 0 else { throw bad("--epsilon \(epsilon): must be a positive number (the perturbation bound in --space \(space.rawValue))") }
        if let steps, steps < 1 { throw bad("--steps \(steps): at least 1") }
        if method == .fgsm, let steps, steps != 1 { throw bad("--steps \(steps): FGSM makes one step; use --method bim or pgd for several") }
        if let stepSize { guard stepSize.isFinite, stepSize > 0 else { throw bad("--step-size \(stepSize): must be a positive number") } }
        if let targetDeltaZ { guard targetDeltaZ.isFinite, targetDeltaZ != 0 else { throw bad("--target-dz \(targetDeltaZ): must be a non-zero number, e.g. 0.05") } }
    }

    /// The root attributes an adversarial shard records for this attack.
    public var attributes: [String: HDF5AttributeValue] {
        var a: [String: HDF5AttributeValue] = [
            "attack_method": .string(method.rawValue),
            "attack_epsilon": .double(decimal(epsilon)),
            "attack_space": .string(space.rawValue),
            "attack_norm": .string(norm.rawValue),
            "attack_steps": .int64(Int64(effectiveSteps)),
            "attack_step_size": .double(decimal(effectiveStepSize)),
            "attack_random_start": .int64(effectiveRandomStart ? 1 : 0),
            "attack_seed": .int64(Int64(bitPattern: seed)),
            "attack_loss": .string(loss.rawValue),
        ]
        if let targetDeltaZ { a["attack_target_dz"] = .double(decimal(targetDeltaZ)) }
        return a
    }

    /// A one-line description for logs and tables.
    public var summary: String {
        var text = "\(method.rawValue) ε=\(epsilon) (\(space.rawValue), \(norm.rawValue)), loss \(loss.rawValue)"
        if method != .fgsm { text += ", \(effectiveSteps) \(method == .universal ? "passes" : "steps") of \(effectiveStepSize)" }
        if effectiveRandomStart { text += ", random start" }
        if let targetDeltaZ { text += ", target Δz \(targetDeltaZ)" }
        return text
    }
}

/// A float as the double of its shortest decimal form (0.005, not 0.004999999888), for attributes.
func decimal(_ value: Float) -> Double { Double(value.description) ?? Double(value) }
