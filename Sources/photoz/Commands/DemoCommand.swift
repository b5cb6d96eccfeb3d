import ArgumentParser
import Foundation
import PhotoZ
import PhotoZData
import SafeOutput
import SkySim

/// `photoz demo`: the whole flow on a simulated sky, with what exists.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole photoz flow on a simulated SDSS-like sky.",
        discussion: "simulate → ingest → inspect → validate → train (small CNN) → predict → evaluate, beside the colour k-NN baseline → FGSM attack of the test split. Files go to --dir; running the demo again in the same folder replaces its previous outputs."
    )

    @Option(help: "Folder for the demo's files.")
    var dir: String = "demo-output"

    @Option(help: "Number of simulated galaxies.")
    var count: Int = 2000

    @Option(help: "Random seed of the simulated sky and of training.")
    var seed: UInt64 = 1

    @Option(help: "Training epochs of the small CNN.")
    var epochs: Int = 8

    @Option(help: "ε of the FGSM attack, in network-input space.")
    var attackEpsilon: Float = 0.01

    static let marker = "photoz-demo.json"

    func validate() throws {
        guard count >= 50 else { throw ValidationError("--count \(count): the demo needs at least 50 galaxies to fill its three splits") }
        try checkBounds(count, "--count", 50...1_000_000, "galaxies")
        try checkBounds(epochs, "--epochs", Limits.epochs)
        guard attackEpsilon.isFinite, attackEpsilon > 0 else { throw ValidationError("--attack-epsilon \(attackEpsilon): must be positive, e.g. 0.01") }
    }

    func run() throws {
        let fm = FileManager.default
        let root = URL(fileURLWithPath: dir).standardizedFileURL
        let contents = (try? fm.contentsOfDirectory(atPath: root.path)) ?? []
        if !contents.isEmpty && !contents.contains(Self.marker) {
            throw ValidationError("\(root.path) exists and is not a photoz demo folder; choose another --dir")
        }
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        let lock = try claimOutput(root.path)
        defer { lock.release() }
        try AtomicFile.write(Data(jsonText(["count": String(count), "seed": String(seed), "tool_version": PhotoZVersion.current]).utf8),
                             to: root.appendingPathComponent(Self.marker).path)
        let start = Date()
        let sky = root.appendingPathComponent("sky").path
        let shards = root.appendingPathComponent("shards").path

        step(1, "simulate \(count) galaxies (seed \(seed)) → \(sky)")
        var simulation = SimulationConfig(count: count, seed: seed, layout: .mef)
        simulation.overwrite = true
        let sim = try simulateSky(simulation, outputDirectory: sky, progress: ProgressDisplay("simulate", unit: "cutouts").handler)
        print(String(format: "  %d cutouts in %.1f s (%.0f cutouts/s), median z %.3f", sim.count, sim.seconds, sim.cutoutsPerSecond, sim.medianRedshift))

        step(2, "ingest → \(shards)")
        var ingestConfig = IngestConfiguration(catalog: sim.catalogFITS, cutouts: sim.cutoutDirectory, output: shards)
        ingestConfig.overwrite = true
        let summary = try ingest(ingestConfig, progress: ProgressDisplay("ingest").handler)
        print(describe(summary).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))

        step(3, "inspect \(shards)")
        print(describe(try inspectShards(path: shards)).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))

        step(4, "validate \(shards)")
        let report = PhotoZData.validate(path: shards)
        guard report.isValid else {
            for problem in report.problems { printError("  - \(problem)") }
            throw ExitCode.failure
        }
        print("  valid: \(report.filesChecked) shards, \(report.rows) rows")

        let model = root.appendingPathComponent("model.h5").path
        step(5, "train the small CNN for \(epochs) epochs → \(model)")
        var training = TrainConfiguration(data: shards, out: model)
        training.architecture = .simple
        training.epochs = epochs
        training.batchSize = 32
        training.learningRate = 5e-4
        training.seed = seed
        training.overwrite = true
        let trained = try train(try Trainer(training))
        print(describe(trained).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))

        let predictionsPath = root.appendingPathComponent("predictions.hdf5").path
        step(6, "predict the test split with the best model → \(predictionsPath)")
        var prediction = PredictionConfiguration(models: [trained.bestPath], data: shards, out: predictionsPath, split: .test)
        prediction.overwrite = true
        let predictions = try predictToFile(prediction, progress: ProgressDisplay("predict").handler)
        print("  \(predictions.count) objects")

        step(7, "evaluate \(predictionsPath)")
        let evaluation = evaluatePredictions(predictions)
        let plots = try PredictionPlots.write(predictions, report: evaluation, beside: predictionsPath)
        print(evaluation.table.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))

        step(8, "baseline: colour k-NN on aperture magnitudes, same test split")
        let (knn, _) = try runColourKNNBaseline(BaselineConfiguration(data: shards))
        print("  k-NN   \(knn.summary)")
        print("  CNN    \(evaluation.overall.summary)")

        let adversarial = root.appendingPathComponent("fgsm").path
        step(9, "FGSM attack (ε = \(attackEpsilon) in network-input space) on the test split → \(adversarial)")
        var attack = AttackDataSetConfiguration(data: shards, out: adversarial, model: trained.bestPath,
                                                attack: AttackConfiguration(method: .fgsm, epsilon: attackEpsilon))
        attack.overwrite = true
        let attacked = try attackDataSet(attack, progress: ProgressDisplay("attack").handler)
        if let clean = attacked.clean, let fooled = attacked.adversarial {
            print("  clean  \(clean.summary)")
            print("  FGSM   \(fooled.summary)")
        }
        print("  adversarial shards: \(attacked.rows) rows in \(attacked.shards) shard(s), same schema (photoz validate/predict/train read them)")

        print(String(format: "\ndemo finished in %.1f s. Files:", Date().timeIntervalSince(start)))
        print("  simulated cutouts  \(sim.cutoutDirectory)")
        print("  catalog            \(sim.catalogFITS), \(sim.catalogCSV)")
        print("  shards             \(shards) (manifest.json, skipped.csv)")
        print("  model              \(model), \(trained.bestPath)")
        print("  predictions        \(predictionsPath)")
        print("  plots              \(plots.joined(separator: ", "))")
        print("  adversarial (FGSM) \(adversarial)")
    }

    private func step(_ n: Int, _ text: String) {
        print("\n[\(n)] \(text)")
    }
}
