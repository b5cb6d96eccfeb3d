import Foundation
import NeuralNet

/// Throughput of FGSM and PGD on one network, measured as `torch_bench.py` measures PyTorch.
public struct AttackBenchmarkResult: Codable, Sendable {
    public var model: String
    public var head: String
    public var batchSize: Int
    /// FGSM: one forward + backward to the input per image, then the sign step.
    public var fgsmImagesPerSecond: Double
    /// PGD with random start and `pgdSteps` steps.
    public var pgdImagesPerSecond: Double
    public var pgdSteps: Int

    enum CodingKeys: String, CodingKey {
        case model, head
        case batchSize = "batch_size"
        case fgsmImagesPerSecond = "fgsm_images_per_s"
        case pgdImagesPerSecond = "pgd_images_per_s"
        case pgdSteps = "pgd_steps"
    }
}

/// Times `Attack.perturb(input:…)` on random inputs x ~ U[0,1), E(B−V) ~ U[0,0.1),
/// z ~ U[0,0.4) with ε = 8/255, α = 2/255 (the reference's settings): warm-up excluded, the
/// figure is batch / median time of one attack (FGSM over at least `repeats` calls and
/// `minTime` seconds; PGD over `pgdRepeats` calls, the network warm from FGSM, as the reference).
public struct AttackBenchmark: Sendable {
    public var architecture: Architecture
    public var head: Head
    public var batchSize: Int
    public var minTime = 5.0
    public var repeats = 5
    public var pgdRepeats = 3
    public var pgdSteps = 10

    public init(architecture: Architecture, head: Head = .classification, batchSize: Int = 64) {
        self.architecture = architecture
        self.head = head
        self.batchSize = batchSize
    }

    public func run() throws -> AttackBenchmarkResult {
        let network = try PhotoZNetwork(architecture: architecture, head: head, seed: 0)
        var g = SplitMix64(seed: 1234)
        let x = (0..<(batchSize * network.valuesPerImage)).map { _ in Float(g.uniform(0, 1)) }
        let ebv = (0..<batchSize).map { _ in Float(g.uniform(0, 0.1)) }
        let z = (0..<batchSize).map { _ in Float(g.uniform(0, 0.4)) }
        let fgsm = try Attack(AttackConfiguration(method: .fgsm, epsilon: 8 / 255))
        var pgdSettings = AttackConfiguration(method: .pgd, epsilon: 8 / 255)
        pgdSettings.steps = pgdSteps
        pgdSettings.stepSize = 2 / 255
        let pgd = try Attack(pgdSettings)
        let fgsmRate = try time(warmup: 2, repeats: repeats, minTime: minTime) {
            _ = try fgsm.perturb(input: x, ebv: ebv, zSpec: z, network: network)
        }
        let pgdRate = try time(warmup: 0, repeats: pgdRepeats, minTime: 0) {
            _ = try pgd.perturb(input: x, ebv: ebv, zSpec: z, network: network)
        }
        return AttackBenchmarkResult(model: architecture.rawValue, head: head.rawValue, batchSize: batchSize,
                                     fgsmImagesPerSecond: fgsmRate, pgdImagesPerSecond: pgdRate, pgdSteps: pgdSteps)
    }

    /// Images per second: batch / median time of one call of `body`.
    private func time(warmup: Int, repeats: Int, minTime: Double, _ body: () throws -> Void) throws -> Double {
        for _ in 0..<warmup { try body() }
        var times: [Double] = []
        let start = Date()
        repeat {
            let t0 = Date()
            try body()
            times.append(Date().timeIntervalSince(t0))
        } while times.count < repeats || Date().timeIntervalSince(start) < minTime
        times.sort()
        let n = times.count
        return Double(batchSize) / (n % 2 == 1 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]))
    }
}
