import ArgumentParser
import Foundation
import PhotoZ
import PhotoZData

extension AttackMethod: ExpressibleByArgument {}
extension AttackNorm: ExpressibleByArgument {}
extension AttackSpace: ExpressibleByArgument {}
extension AttackLoss: ExpressibleByArgument {}
extension AdversarialTrainingConfiguration.Method: ExpressibleByArgument {}

/// The attack options shared by `attack` and `robustness`.
struct AttackOptions: ParsableArguments {
    @Option(help: "fgsm, bim, pgd (or universal, with attack).")
    var method: AttackMethod = .fgsm

    @Option(help: "Norm bounding the perturbation: linf or l2 (per image).")
    var norm: AttackNorm = .linf

    @Option(help: "Space of ε: input (network input, after the pixel transform) or sky-sigma (flux in units of each band's sky σ).")
    var space: AttackSpace = .input

    @Option(help: "Loss maximised: model (cross-entropy to the true bin, or MSE) or zmean (squared shift of the PDF mean from z_spec).")
    var loss: AttackLoss = .model

    @Option(help: "Iterations of bim/pgd (default 10), passes of universal (default 5).")
    var steps: Int?

    @Option(help: "Step size, in the space and norm of ε (default: ε for fgsm, 2.5·ε/steps for bim/pgd, ε/10 for universal).")
    var stepSize: Float?

    @Flag(inversion: .prefixedNo, help: "Start from a random point of the ε-ball (default: on for pgd only).")
    var randomStart: Bool?

    @Option(help: "Seed of the random start.")
    var seed: UInt64 = 0

    @Option(help: "Targeted: pull the estimate towards z_spec + DZ·(1 + z_spec) instead of away from z_spec.")
    var targetDz: Float?

    /// The attack at bound `epsilon`.
    func configuration(epsilon: Float) -> AttackConfiguration {
        var c = AttackConfiguration(method: method, epsilon: epsilon)
        c.norm = norm
        c.space = space
        c.loss = loss
        c.steps = steps
        c.stepSize = stepSize
        c.randomStart = randomStart
        c.seed = seed
        c.targetDeltaZ = targetDz
        return c
    }
}

/// `photoz attack`: adversarial data sets.
struct AttackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attack",
        abstract: "Attack a photo-z model and write the adversarial images as shards of the same schema.",
        discussion: """
        FGSM, BIM, PGD (L∞ or L2, optional random start) or a universal perturbation, against \
        the model's own loss or the PDF mean (--loss zmean), untargeted or towards a shift \
        (--target-dz). Writes --out: adversarial shards (flux units, same names, splits and \
        datasets as the source, plus `perturbation`), attack attributes and manifest.json \
        (schemas/adversarial-shard.md), so train, predict, inspect and validate read them. \
        --method universal also writes universal-perturbation.h5 (schemas/universal-perturbation.md), \
        which --apply adds to any data set. Nothing is left in --out when a run fails. --out must \
        not be or hold --data, --model or --apply; --overwrite replaces only a data set photoz \
        wrote. Exit codes: 0 done, 1 failed, 64 bad options or --out.
        """
    )

    @Option(help: "Model file to attack (with --apply: only for the metrics).")
    var model: String?

    @Option(help: "Data-set folder (with manifest.json) or a single shard.")
    var data: String

    @Option(help: "Output folder for the adversarial data set.")
    var out: String

    @OptionGroup var attack: AttackOptions

    @Option(help: "Bound of the perturbation, in --space and --norm.")
    var epsilon: Float?

    @Option(help: "Add this universal perturbation file to every image instead of attacking.")
    var apply: String?

    @Option(help: "Split to attack: test, valid, train or all.")
    var split: SplitChoice = .test

    @Option(help: "Split over which a universal perturbation is fitted: test, valid, train or all.")
    var fitSplit: SplitChoice = .train

    @Option(help: "Fit a universal perturbation on at most this many rows.")
    var fitMax: Int?

    @Flag(inversion: .prefixedNo, help: "Store the perturbation (flux units) as a dataset of each shard.")
    var perturbation = true

    @Option(help: "none, gzip or gzip:LEVEL.")
    var compression: String = "gzip:4"

    @Option(help: "Images per forward/backward pass.")
    var batchSize: Int = 64

    @Option(help: "oneDNN/OpenMP threads (default: one per core).")
    var threads: Int?

    @Flag(help: "Print the summary as JSON on stdout.")
    var json = false

    @Option(help: "Arithmetic of convolutions and dense layers: f32, or bf16 (AVX512-BF16 kernels; float32 weights, loss and softmax).")
    var precision: Precision = .f32

    @Flag(help: "Replace an existing output folder.")
    var overwrite = false

    func validate() throws {
        if apply == nil, epsilon == nil { throw ValidationError("give --epsilon (the bound, in --space \(attack.space.rawValue)), or --apply FILE") }
        if apply != nil, epsilon != nil { throw ValidationError("--apply uses the bound saved in its file: drop --epsilon") }
        if let epsilon, !(epsilon.isFinite && epsilon > 0) { throw ValidationError("--epsilon \(epsilon): must be positive") }
        try checkBounds(attack.steps, "--steps", 1...10_000)
        try checkBounds(batchSize, "--batch-size", Limits.batchSize)
        try checkBounds(fitMax, "--fit-max", 1...100_000_000)
        try checkBounds(threads, "--threads", Limits.threads)
        _ = try configuration()
        try checkOutput(out, kind: .folder, inputs: [("--data", data), ("--model", model), ("--apply", apply)], overwrite: overwrite,
                        recognise: PhotoZOutputs.isDataSet)
    }

    /// The library configuration these options describe; option errors are usage errors.
    func configuration() throws -> AttackDataSetConfiguration {
        var config = AttackDataSetConfiguration(data: data, out: out, model: model, attack: epsilon.map { attack.configuration(epsilon: $0) })
        try asUsage {
            config.apply = apply
            config.split = split.split
            config.fitSplit = fitSplit.split
            config.fitMaxRows = fitMax
            config.writePerturbation = perturbation
            config.compression = try ShardCompression(parsing: compression)
            config.batchSize = batchSize
            config.overwrite = overwrite
            try config.validate()
        }
        return config
    }

    func run() throws {
        // Under mpirun the ranks attack the batches in turn; rank 0 holds the lock, writes the
        // one data set and prints.
        try withMPI { context in
        let lock = context.isRoot ? try claimOutput(out) : nil
        defer { lock?.release() }
        Precision.default = precision
        if let threads { setenv("OMP_NUM_THREADS", String(threads), 1) }
        let summary = try attackDataSet(try configuration(), context: context,
                                        fitProgress: context.isRoot ? ProgressDisplay("fit universal", unit: "batches").handler : nil,
                                        progress: context.isRoot ? ProgressDisplay("attack").handler : nil)
        guard context.isRoot else { return }
        if json {
            print(jsonText(summary))
            return
        }
        print("\(summary.rows) objects in \(summary.shards) shards → \(summary.out) (\(String(format: "%.1f", summary.imagesPerSecond)) images/s)")
        print("attack: \(summary.description); largest perturbation norm \(String(format: "%.4g", summary.largestNorm))")
        if let file = summary.universalFile { print("universal perturbation: \(file)") }
        if let clean = summary.clean, let adversarial = summary.adversarial {
            print("clean        \(clean.summary)")
            print("adversarial  \(adversarial.summary)")
            if let shift = summary.meanAbsoluteShift { print(String(format: "mean |z_phot shift| %.4f", shift)) }
        }
        }
    }
}

/// `photoz bench-attack`: FGSM and PGD images/s, beside torch_bench.py's figures.
struct AttackBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-attack",
        abstract: "Measure FGSM and PGD images/s of a network (random inputs, ε = 8/255, α = 2/255).",
        discussion: "Compare with `torch_bench.py --sections fgsm pgd` run back to back at the same OMP_NUM_THREADS."
    )

    @Option(help: "inception or simple.")
    var model: Architecture = .inception

    @Option(help: "classification or regression.")
    var head: Head = .classification

    @Option(help: "Images per attack call.")
    var batchSize: Int = 64

    @Option(help: "Minimum seconds of timed FGSM calls.")
    var minTime: Double = 5

    @Option(help: "Timed PGD calls.")
    var pgdRepeats: Int = 3

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        var bench = AttackBenchmark(architecture: model, head: head, batchSize: batchSize)
        bench.minTime = minTime
        bench.pgdRepeats = pgdRepeats
        let r = try bench.run()
        if json { print(jsonText(r)); return }
        print("\(r.model) \(r.head) batch \(r.batchSize): " + String(format: "FGSM %.1f images/s, PGD-%d %.2f images/s",
                                                                            r.fgsmImagesPerSecond, r.pgdSteps, r.pgdImagesPerSecond))
    }
}
