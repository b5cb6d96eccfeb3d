import ArgumentParser
import Foundation
import PhotoZ
import PhotoZData

/// `photoz robustness`: metrics vs ε per model, and the transfer matrix.
struct RobustnessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "robustness",
        abstract: "Bias, σ_MAD and η of each model under an attack at several ε, and how attacks transfer between models.",
        discussion: """
        For each model and ε, the attack is made on that model and evaluated on every model and \
        on their ensemble (averaged PDFs): the diagonal gives the white-box robustness curves, the \
        rows the transfer of attacks made on one model. Table on stdout (--json for all figures); \
        with --out STEM, STEM.json and SVG plots (STEM.bias.svg, STEM.sigma-mad.svg, STEM.eta.svg, \
        STEM.transfer.svg). Nothing is written to the data set.
        """
    )

    @Option(help: "Model file (repeat for several models; with several, the transfer matrix and the ensemble).")
    var model: [String]

    @Option(help: "Data-set folder or a single shard.")
    var data: String

    @OptionGroup var attack: AttackOptions

    @Option(help: "Bounds to measure, comma-separated (ε = 0 is always included), e.g. 0.001,0.002,0.005.")
    var epsilons: String

    @Option(help: "ε of the transfer table and plot (default: the largest).")
    var transferEpsilon: Float?

    @Option(help: "Split: test, valid, train or all.")
    var split: SplitChoice = .test

    @Option(help: "Use only the first N rows of the split.")
    var maxRows: Int?

    @Option(help: "Images per forward/backward pass.")
    var batchSize: Int = 64

    @Option(help: "Write STEM.json and the SVG plots.")
    var out: String?

    @Flag(help: "Replace the STEM.json and plots of an earlier robustness run.")
    var overwrite = false

    @Option(help: "oneDNN/OpenMP threads (default: one per core).")
    var threads: Int?

    @Option(help: "Arithmetic of convolutions and dense layers: f32, or bf16 (AVX512-BF16 kernels; float32 weights, loss and softmax).")
    var precision: Precision = .f32

    @Flag(help: "Print the full report as JSON on stdout instead of the table.")
    var json = false

    func validate() throws {
        guard !model.isEmpty else { throw ValidationError("give at least one --model") }
        guard attack.method != .universal else {
            throw ValidationError("--method universal: robustness curves use fgsm, bim or pgd; fit a universal perturbation with photoz attack and evaluate it with predict")
        }
        try checkBounds(batchSize, "--batch-size", Limits.batchSize)
        try checkBounds(maxRows, "--max-rows", 1...100_000_000)
        try checkBounds(threads, "--threads", Limits.threads)
        if let transferEpsilon, !(transferEpsilon.isFinite && transferEpsilon > 0) { throw ValidationError("--transfer-epsilon \(transferEpsilon): must be positive") }
        _ = try configuration()
        if let out {
            try checkOutput(out + ".json", option: "--out", kind: .file, inputs: [("--data", data)] + model.map { ("--model", $0) },
                            overwrite: overwrite, recognise: PhotoZOutputs.isRobustnessReport)
        }
    }

    /// The measurement these options describe; option errors are usage errors.
    func configuration() throws -> RobustnessConfiguration {
        let values = try epsilons.split(separator: ",").map { text -> Float in
            guard let e = Float(text.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--epsilons: '\(text)' is not a number") }
            return e
        }
        var config = RobustnessConfiguration(attack: attack.configuration(epsilon: values.first ?? 1), epsilons: values)
        config.split = split.split
        config.maxRows = maxRows
        config.batchSize = batchSize
        try asUsage { try config.validate() }
        return config
    }

    func run() throws {
        // Under mpirun each rank attacks its share of the batches; rank 0 holds the lock,
        // writes the report and prints.
        try withMPI { context in
        let lock = context.isRoot ? try out.map { try claimOutput($0 + ".json") } : nil
        defer { lock?.release() }
        Precision.default = precision
        if let threads { setenv("OMP_NUM_THREADS", String(threads), 1) }
        let models = try model.map { ($0, try PhotoZNetwork.load(from: $0).network) }
        let report = try measureRobustness(models: models, data: data, configuration: try configuration(), context: context,
                                           progress: context.isRoot ? ProgressDisplay("robustness", unit: "batches").handler : nil)
        guard context.isRoot else { return }
        let written = try out.map { try report.write(stem: $0, transferEpsilon: transferEpsilon, overwrite: overwrite) } ?? []
        if json {
            print(jsonText(report))
        } else {
            print(report.table(transferEpsilon: transferEpsilon))
            if let labelled = report.clean.first?.count, labelled < report.rows {
                print("\(report.rows - labelled) of the \(report.rows) rows have no z_spec (unlabelled): left out of every metric")
            }
            if !written.isEmpty { print("\nwritten: " + written.joined(separator: ", ")) }
        }
        }
    }
}
