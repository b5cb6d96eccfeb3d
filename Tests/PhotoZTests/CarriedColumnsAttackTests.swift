import Foundation
import PhotoZData
import Testing
@testable import PhotoZ

/// Attacks carry the rows' `labelled` flag and kept catalog columns to the adversarial shards,
/// and refuse rows without a redshift (nothing to attack, a NaN label).
@Suite struct CarriedColumnsAttackTests {
    static let labelled = ShardSchema.column(ShardSchema.labelled)!
    static let kind = ShardColumn.catalog("class", .int64, categories: ["GALAXY", "QSO"])
    static let mag = ShardColumn.catalog("petroMag_r", .float64)

    /// The attack fixture's test split with `labelled`, a text and a number catalog column.
    static func dataSet(in dir: AttackScratch, unlabelledRow: Int? = nil) throws -> String {
        var rows = AttackFixture.batch(10, seed: 3)
        var extended = ShardRows(imageSize: AttackFixture.size, columns: ShardSchema.requiredColumns + [labelled, kind, mag])
        for k in 0..<rows.count {
            if k == unlabelledRow { rows.zSpec[k] = .nan; rows.zSpecErr[k] = .nan }
        }
        extended.images = rows.images
        for c in ShardSchema.requiredColumns where c.name != ShardSchema.images {
            switch c.kind {
            case .int64: extended[int64: c.name] = rows[int64: c.name]
            case .float32: extended[float32: c.name] = rows[float32: c.name]
            case .float64: extended[float64: c.name] = rows[float64: c.name]
            }
        }
        extended[int64: labelled.name] = (0..<rows.count).map { $0 == unlabelledRow ? 0 : 1 }
        extended[int64: kind.name] = (0..<rows.count).map { Int64($0 % 2) }
        extended[float64: mag.name] = (0..<rows.count).map { 16 + Double($0) / 4 }
        var options = DataSetWriter.Options(imageSize: AttackFixture.size)
        options.optionalColumns = [labelled, kind, mag]
        let out = dir.file("data")
        let writer = try DataSetWriter(target: out, options: options)
        try writer.append(extended, split: .test)
        try writer.finish { _ in
            Manifest(imageSize: AttackFixture.size, splitFractions: .default, compression: "gzip:4", inputs: [:], rows: [:], skipped: 0,
                     skippedReport: nil, shards: [])
        }
        return out
    }

    @Test func anAttackCarriesTheFlagAndTheCatalogColumns() throws {
        let dir = AttackScratch()
        let data = try Self.dataSet(in: dir)
        let model = try AttackFixture.modelFile(in: dir.path)
        let config = AttackDataSetConfiguration(data: data, out: dir.file("adv"), model: model,
                                                attack: AttackConfiguration(method: .fgsm, epsilon: 0.02))
        _ = try attackDataSet(config)
        let source = try DataSetReader(path: data), adversarial = try DataSetReader(path: dir.file("adv"))
        #expect(adversarial.catalogColumns == [Self.kind, Self.mag])
        let columns = [ShardSchema.column(ShardSchema.objectID)!, Self.labelled, Self.kind, Self.mag]
        let before = try source.read(try source.plan(split: nil, order: .perShard, batchSize: 64, purpose: "test"), batch: 0, columns: columns).rows
        let after = try adversarial.read(try adversarial.plan(split: nil, order: .perShard, batchSize: 64, purpose: "test"), batch: 0, columns: columns).rows
        for c in columns where c.kind == .int64 { #expect(after[int64: c.name] == before[int64: c.name], "\(c)") }
        #expect(after[float64: Self.mag.name] == before[float64: Self.mag.name])
        #expect(PhotoZData.validate(path: dir.file("adv")).isValid)
    }

    @Test func anAttackRefusesRowsWithoutARedshift() throws {
        let dir = AttackScratch()
        let data = try Self.dataSet(in: dir, unlabelledRow: 3)
        let model = try AttackFixture.modelFile(in: dir.path)
        let config = AttackDataSetConfiguration(data: data, out: dir.file("adv"), model: model,
                                                attack: AttackConfiguration(method: .fgsm, epsilon: 0.02))
        let error = try #require(throws: PhotoZDataError.self) { try attackDataSet(config) }
        #expect("\(error)".contains("1 rows of the test split have no spectroscopic redshift") && "\(error)".contains("labelled == 1"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("adv")))
    }
}

/// Predictions carry each object's position (ancil/ra, ancil/dec) through the file.
@Suite struct PredictionPositionTests {
    @Test func predictionsCarryRAAndDec() throws {
        let dir = AttackScratch()
        let data = try AttackFixture.dataSet(in: dir.path)
        let network = try AttackFixture.network()
        let predictions = try Predictor(networks: [network], batchSize: 5).predict(try DataSet(path: data), split: nil)
        let source = try DataSetReader(path: data)
        let columns = [ShardSchema.column(ShardSchema.ra)!, ShardSchema.column(ShardSchema.dec)!]
        var ra: [Double] = [], dec: [Double] = []
        let batches = try source.batches(split: nil, order: .sequential(padded: false), batchSize: 64, columns: columns, purpose: "test")
        while let batch = try batches.next() { ra += batch.rows.ra; dec += batch.rows.dec }
        #expect(predictions.ra == ra && predictions.dec == dec && ra.count == 36)
        try PredictionFile.write(predictions, to: dir.file("p.hdf5"))
        let read = try PredictionFile.read(dir.file("p.hdf5"))
        #expect(read.ra == ra && read.dec == dec)
        let h5py = try runPython("""
        import sys, h5py
        with h5py.File(sys.argv[1]) as f:
            print(f['ancil/ra'].dtype.str, f['ancil/ra'].attrs['unit'], repr(float(f['ancil/dec'][5])))
        """, arguments: [dir.file("p.hdf5")])
        #expect(h5py.trimmingCharacters(in: .whitespacesAndNewlines) == "<f8 deg \(dec[5])")
    }

    /// A data set converted from a source without positions holds 0 for them: predictions
    /// leave them out rather than hand on (0, 0) as each object's position.
    @Test func placeholderPositionsAreLeftOut() throws {
        let dir = AttackScratch()
        _ = try runPython("""
        import sys, numpy as np
        rng = np.random.default_rng(5)
        n, s = 12, \(AttackFixture.size)
        np.savez(sys.argv[1], data=rng.normal(size=(n, s, s, 5)).astype(np.float32), z=rng.uniform(0, .4, n).astype(np.float32), ebv=np.zeros(n, np.float32))
        """, arguments: [dir.file("p.npz")])
        var convert = ConvertConfiguration(format: .pasquetNPZ, source: dir.file("p.npz"), out: dir.file("ds"))
        convert.splitScheme = .all(.test)
        _ = try convertCollection(convert)
        let predictions = try Predictor(networks: [try AttackFixture.network()], batchSize: 5).predict(try DataSet(path: dir.file("ds")), split: nil)
        #expect(predictions.count == 12 && predictions.ra == nil && predictions.dec == nil)
        try PredictionFile.write(predictions, to: dir.file("p.hdf5"))
        let read = try PredictionFile.read(dir.file("p.hdf5"))
        #expect(read.count == 12 && read.ra == nil)
    }
}
