import Foundation
import HDF5
import NeuralNet
import PhotoZData
import Testing
@testable import PhotoZ

/// The default training recipe (per-architecture learning rate, warm-up, cosine decay), early
/// stopping, and bf16 training.
@Suite(.serialized) struct TrainingRecipeTests {
    @Test func scheduleWarmsUpLinearlyThenDecaysByCosineToItsFloor() {
        let s = StepSchedule(initial: 1e-3, warmupSteps: 10, cosineSteps: 110)
        #expect(abs(s.learningRate(after: 0) - 1e-4) < 1e-9)          // 1/10 of the peak on the first update
        #expect(abs(s.learningRate(after: 4) - 5e-4) < 1e-9)
        #expect(abs(s.learningRate(after: 10) - 1e-3) < 1e-9)         // the peak right after the warm-up
        #expect(abs(s.learningRate(after: 60) - 1e-3 * (0.01 + 0.99 * 0.5)) < 1e-8)   // half-way down the cosine
        #expect(abs(s.learningRate(after: 110) - 1e-5) < 1e-9)        // the floor, 1 % of the peak
        #expect(abs(s.learningRate(after: 500) - 1e-5) < 1e-9)        // held beyond the run
        // The step decay without warm-up is PyTorch's StepLR, as before.
        let step = StepSchedule(initial: 1e-4, stepSize: 50, gamma: 0.2)
        #expect(step.learningRate(after: 49) == 1e-4)
        #expect(abs(step.learningRate(after: 50) - 2e-5) < 1e-10)
    }

    @Test func configurationResolvesTheArchitecturesDefaultsAndLegacySchedules() throws {
        var c = TrainConfiguration(data: "d", out: "m.h5")
        c.architecture = .simple
        #expect(c.resolvedLearningRate == Architecture.simple.defaultLearningRate)
        c.architecture = .inception
        #expect(c.resolvedLearningRate == Architecture.inception.defaultLearningRate)
        let cosine = c.learningRateSchedule(totalSteps: 1000)
        #expect(cosine.warmupSteps == 50 && cosine.cosineSteps == 1000)
        #expect(c.learningRateSchedule(totalSteps: 100_000).warmupSteps == 200)
        // A configuration saved before the recipe (no "schedule" key) decodes to the step
        // decay half-way without warm-up, so that its run resumes exactly.
        var legacy = c
        legacy.learningRate = 1e-4
        var json = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(legacy)) as! [String: Any]
        json.removeValue(forKey: "schedule")
        let decoded = try JSONDecoder().decode(TrainConfiguration.self, from: try JSONSerialization.data(withJSONObject: json))
        #expect(decoded.schedule == nil)
        #expect(decoded.learningRateSchedule(totalSteps: 1000) == StepSchedule(initial: 1e-4, stepSize: 500, gamma: 0.2))
        var bad = c
        bad.warmupSteps = -1
        #expect(throws: PhotoZDataError.self) { try bad.validate() }
        bad = c
        bad.earlyStopping = 0
        #expect(throws: PhotoZDataError.self) { try bad.validate() }
    }

    /// What a new user runs: only data, output and length. The images carry z in their colours;
    /// the constant predictor (the training median) is the bar to clear by a factor of two.
    @Test func aDefaultRunLearns() throws {
        let dir = TemporaryDirectory()
        let data = try SyntheticData.make(in: dir.path, rows: 1000)
        var config = TrainConfiguration(data: data, out: dir.file("m.h5"))
        config.epochs = 6
        let summary = try Trainer(config).run()
        let dataSet = try DataSet(path: data)
        let trainZ = try dataSet.shards(in: .train).flatMap { try Shard(path: $0.path).floatColumn(ShardSchema.zSpec) }
        let validZ = try dataSet.shards(in: .valid).flatMap { try Shard(path: $0.path).floatColumn(ShardSchema.zSpec) }
        let median = trainZ.sorted()[trainZ.count / 2]
        let constant = PhotoZMetrics(zPhot: [Float](repeating: median, count: validZ.count), zSpec: validZ)
        let best = try #require(summary.best)
        let trace = summary.history.map { String(format: "step %d lr %.2e sigma %.4f", $0.step, $0.learningRate, $0.validMetrics.sigmaMAD) }
        #expect(best.validMetrics.sigmaMAD < 0.5 * constant.sigmaMAD, "constant \(constant.sigmaMAD): \(trace)")
    }

    @Test func earlyStoppingEndsARunThatNoLongerImproves() throws {
        let dir = TemporaryDirectory()
        let data = try SyntheticData.make(in: dir.path, rows: 200)
        var config = quickConfig(data: data, out: dir.file("m.h5"), steps: 40)
        config.validEvery = 4
        config.learningRate = 1e-12    // the weights do not move: σ_MAD never improves after the first evaluation
        config.earlyStopping = 2
        let summary = try Trainer(config).run()
        #expect(summary.stoppedEarly)
        #expect(summary.history.map(\.step) == [4, 8, 12])
        #expect(summary.steps == 12)
        // Resuming the stopped run does not train further.
        var more = config
        more.steps = 40
        let resumed = try Trainer(more, resume: true).run()
        #expect(resumed.stoppedEarly && resumed.steps == 12)
    }

    /// bf16 training writes the same float32 model file as float32 training; the file loads in a
    /// float32 network, and bf16 and float32 inference of one model agree to bf16's rounding.
    @Test func bf16TrainingWritesFloat32ModelFiles() throws {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        try #require(cpu.contains("avx512_bf16"), "no AVX512-BF16 on this CPU")
        let dir = TemporaryDirectory()
        let data = try SyntheticData.make(in: dir.path, rows: 200)
        var f32 = quickConfig(data: data, out: dir.file("f32.h5"), steps: 10)
        var bf16 = quickConfig(data: data, out: dir.file("bf16.h5"), steps: 10)
        bf16.precision = .bf16
        f32.precision = nil
        let trained = try Trainer(bf16)
        #expect(trained.network.engine.precision == .bf16)
        _ = try trained.run()
        _ = try Trainer(f32).run()
        let a = try ModelFile.read(from: dir.file("f32.h5")), b = try ModelFile.read(from: dir.file("bf16.h5"))
        #expect(Set(a.attributes.keys) == Set(b.attributes.keys))
        #expect(a.parameters.mapValues(\.shape) == b.parameters.mapValues(\.shape))
        for path in [dir.file("f32.h5"), dir.file("bf16.h5")] {
            let file = try HDF5File.open(path, readOnly: true)
            let group = try file.root.group("parameters")
            for name in try group.memberNames() {
                #expect(try group.dataset(name).elementType == .float32, "\(path) /parameters/\(name)")
            }
            try file.close()
        }
        // The bf16-trained weights, loaded into a float32 and a bf16 network.
        let net32 = try PhotoZNetwork.load(from: dir.file("bf16.h5"), engine: Engine(precision: .f32)).network
        let net16 = try PhotoZNetwork.load(from: dir.file("bf16.h5"), engine: Engine(precision: .bf16)).network
        let set = try DataSet(path: data)
        let p32 = try Predictor(networks: [net32], batchSize: 16).predict(set, split: .valid)
        let p16 = try Predictor(networks: [net16], batchSize: 16).predict(set, split: .valid)
        // Each layer's output is within (2⁻⁷ + 2⁻¹⁶)·Σ|terms|, plus 2⁻⁸ where it is written in bf16
        // (NeuralNet's BF16Tests); through the four
        // layers of the small CNN that moves a PDF mean by well under a bin width (0.4/180 ≈ 0.0022)
        // for almost every object. Bound: the median shift below a quarter of a bin, none above 0.02.
        let shifts = zip(p32.zPhot, p16.zPhot).map { abs(Double($0) - Double($1)) }.sorted()
        #expect(shifts[shifts.count / 2] < 0.00055, "\(shifts)")
        #expect(shifts.last! < 0.02, "\(shifts)")
        #expect(shifts.last! > 0, "bf16 and float32 predictions are identical: the bf16 path was not taken")
    }
}
