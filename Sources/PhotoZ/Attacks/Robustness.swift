import Foundation
import MPI
import PhotoZData

/// What `photoz robustness` measures: one attack at several ε, made on each model and
/// evaluated on every model and on their ensemble.
public struct RobustnessConfiguration: Codable, Sendable {
    /// The attack; its `epsilon` is replaced by each value of `epsilons`.
    public var attack: AttackConfiguration
    /// Bounds to measure (> 0); ε = 0 (clean images) is always measured too.
    public var epsilons: [Float]
    public var split: Split? = .test
    public var batchSize = 64
    /// Use only the first rows of the split (nil: all).
    public var maxRows: Int?

    public init(attack: AttackConfiguration, epsilons: [Float]) {
        self.attack = attack
        self.epsilons = epsilons
    }

    /// Checks the options; messages name them.
    public func validate() throws {
        guard !epsilons.isEmpty else { throw PhotoZDataError.invalidOption("--epsilons: give at least one value, e.g. 0.001,0.002,0.005") }
        for e in epsilons where !(e.isFinite && e > 0) {
            throw PhotoZDataError.invalidOption("--epsilons: \(e) is not a positive number (ε = 0, the clean images, is always included)")
        }
        guard attack.method != .universal else {
            throw PhotoZDataError.invalidOption("--method universal: robustness curves use per-image attacks (fgsm, bim, pgd); fit a universal perturbation with photoz attack and evaluate it with predict")
        }
        var probe = attack
        probe.epsilon = epsilons[0]
        try probe.validate()
        guard batchSize >= 1 else { throw PhotoZDataError.invalidOption("--batch-size \(batchSize): at least 1") }
        if let maxRows, maxRows < 1 { throw PhotoZDataError.invalidOption("--max-rows \(maxRows): at least 1") }
    }
}

/// A model of a robustness run.
public struct RobustnessModel: Codable, Sendable {
    /// A short unique label (the file name without `.h5`).
    public var label: String
    public var path: String
    public var sha256: String
    public var architecture: String
    public var head: String
}

/// Metrics of every (attacked model, ε, evaluated model) triple.
public struct RobustnessReport: Codable, Sendable {
    public var configuration: RobustnessConfiguration
    public var models: [RobustnessModel]
    /// The evaluated models' labels, then `ensemble` when the models can be averaged.
    public var targets: [String]
    public var data: String
    public var dataChecksum: String
    public var rows: Int
    /// Metrics on clean images, one per target.
    public var clean: [PhotoZMetrics]
    /// `attacked[s][e][t]`: attack made on model s with `configuration.epsilons[e]`, evaluated on target t.
    public var attacked: [[[PhotoZMetrics]]]
    public var seconds: Double
    /// The number of processes that measured it (1 without mpirun; nil in reports written before).
    public var mpiRanks: Int?

    /// Metrics of target t under the attack made on model s at ε index e (−1: clean).
    public func metrics(source s: Int, epsilon e: Int, target t: Int) -> PhotoZMetrics {
        e < 0 ? clean[t] : attacked[s][e][t]
    }
}

/// Runs a robustness measurement. `models` are (path, network) pairs; all must take the data's image size.
///
/// Under mpirun (`context` distributed) each rank attacks and evaluates its share of the batches
/// (`RankPartition` of the batches, each keeping its global index and so its attack seed), rank 0
/// gathers the estimates and computes the metrics, and every rank returns rank 0's report: the
/// report of a single process (same values), with `mpiRanks` the number of ranks.
public func measureRobustness(models: [(path: String, network: PhotoZNetwork)], data: String, configuration: RobustnessConfiguration,
                              context: MPIContext? = nil, progress: ProgressHandler? = nil) throws -> RobustnessReport {
    let context = try context ?? MPIContext.start()
    try configuration.validate()
    precondition(!models.isEmpty, "robustness needs at least one model")
    let start = Date()
    let dataSet = try DataSet(path: data)
    for (_, network) in models { try UniversalPerturbation.checkCompatible(network, dataSet) }
    for (path, _) in models { try ModelImages.check(model: path, against: dataSet, purpose: "a robustness measurement") }
    let batches = try dataSet.plan(split: configuration.split, order: .perShard, batchSize: configuration.batchSize,
                                 maxRows: configuration.maxRows, purpose: "a robustness measurement")
    let networks = models.map(\.network)
    let evaluator = EnsembleEvaluator(networks: networks)
    let targetCount = evaluator.targetCount
    let epsilons = configuration.epsilons
    var zSpec: [Float] = []
    var clean = [[Float]](repeating: [], count: targetCount)
    var attacked = [[[[Float]]]](repeating: [[[Float]]](repeating: [[Float]](repeating: [], count: targetCount), count: epsilons.count),
                                 count: models.count)
    let mine = RankPartition(count: batches.count, ranks: context.size).range(of: context.rank)
    var failure: (any Error)?
    do {
        for k in mine {
            let rows = try dataSet.read(batches, batch: k).rows
            zSpec += rows.zSpec
            for (t, z) in try evaluator.estimates(flux: rows.images, ebv: rows.ebv).enumerated() { clean[t] += z }
            for (s, network) in networks.enumerated() {
                for (e, images) in try adversarialImages(rows, network: network, configuration: configuration, batchIndex: k).enumerated() {
                    for (t, z) in try evaluator.estimates(flux: images, ebv: rows.ebv).enumerated() { attacked[s][e][t] += z }
                }
            }
            progress?(k + 1 - mine.lowerBound, mine.count)
        }
    } catch { failure = error }
    if context.isDistributed {
        // Contiguous shares gathered in rank order: the single process's row order.
        try context.agree("attacking its share of the batches", failure)
        zSpec = try context.gather(zSpec) ?? []
        for t in clean.indices { clean[t] = try context.gather(clean[t]) ?? [] }
        for s in attacked.indices { for e in attacked[s].indices { for t in attacked[s][e].indices {
            attacked[s][e][t] = try context.gather(attacked[s][e][t]) ?? []
        } } }
    } else if let failure { throw failure }
    return try context.onRoot("computing the robustness metrics") { () -> RobustnessReport in
        let known = zSpec.indices.filter { zSpec[$0].isFinite }
        func metrics(_ z: [Float]) -> PhotoZMetrics { PhotoZMetrics(zPhot: known.map { z[$0] }, zSpec: known.map { zSpec[$0] }) }
        let infos = try robustnessLabels(models.map(\.path)).enumerated().map { k, label in
            RobustnessModel(label: label, path: models[k].path, sha256: try SHA256.hexDigest(ofFile: models[k].path),
                            architecture: networks[k].architecture.rawValue, head: networks[k].head.rawValue)
        }
        return RobustnessReport(configuration: configuration, models: infos,
                                targets: infos.map(\.label) + (evaluator.hasEnsemble ? ["ensemble"] : []),
                                data: data, dataChecksum: dataSet.checksum, rows: batches.rows, clean: clean.map(metrics),
                                attacked: attacked.map { $0.map { $0.map(metrics) } }, seconds: Date().timeIntervalSince(start),
                                mpiRanks: context.size)
    }
}

/// The adversarial images of a batch for each ε. FGSM with its default step (α = ε) needs one
/// gradient for all ε: δ_ε = ε·δ₁.
func adversarialImages(_ rows: ShardRows, network: PhotoZNetwork, configuration: RobustnessConfiguration, batchIndex: Int) throws -> [[Float]] {
    var settings = configuration.attack
    if settings.method == .fgsm && settings.stepSize == nil {
        settings.epsilon = 1
        let unit = try Attack(settings).perturb(flux: rows.images, ebv: rows.ebv, zSpec: rows.zSpec, network: network, batchIndex: batchIndex)
        let map = PerturbationMap(flux: rows.images, imageSize: network.imageSize, bands: network.bands,
                                  space: settings.space, transform: network.pixelTransform)
        return configuration.epsilons.map { e in map.flux(for: unit.delta.map { $0 * e }).images }
    }
    return try configuration.epsilons.map { e in
        settings.epsilon = e
        return try Attack(settings).perturb(flux: rows.images, ebv: rows.ebv, zSpec: rows.zSpec, network: network, batchIndex: batchIndex).images
    }
}

/// Unique short labels for model paths: file names without `.h5`, numbered when they repeat.
func robustnessLabels(_ paths: [String]) throws -> [String] {
    let names = paths.map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension }
    return names.enumerated().map { k, name in names.filter { $0 == name }.count > 1 ? "\(name)#\(k + 1)" : name }
}
