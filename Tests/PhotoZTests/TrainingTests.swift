import Foundation
import HDF5
import NeuralNet
import PhotoZData
import Testing
@testable import PhotoZ

@Suite(.serialized) struct TrainingTests {
    @Test func trainingLearnsRedshiftsAndWritesBestAndLast() throws {
        let dir = TemporaryDirectory()
        let data = try SyntheticData.make(in: dir.path, rows: 400)
        var config = quickConfig(data: data, out: dir.file("m.h5"), steps: 300)
        config.validEvery = 50
        config.learningRate = 3e-4
        // Without the default input scale and soft targets, which learn this set within 50 steps
        // (σ_MAD 0.013 at the first evaluation): here the first evaluation must show the prior.
        config.normaliseInput = false
        config.labelSmoothing = nil
        config.log = dir.file("log.jsonl")
        let summary = try Trainer(config).run()
        let first = try #require(summary.history.first), last = try #require(summary.history.last)
        #expect(summary.history.count == 6)
        let trace = summary.history.map { String(format: "step %d train %.3f valid %.3f sigma %.4f", $0.step, $0.trainLoss, $0.validLoss, $0.validMetrics.sigmaMAD) }
        // z is uniform over [0.02, 0.38]: the prior alone gives σ_MAD ≈ 0.09; the colours pin it down.
        #expect(first.validMetrics.sigmaMAD > 0.06, "\(trace)")
        #expect(summary.best!.validMetrics.sigmaMAD < 0.03, "\(trace)")
        #expect(last.trainLoss < first.trainLoss - 0.5, "\(trace)")
        #expect(FileManager.default.fileExists(atPath: dir.file("m.h5")))
        #expect(FileManager.default.fileExists(atPath: dir.file("m.best.h5")))
        let log = try String(contentsOfFile: dir.file("log.jsonl"), encoding: .utf8)
        #expect(log.split(separator: "\n").count == 6)
        // Nothing temporary is left beside the model files.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { !$0.contains(".tmp-") })
    }

    @Test func resumingGivesTheSameWeightsAsAnUninterruptedRun() throws {
        let dir = TemporaryDirectory()
        let data = try SyntheticData.make(in: dir.path, rows: 200)
        // Uninterrupted: 12 steps.
        var straight = quickConfig(data: data, out: dir.file("a.h5"), steps: 12)
        straight.validEvery = 6
        _ = try Trainer(straight).run()
        // The same run stopped after its save at step 6 (as a killed run leaves it), then resumed.
        var first = quickConfig(data: data, out: dir.file("b.h5"), steps: 12)
        first.validEvery = 6
        _ = try Trainer(first).run(stopAfter: 6)
        let trainer = try Trainer(first, resume: true)
        #expect(trainer.optimizer.step == 6)
        _ = try trainer.run()
        let a = try ModelFile.read(from: dir.file("a.h5")), b = try ModelFile.read(from: dir.file("b.h5"))
        #expect(a.parameters.keys.sorted() == b.parameters.keys.sorted())
        // Compare as booleans: a failing array comparison would make the test library diff 10⁵ floats.
        let differing = a.parameters.keys.sorted().filter { a.parameters[$0]!.values != b.parameters[$0]!.values }
        #expect(differing.isEmpty, "parameters differ after resume: \(differing)")
        #expect(a.optimizer?.step == 12 && b.optimizer?.step == 12)
    }

    @Test func resumeRefusesOtherSettingsOrData() throws {
        let dir = TemporaryDirectory()
        let data = try SyntheticData.make(in: dir.path, rows: 120)
        let config = quickConfig(data: data, out: dir.file("m.h5"), steps: 4)
        _ = try Trainer(config).run()
        var other = config
        other.learningRate = 5e-4
        #expect(throws: PhotoZDataError.self) { try Trainer(other, resume: true) }
        var missing = config
        missing.out = dir.file("none.h5")
        #expect(throws: PhotoZDataError.self) { try Trainer(missing, resume: true) }
        // A new run does not overwrite existing model files unless asked.
        #expect { try Trainer(config) } throws: { "\($0)".contains("already exists; pass --overwrite") }
    }

    @Test func badDataIsRefusedBeforeTraining() throws {
        let dir = TemporaryDirectory()
        // NaN in labels.
        let nan = try SyntheticData.make(in: dir.file("a"), rows: 60, nanZRow: 3)
        let nanError = try #require(throws: PhotoZDataError.self) { try Trainer(quickConfig(data: nan, out: dir.file("m.h5"), steps: 2)) }
        #expect("\(nanError)".contains("/z_spec row"))
        // Empty split.
        let data = try SyntheticData.make(in: dir.file("b"), rows: 60)
        try FileManager.default.removeItem(atPath: data + "/valid-00000.h5")
        var manifest = try Manifest.read(directory: data)
        manifest.shards.removeAll { $0.split == .valid }
        manifest.rows["valid"] = 0  // a consistent manifest (the reader refuses counts that disagree)
        try manifest.write(directory: data)
        let empty = try #require(throws: PhotoZDataError.self) { try Trainer(quickConfig(data: data, out: dir.file("m.h5"), steps: 2)) }
        #expect("\(empty)".contains("valid split is empty"))
        // Another shard schema version.
        let other = try SyntheticData.make(in: dir.file("c"), rows: 60)
        let file = try HDF5File.open(other + "/train-00000.h5", readOnly: false)
        try file.root.setAttribute("schema_version", .int64(7))
        try file.close()
        let version = try #require(throws: PhotoZDataError.self) { try DataSet(path: other) }
        #expect("\(version)".contains("version 7"))
    }

    @Test func predictionsRoundTripAndEnsemblesNeedTheSameBins() throws {
        let dir = TemporaryDirectory()
        let data = try SyntheticData.make(in: dir.path, rows: 100)
        _ = try Trainer(quickConfig(data: data, out: dir.file("m.h5"), steps: 4)).run()
        let network = try PhotoZNetwork.load(from: dir.file("m.h5")).network
        let predictions = try Predictor(networks: [network], batchSize: 7).predict(try DataSet(path: data), split: .test)
        #expect(predictions.count == 10)
        // Validation drops the PDFs batch by batch and keeps the same estimates and loss.
        let lean = try Predictor(networks: [network], batchSize: 7).predict(try DataSet(path: data), split: .test, keepPDFs: false)
        #expect(lean.pdf == nil)
        #expect(lean.zPhot == predictions.zPhot)
        #expect(abs(Trainer.loss(of: lean, network: network) - Trainer.loss(of: predictions, network: network)) < 1e-4)
        try PredictionFile.write(predictions, to: dir.file("p.h5"))
        let back = try PredictionFile.read(dir.file("p.h5"))
        #expect(back.objectID == predictions.objectID)
        #expect(back.pdf == predictions.pdf)
        #expect(back.zPhot == predictions.zPhot)
        #expect(back.binEdges?.count == 181)
        // The PDF mean and mode are consistent with the stored PDF.
        let k = 180
        for i in 0..<back.count {
            let row = back.pdf![i * k..<(i + 1) * k]
            #expect(abs(row.reduce(0, +) - 1) < 1e-4)
        }
        let coarse = try PhotoZNetwork(architecture: .simple, head: .classification, bins: RedshiftBins(count: 90, zMin: 0, zMax: 0.4), imageSize: 16)
        #expect(throws: PhotoZDataError.self) { try Predictor(networks: [network, coarse]) }
        let regression = try PhotoZNetwork(architecture: .simple, head: .regression, imageSize: 16)
        #expect(throws: PhotoZDataError.self) { try Predictor(networks: [network, regression]) }
    }

    /// Batches run across shard boundaries and the last one is padded: the predictions do not
    /// depend on the batch size, keep shard order, and the network never changes its batch size
    /// (rebuilding its buffers twice per shard made memory grow with the number of shards).
    @Test func predictionsDoNotDependOnTheBatchSizeAndBatchesSpanShards() throws {
        let dir = TemporaryDirectory()
        let data = try SyntheticData.make(in: dir.path, rows: 100)
        _ = try Trainer(quickConfig(data: data, out: dir.file("m.h5"), steps: 4)).run()
        let network = try PhotoZNetwork.load(from: dir.file("m.h5")).network
        let dataSet = try DataSet(path: data)
        let one = try Predictor(networks: [network], batchSize: 1).predict(dataSet, split: nil)
        let seven = try Predictor(networks: [network], batchSize: 7).predict(dataSet, split: nil)  // 100 = 14 · 7 + 2, three shards
        #expect(network.batchSize == 7)
        var expected: [Int64] = []
        for info in dataSet.shards(in: nil) { expected += try Shard(path: info.path).objectIDs() }
        #expect(seven.objectID == expected)
        #expect(one.objectID == expected)
        #expect(zip(one.zPhot, seven.zPhot).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(zip(one.pdf!, seven.pdf!).allSatisfy { abs($0 - $1) < 1e-5 })
        let all = try Predictor(networks: [network], batchSize: 256).predict(dataSet, split: nil)  // no padding beyond 100 rows
        #expect(network.batchSize == 100)
        #expect(zip(one.zPhot, all.zPhot).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test func augmentationsAreTheEightSymmetriesOfTheSquare() {
        let size = 4
        let source = (0..<(size * size)).map(Float.init)
        var images = Set<[Float]>()
        for turns in 0..<4 { for flip in [false, true] {
            var out = [Float](repeating: 0, count: source.count)
            source.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { Dihedral(quarterTurns: turns, flip: flip).apply(s, into: $0, size: size, planes: 1) } }
            #expect(out.sorted() == source)
            images.insert(out)
        } }
        #expect(images.count == 8)
        // Four quarter turns are the identity; one quarter turn moves the corner (0,0) to (3,0) or (0,3).
        var once = [Float](repeating: 0, count: source.count)
        source.withUnsafeBufferPointer { s in once.withUnsafeMutableBufferPointer { Dihedral(quarterTurns: 1, flip: false).apply(s, into: $0, size: size, planes: 1) } }
        #expect(once[3] == 0 || once[12] == 0)
    }

    @Test func theBatchOrderDependsOnlyOnSeedAndStep() throws {
        let dir = TemporaryDirectory()
        let data = try SyntheticData.make(in: dir.path, rows: 150)
        let dataSet = try DataSet(path: data)
        func ids(start: Int, count: Int) throws -> [[Int64]] {
            let stream = try BatchStream(dataSet: dataSet, split: .train, batchSize: 8, seed: 9, augment: true, transform: .default,
                                         startStep: start, bufferRows: 32)
            defer { stream.stop() }
            return try (0..<count).map { _ in try stream.next().objectID }
        }
        let full = try ids(start: 0, count: 20)
        #expect(try ids(start: 7, count: 13) == Array(full[7...]))
        // An epoch (15 steps of 8 of the 120 train rows) visits each row once.
        let epoch = full.prefix(15).flatMap { $0 }
        #expect(Set(epoch).count == 120)
        #expect(full[15] != full[0])
    }

    /// A rank's stream (`rows:` a share of the global batch) delivers exactly those rows of the
    /// single process's batches — the same objects, the same augmented, transformed images — from
    /// any start step, reading only its rows.
    @Test func aRankStreamDeliversItsRowsOfTheSingleProcessBatches() throws {
        let dir = TemporaryDirectory()
        let data = try SyntheticData.make(in: dir.path, rows: 150)
        let dataSet = try DataSet(path: data)
        func batches(_ rows: Range<Int>?, start: Int) throws -> [TrainingBatch] {
            let stream = try BatchStream(dataSet: dataSet, split: .train, batchSize: 10, seed: 5, augment: true, transform: .default,
                                         startStep: start, bufferRows: 40, rows: rows)
            defer { stream.stop() }
            return try (0..<14).map { _ in try stream.next() }
        }
        let whole = try batches(nil, start: 3)
        let pixels = whole[0].images.count / 10
        for share in [0..<4, 4..<7, 7..<10, 9..<10] {
            let part = try batches(share, start: 3)
            for (w, p) in zip(whole, part) {
                #expect(p.count == share.count && p.globalCount == 10 && p.rowsOfGlobalBatch == share)
                #expect(p.objectID == Array(w.objectID[share]) && p.zSpec == Array(w.zSpec[share]) && p.ebv == Array(w.ebv[share]))
                #expect(p.images == Array(w.images[share.lowerBound * pixels..<share.upperBound * pixels]))
            }
        }
    }

    /// Releasing a stream without calling stop() ends its background thread: the thread holds
    /// only the stream's producer, and the stream closes the queue when released.
    @Test func releasingTheStreamStopsItsThread() throws {
        let dir = TemporaryDirectory()
        let data = try SyntheticData.make(in: dir.path, rows: 150)
        let dataSet = try DataSet(path: data)
        var producer: BatchProducer?
        do {
            let stream = try BatchStream(dataSet: dataSet, split: .train, batchSize: 8, seed: 1, augment: false, transform: .default,
                                         queueDepth: 2)
            _ = try stream.next()
            producer = stream.producer
            #expect(producer!.isRunning, "the producer waits for room in the queue")
        }
        let deadline = Date().addingTimeInterval(10)
        while producer!.isRunning && Date() < deadline { usleep(10_000) }
        #expect(!producer!.isRunning, "the thread ended when the stream was released")
    }
}
