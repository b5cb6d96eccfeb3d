import Foundation
import HDF5
import SafeOutput
import Testing
@testable import PhotoZData

/// The data-set writer and reader: rows in, the same rows out, in the orders callers rely on.
@Suite struct DataSetReaderWriterTests {
    static let size = 8

    /// Rows with ids `ids`; every value derives from the id.
    static func rows(_ ids: Range<Int>) -> ShardRows {
        var rows = ShardRows(imageSize: size)
        for id in ids {
            let image = (0..<(5 * size * size)).map { Float(id) * 1000 + Float($0) }
            image.withUnsafeBufferPointer {
                rows.append(entry: CatalogEntry(objectID: Int64(id), ra: Double(id), dec: -Double(id), zSpec: Float(id) / 100,
                                                zSpecErr: 0.001, ebv: 0.02, row: id), image: $0)
            }
        }
        return rows
    }

    /// A data set of `count` train rows (shards of 10) and 5 test rows.
    static func write(_ path: String, count: Int = 25, first: Int = 0, compression: ShardCompression = .none) throws -> Manifest {
        var options = DataSetWriter.Options(imageSize: size)
        options.shardSize = 10
        options.compression = compression
        let writer = try DataSetWriter(target: path, options: options)
        try writer.append(rows(first..<first + count), split: .train)
        try writer.append(rows(1000..<1005), split: .test)
        return try writer.finish { _ in
            Manifest(imageSize: size, splitFractions: .default, compression: compression.description, inputs: [:], rows: [:],
                     skipped: 0, skippedReport: nil, shards: [])
        }
    }

    @Test func theWriterNamesHashesAndListsItsShardsAndTheReaderReadsThemBack() throws {
        let dir = TemporaryDirectory()
        let manifest = try Self.write(dir.file("data"), compression: .gzip(4))
        #expect(manifest.shards.map(\.file) == ["train-00000.h5", "train-00001.h5", "train-00002.h5", "test-00000.h5"])
        #expect(manifest.rows == ["train": 25, "valid": 0, "test": 5])
        for entry in manifest.shards { #expect(entry.sha256 == (try SHA256.hexDigest(ofFile: dir.file("data/" + entry.file)))) }
        #expect(validate(path: dir.file("data")).isValid)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["data"], "no staging folder left")

        let reader = try DataSetReader(path: dir.file("data"))
        let all = try reader.batches(split: .train, order: .sequential(padded: false), batchSize: 7, purpose: "a test")
        var seen = ShardRows(imageSize: Self.size)
        while let batch = try all.next() { seen.append(rows: 0..<batch.count, of: batch.rows) }
        let expected = Self.rows(0..<25)
        #expect(seen.objectID == expected.objectID && seen.images == expected.images && seen.ra == expected.ra)
        #expect(seen.dec == expected.dec && seen.zSpec == expected.zSpec && seen.zSpecErr == expected.zSpecErr && seen.ebv == expected.ebv)
    }

    @Test func sequentialBatchesArePaddedOrStopAtShardEnds() throws {
        let dir = TemporaryDirectory()
        _ = try Self.write(dir.file("data"))
        let reader = try DataSetReader(path: dir.file("data"))
        // 25 rows in batches of 7 across shards: 7, 7, 7, 4 real rows, each batch 7 rows long.
        let padded = try reader.batches(split: .train, order: .sequential(padded: true), batchSize: 7, purpose: "a test")
        var counts: [Int] = [], lengths: [Int] = [], last: ShardRows?
        while let batch = try padded.next() { counts.append(batch.count); lengths.append(batch.rows.count); last = batch.rows }
        #expect(counts == [7, 7, 7, 4] && lengths == [7, 7, 7, 7])
        #expect(last!.objectID == [21, 22, 23, 24, 0, 0, 0] && last!.images.suffix(3 * 5 * 64).allSatisfy { $0 == 0 })
        // Per shard: no batch spans two shards (shards of 10, 10, 5).
        let perShard = try reader.batches(split: .train, order: .perShard, batchSize: 7, purpose: "a test")
        var spans: [(Int, Int)] = []
        while let batch = try perShard.next() { spans.append((batch.shard!, batch.count)) }
        #expect(spans.map(\.0) == [0, 0, 1, 1, 2] && spans.map(\.1) == [7, 3, 7, 3, 5])
        // Only the columns asked for are read.
        let z = ShardSchema.column(ShardSchema.zSpec)!
        let some = try reader.batches(split: .test, order: .perShard, batchSize: 100, columns: [z], purpose: "a test")
        let batch = try #require(try some.next())
        #expect(batch.rows.columns == [z] && batch.rows.zSpec == Self.rows(1000..<1005).zSpec)
        #expect(throws: PhotoZDataError.self) { try reader.batches(split: .valid, order: .perShard, batchSize: 1, purpose: "a test") }
    }

    /// The shuffled order visits each row once per epoch and depends only on (seed, epoch, batch).
    @Test func theShuffledOrderIsAFunctionOfSeedEpochAndBatch() throws {
        let dir = TemporaryDirectory()
        _ = try Self.write(dir.file("data"), count: 95)
        let reader = try DataSetReader(path: dir.file("data"))
        func ids(epoch: Int, start: Int = 0, seed: UInt64 = 3) throws -> [[Int64]] {
            let batches = try reader.batches(split: .train, order: .shuffled(seed: seed, epoch: epoch, bufferRows: 16), batchSize: 8,
                                             startBatch: start, purpose: "a test")
            var out: [[Int64]] = []
            while let batch = try batches.next() { out.append(batch.rows.objectID) }
            return out
        }
        let e0 = try ids(epoch: 0)
        #expect(e0.count == 11 && Set(e0.joined()).count == 88)
        #expect(try ids(epoch: 0, start: 4) == Array(e0[4...]))
        #expect(try ids(epoch: 1) != e0 && (try ids(epoch: 0, seed: 4)) != e0)
        #expect(e0.joined().map { $0 } != Array(0..<88).map(Int64.init), "shuffled")
    }

    /// The shuffled order drawn on row references is the order `batches` reads, row for row, and
    /// reading any subset of a batch's references gives those rows of the batch (what each rank
    /// reads under mpirun), in the order asked for; across shards of several shuffle blocks.
    @Test func theShuffledRowReferencesAreTheShuffledBatchesAndReadOnlyTheirRows() throws {
        let dir = TemporaryDirectory()
        var options = DataSetWriter.Options(imageSize: Self.size)
        options.shardSize = 150
        options.compression = .gzip(1)
        let writer = try DataSetWriter(target: dir.file("data"), options: options)
        try writer.append(Self.rows(0..<400), split: .train)
        _ = try writer.finish { _ in
            Manifest(imageSize: Self.size, splitFractions: .default, compression: "gzip", inputs: [:], rows: [:], skipped: 0,
                     skippedReport: nil, shards: [])
        }
        let reader = try DataSetReader(path: dir.file("data"))
        for (epoch, buffer, batchSize, start) in [(0, 100, 24, 0), (2, 16, 7, 5), (1, 1024, 32, 3)] {
            let read = try reader.batches(split: .train, order: .shuffled(seed: 9, epoch: epoch, bufferRows: buffer), batchSize: batchSize,
                                          startBatch: start, purpose: "a test")
            let drawn = try reader.shuffledRowBatches(split: .train, seed: 9, epoch: epoch, bufferRows: buffer, batchSize: batchSize,
                                                      startBatch: start, purpose: "a test")
            #expect(drawn.count == read.count)
            var batches = 0
            while let batch = try read.next() {
                let references = try #require(drawn.next())
                #expect(references.index == batch.index)
                #expect(try reader.read(references.rows).objectID == batch.rows.objectID)
                let some = Array(references.rows[2..<5].reversed())  // a rank's part, in another order
                let part = try reader.read(some)
                #expect(part.objectID == Array(batch.rows.objectID[2..<5].reversed()))
                #expect(part.images == batch.rows.rows(4..<5).images + batch.rows.rows(3..<4).images + batch.rows.rows(2..<3).images)
                batches += 1
            }
            #expect(drawn.next() == nil && batches == 400 / batchSize - start)
        }
        // A reference outside its shard is an error naming the shard, not a crash.
        #expect(throws: PhotoZDataError.self) { try reader.read([RowReference(shard: 0, row: 150)]) }
    }

    /// The generator is SplitMix64 (the reference outputs for seed 0), as the training stream of
    /// photoz 0.1 used: the same seeds give the same orders.
    @Test func theShuffleGeneratorIsSplitMix64() {
        var g = ShuffleGenerator(seed: 0)
        #expect([g.next(), g.next(), g.next()] == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
    }

    /// A shard replaced under a reader stops it with an error saying so; the same bytes written
    /// again (a new inode, the manifest's checksum) do not.
    @Test func aShardReplacedWhileReadingIsAnError() throws {
        let dir = TemporaryDirectory()
        _ = try Self.write(dir.file("data"))
        _ = try Self.write(dir.file("other"), count: 30, first: 500)
        let reader = try DataSetReader(path: dir.file("data"))
        let shard = dir.file("data/train-00001.h5")
        let fm = FileManager.default
        try fm.copyItem(atPath: shard, toPath: dir.file("copy.h5"))
        #expect(rename(dir.file("copy.h5"), shard) == 0)
        func readAll() throws {
            let batches = try reader.batches(split: .train, order: .sequential(padded: false), batchSize: 4, purpose: "a test")
            while try batches.next() != nil {}
        }
        try readAll()  // same bytes: still the data set the manifest describes
        try fm.copyItem(atPath: dir.file("other/train-00001.h5"), toPath: dir.file("copy2.h5"))
        #expect(rename(dir.file("copy2.h5"), shard) == 0)
        let error = try #require(throws: PhotoZDataError.self) { try readAll() }
        #expect("\(error)".contains("train-00001.h5") && "\(error)".contains("replaced or modified while being read"), "\(error)")
    }

    /// An abandoned or failed write leaves the previous output as it was and no staging folder.
    @Test func anAbandonedWriteLeavesThePreviousOutput() throws {
        let dir = TemporaryDirectory()
        let before = try Self.write(dir.file("data"))
        var options = DataSetWriter.Options(imageSize: Self.size)
        #expect(throws: SafeOutputError.self) { try DataSetWriter(target: dir.file("data"), options: options) }
        options.overwrite = true
        do {
            let writer = try DataSetWriter(target: dir.file("data"), options: options)
            try writer.append(Self.rows(0..<3), split: .valid)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).count == 2, "staging beside the target")
            // released without finish, as when a producer throws
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["data"])
        #expect(try Manifest.read(directory: dir.file("data")) == before)
        let writer = try DataSetWriter(target: dir.file("data"), options: options)
        try writer.append(Self.rows(0..<3), split: .valid)
        #expect(throws: PhotoZDataError.self) {
            try writer.finish { _ in throw PhotoZDataError.invalidOption("a failing producer") }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["data"])
        #expect(try Manifest.read(directory: dir.file("data")) == before)
    }
}
