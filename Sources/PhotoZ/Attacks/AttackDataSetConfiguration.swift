import PhotoZData

/// Everything `photoz attack` needs; recorded as JSON in the adversarial shards it writes.
public struct AttackDataSetConfiguration: Codable, Sendable {
    /// Data-set folder (with manifest.json) or a single shard.
    public var data: String
    /// Output folder: adversarial shards, manifest.json and, for a universal attack, the perturbation file.
    public var out: String
    /// Model file attacked (not needed with `apply`, where it only adds metrics).
    public var model: String?
    /// The attack; nil with `apply`.
    public var attack: AttackConfiguration?
    /// A universal perturbation file to add to every image instead of attacking.
    public var apply: String?
    /// Split attacked (nil: all rows).
    public var split: Split? = .test
    /// Split and row limit over which a universal perturbation is fitted.
    public var fitSplit: Split? = .train
    public var fitMaxRows: Int?
    public var batchSize = 64
    /// Also store the perturbation (flux units) as a `perturbation` dataset.
    public var writePerturbation = true
    public var compression: ShardCompression = .gzip(4)
    public var overwrite = false

    /// The name of the universal perturbation file in the output folder.
    public static let universalFileName = "universal-perturbation.h5"

    public init(data: String, out: String, model: String?, attack: AttackConfiguration?) {
        self.data = data
        self.out = out
        self.model = model
        self.attack = attack
    }

    /// Checks the options that do not need the files; messages name the option.
    public func validate() throws {
        func bad(_ text: String) -> PhotoZDataError { .invalidOption(text) }
        switch (attack, apply) {
        case (nil, nil): throw bad("give an attack (--method, --epsilon) or a universal perturbation to --apply")
        case (.some, .some): throw bad("--apply adds a saved universal perturbation: drop --method/--epsilon, or drop --apply to run an attack")
        case let (attack?, nil):
            try attack.validate()
            guard model != nil else { throw bad("--model: an attack needs the model file it attacks") }
        case (nil, .some): break
        }
        guard batchSize >= 1 else { throw bad("--batch-size \(batchSize): at least 1") }
        if let fitMaxRows, fitMaxRows < 1 { throw bad("--fit-max \(fitMaxRows): at least 1") }
    }

    /// The method recorded in the shards.
    var methodName: String { attack?.method.rawValue ?? "universal" }
}

/// What `photoz attack` reports.
public struct AttackSummary: Codable, Sendable {
    public var out: String
    public var method: String
    public var description: String
    public var rows: Int
    public var shards: Int
    public var seconds: Double
    public var imagesPerSecond: Double
    /// Metrics of the model (the attacked one, or `--model` with `--apply`) on clean and adversarial images.
    public var clean: PhotoZMetrics?
    public var adversarial: PhotoZMetrics?
    /// Mean of |ẑ_adversarial − ẑ_clean| (same model).
    public var meanAbsoluteShift: Double?
    /// Largest perturbation norm in the attack's space and norm over all images (≤ ε).
    public var largestNorm: Double
    /// The universal perturbation file written or applied.
    public var universalFile: String?
    /// The number of processes that made it (1 without mpirun; nil in summaries of older versions).
    public var mpiRanks: Int?
}
