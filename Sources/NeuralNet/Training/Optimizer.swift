import Foundation

/// The learning rate of each update: an optional linear warm-up, then a step decay (PyTorch's
/// `StepLR`) or a cosine decay.
///
/// The recipe of Lin et al. 2022 (1e-4, divided by 5 half-way through 120k iterations) is
/// `StepSchedule(initial: 1e-4, stepSize: 60_000, gamma: 0.2)`. `photoz train`'s default is
/// `StepSchedule(initial: lr, warmupSteps: w, cosineSteps: total)`: the rate rises linearly over
/// the first w updates (Adam's early updates are large while its second-moment estimate is
/// poor) and falls to `initial · cosineFloor` at the last update, so a short run ends at a small
/// rate without a hand-chosen decay step.
public struct StepSchedule: Codable, Equatable, Sendable {
    public var initial: Float
    /// Steps between two decays; 0 means never decay. Ignored when `cosineSteps` > 0.
    public var stepSize: Int
    public var gamma: Float
    /// Updates over which the rate rises linearly from initial/warmupSteps to initial (0: none).
    public var warmupSteps: Int = 0
    /// When > 0, a cosine decay from `initial` (after the warm-up) to `initial · cosineFloor`
    /// at update `cosineSteps` (held there afterwards).
    public var cosineSteps: Int = 0
    public var cosineFloor: Float = 0.01

    public init(initial: Float, stepSize: Int = 0, gamma: Float = 1) {
        self.initial = initial
        self.stepSize = stepSize
        self.gamma = gamma
    }

    /// A warm-up followed by a cosine decay over `cosineSteps` updates in total.
    public init(initial: Float, warmupSteps: Int, cosineSteps: Int, floor: Float = 0.01) {
        self.init(initial: initial)
        self.warmupSteps = max(0, warmupSteps)
        self.cosineSteps = max(0, cosineSteps)
        self.cosineFloor = floor
    }

    /// The learning rate used for the update that follows `completedSteps` updates.
    public func learningRate(after completedSteps: Int) -> Float {
        let n = max(0, completedSteps)
        if n < warmupSteps { return initial * Float(n + 1) / Float(warmupSteps) }
        if cosineSteps > 0 {
            let span = max(1, cosineSteps - warmupSteps)
            let t = min(1, Double(n - warmupSteps) / Double(span))
            let f = Double(cosineFloor) + (1 - Double(cosineFloor)) * 0.5 * (1 + cos(Double.pi * t))
            return initial * Float(f)
        }
        guard stepSize > 0 else { return initial }
        return initial * Float(pow(Double(gamma), Double(n / stepSize)))
    }
}

/// What an optimizer needs to resume: its kind, step count, hyperparameters and per-parameter
/// buffers (keyed `"<parameter path>/<buffer>"`, plain layout of the parameter's shape).
public struct OptimizerState {
    public var kind: String
    public var step: Int
    public var hyperparameters: [String: Double]
    public var schedule: StepSchedule
    public var buffers: [String: [Float]]

    public init(kind: String, step: Int, hyperparameters: [String: Double], schedule: StepSchedule, buffers: [String: [Float]]) {
        self.kind = kind
        self.step = step
        self.hyperparameters = hyperparameters
        self.schedule = schedule
        self.buffers = buffers
    }
}

/// An error restoring optimizer state (a model file from another optimizer or network).
public struct OptimizerStateError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Updates parameters from their gradients. The parameter list (by path) is given once.
public protocol Optimizer: AnyObject {
    /// Updates completed so far.
    var step: Int { get }
    /// The learning-rate schedule.
    var schedule: StepSchedule { get set }
    /// Applies one update from every parameter's current gradient.
    func update()
    /// The state to save for resuming.
    func exportState() -> OptimizerState
    /// Restores saved state; throws when kind or buffer shapes do not match.
    func importState(_ state: OptimizerState) throws
}

/// Runs `body(range)` over `0..<count` in chunks on all cores when the work is large.
func parallelChunks(_ count: Int, _ body: (Range<Int>) -> Void) {
    let chunk = 1 << 18
    if count <= chunk {
        withDenormalsFlushed { body(0..<count) }
        return
    }
    let n = (count + chunk - 1) / chunk
    withoutActuallyEscaping(body) { escaping in
        // Chunks touch disjoint ranges of the buffers the body captures.
        nonisolated(unsafe) let work = escaping
        DispatchQueue.concurrentPerform(iterations: n) { i in
            withDenormalsFlushed { work((i * chunk)..<min(count, (i + 1) * chunk)) }
        }
    }
}

/// Per-parameter buffers of an optimizer, zero-initialised, one per (parameter, name).
struct StateBuffers {
    let names: [String]
    private(set) var storage: [[UnsafeMutablePointer<Float>]]   // [parameter][name]
    let counts: [Int]

    init(parameters: [NamedParameter], names: [String]) {
        self.names = names
        counts = parameters.map(\.parameter.count)
        storage = counts.map { c in
            names.map { _ in
                let p = UnsafeMutablePointer<Float>.allocate(capacity: c)
                p.initialize(repeating: 0, count: c)
                return p
            }
        }
    }

    func deallocate() { for row in storage { for p in row { p.deallocate() } } }

    func export(_ parameters: [NamedParameter]) -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for (i, named) in parameters.enumerated() {
            for (j, name) in names.enumerated() {
                out["\(named.path)/\(name)"] = Array(UnsafeBufferPointer(start: storage[i][j], count: counts[i]))
            }
        }
        return out
    }

    func restore(_ buffers: [String: [Float]], _ parameters: [NamedParameter]) throws {
        for (i, named) in parameters.enumerated() {
            for (j, name) in names.enumerated() {
                let key = "\(named.path)/\(name)"
                guard let values = buffers[key] else { throw OptimizerStateError(description: "optimizer state has no \(key)") }
                guard values.count == counts[i] else {
                    throw OptimizerStateError(description: "optimizer state \(key): expected \(counts[i]) values, found \(values.count)")
                }
                values.withUnsafeBufferPointer { storage[i][j].update(from: $0.baseAddress!, count: counts[i]) }
            }
        }
    }
}
