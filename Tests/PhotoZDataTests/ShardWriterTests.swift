import CZlib
import Foundation
import HDF5
import Testing
@testable import PhotoZData

/// Shards written with a planned number of rows: storage reserved at creation and the SHA-256
/// computed while writing, exact whatever the rows that actually arrive.
@Suite struct ShardWriterTests {
    static let size = 8

    static func batch(_ ids: Range<Int>) -> ShardRows {
        var batch = ShardRows(imageSize: size)
        for id in ids {
            let image = (0..<(5 * size * size)).map { Float(id) * 1000 + Float($0) * 0.5 }
            image.withUnsafeBufferPointer {
                batch.append(entry: CatalogEntry(objectID: Int64(id), ra: Double(id), dec: -Double(id), zSpec: Float(id) / 100,
                                                 zSpecErr: 0.001, ebv: 0.02, row: id), image: $0)
            }
        }
        return batch
    }

    /// Writes rows 0..<count in batches of `parts` sizes to a shard planned for `planned` rows.
    static func write(_ path: String, planned: Int?, parts: [Int], compression: HDF5Compression = .none,
                      earlyWriteBack: Bool = true) throws -> ShardWriter {
        var attributes = ShardAttributes()
        attributes.imageSize = size
        attributes.split = .train
        let writer = try ShardWriter(path: path, attributes: attributes, compression: compression, plannedRows: planned,
                                     earlyWriteBack: earlyWriteBack)
        var start = 0
        for part in parts {
            try writer.append(batch(start..<start + part))
            start += part
        }
        try writer.finish()
        return writer
    }

    static func expectRows(_ path: String, _ count: Int) throws {
        let shard = try Shard(path: path)
        #expect(shard.rows == count)
        let read = try shard.read(rows: 0..<count)
        let written = batch(0..<count)
        #expect(read.images == written.images)
        #expect(read.objectID == written.objectID && read.ra == written.ra && read.dec == written.dec)
        #expect(read.zSpec == written.zSpec && read.zSpecErr == written.zSpecErr && read.ebv == written.ebv)
        #expect(validate(path: path).problems.isEmpty)
    }

    /// As planned: the checksum is known at `finish` and is the file's, byte for byte; the rows
    /// (a last chunk only partly filled included) read back as written.
    @Test(arguments: [[3, 5, 2, 1], [64, 3], [11]])
    func aShardFilledAsPlannedIsHashedWhileWritten(parts: [Int]) throws {
        let dir = TemporaryDirectory()
        let path = dir.file("train-00000.h5")
        let rows = parts.reduce(0, +)
        let writer = try Self.write(path, planned: rows, parts: parts)
        let sha256 = try #require(writer.sha256, "computed while writing")
        #expect(sha256 == (try SHA256.hexDigest(ofFile: path)))
        try Self.expectRows(path, rows)
    }

    /// Fewer rows than planned (objects skipped) or more: the datasets shrink or grow, the file
    /// is right, and the checksum is left to be computed from the file.
    @Test(arguments: [(planned: 10, rows: 7), (planned: 4, rows: 9), (planned: 1, rows: 0)])
    func otherRowCountsThanPlannedStillGiveARightShard(planned: Int, rows: Int) throws {
        let dir = TemporaryDirectory()
        let path = dir.file("train-00000.h5")
        let writer = try Self.write(path, planned: planned, parts: rows == 0 ? [] : [rows])
        #expect(writer.sha256 == nil)
        try Self.expectRows(path, rows)
    }

    /// Compressed shards cannot reserve storage (compressed chunks have no size yet): the plan is
    /// ignored and the shard is the usual one.
    @Test func compressedShardsIgnoreThePlan() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("train-00000.h5")
        let writer = try Self.write(path, planned: 6, parts: [6], compression: .gzip(level: 4))
        #expect(writer.sha256 == nil)
        try Self.expectRows(path, 6)
    }

    /// Compressed shards take batches of at least 64 rows straight from the caller's rows
    /// (after the waiting rows fill a chunk), smaller ones through the buffer: any mix reads
    /// back as written.
    @Test(arguments: [[70], [3, 130, 1], [64, 64, 5], [5, 64, 66, 2], [2, 3, 200]])
    func compressedShardsOfLargeAndSmallBatchesReadBackAsWritten(parts: [Int]) throws {
        let dir = TemporaryDirectory()
        let path = dir.file("train-00000.h5")
        _ = try Self.write(path, planned: nil, parts: parts, compression: .gzip(level: 4))
        try Self.expectRows(path, parts.reduce(0, +))
    }

    /// The early checksum is checked against the closed file: metadata changed after the
    /// flush it relied on (here an attribute added before closing) makes it give up, never lie.
    @Test func metadataChangedAfterTheFlushMakesTheEarlyHashGiveUp() throws {
        let dir = TemporaryDirectory()
        for change in [false, true] {
            let path = dir.file("f\(change).h5")
            let file = try HDF5File.create(path)
            let data = try file.root.createDataset("x", of: Float.self, shape: [8, 16], maxShape: [nil, 16], chunks: [2, 16],
                                                   reserveStorage: true)
            try file.flush()
            let hash = try #require(StreamingFileHash(path: path, chunks: try data.chunkLocations()))
            data.onDirectChunkWrite = { hash.chunkWritten($0, $1) }
            let values = (0..<128).map(Float.init)
            try values.withUnsafeBufferPointer { try data.writeRows(0..<8, from: $0) }
            if change { try file.root.setAttribute("late", .string("written after the flush")) }
            let locations = try data.chunkLocations()
            try file.close()
            let early = hash.finish(chunksAtClose: locations)
            #expect(change ? early == nil : early == (try SHA256.hexDigest(ofFile: path)))
        }
    }

    /// Early write-back (`sync_file_range` after each batch, so the data set's one `syncfs`
    /// waits less) is a hint to the kernel: it is given for every batch, and the shard is the
    /// same byte for byte as one written without it (the creation time aside), its streaming
    /// checksum included.
    @Test(arguments: [HDF5Compression.none, .gzip(level: 4)])
    func earlyWriteBackIsGivenAndChangesNoByte(compression: HDF5Compression) throws {
        let dir = TemporaryDirectory()
        let parts = [9, 8, 16, 3]
        let rows = parts.reduce(0, +)
        let with = try Self.write(dir.file("with.h5"), planned: rows, parts: parts, compression: compression, earlyWriteBack: true)
        let without = try Self.write(dir.file("without.h5"), planned: rows, parts: parts, compression: compression, earlyWriteBack: false)
        // Uncompressed rows reach the file at each append; compressed ones wait for 16 chunks
        // to compress together (here all of them, at finish). Then one hint at close.
        #expect((with.writeBack?.started ?? 0) >= (compression == .none ? parts.count : 1) + 1, "a hint per write and one at close")
        #expect(without.writeBack == nil)
        if compression == .none {
            #expect(with.sha256 == (try SHA256.hexDigest(ofFile: with.path)), "the checksum computed while writing is the file's")
        }
        var bytes = try [with.path, without.path].map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: $0))) }
        #expect(bytes[0].count == bytes[1].count)
        // The shards differ only in their `created` attribute: blank each file's own timestamp.
        for (k, path) in [with.path, without.path].enumerated() {
            let created = try #require(try HDF5File.open(path).root.attribute(ShardSchema.Attribute.created)?.stringValue)
            let needle = [UInt8](created.utf8)
            var found = 0
            var i = 0
            while i + needle.count <= bytes[k].count {
                if Array(bytes[k][i..<i + needle.count]) == needle {
                    bytes[k].replaceSubrange(i..<i + needle.count, with: repeatElement(0, count: needle.count))
                    found += 1
                }
                i += 1
            }
            #expect(found >= 1)
        }
        #expect(bytes[0] == bytes[1])
        try Self.expectRows(with.path, rows)
    }

    /// `gzip:4` means "at least as small as zlib's level 4" (what h5py writes for
    /// `compression_opts=4`), whichever libdeflate level photoz uses to get there faster: on
    /// galaxy-like images (a profile and sky noise, 64×64, 5 bands) the shard's image chunks
    /// are no larger than zlib level 4 makes of the same shuffled chunks.
    @Test func gzipLevel4ChunksAreNoLargerThanZlibLevel4() throws {
        let size = 64, rows = 32, p = 5 * size * size
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func uniform() -> Double {  // splitmix64, in (0, 1)
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return (Double((z ^ (z >> 31)) >> 11) + 0.5) / 9_007_199_254_740_992
        }
        func gaussian() -> Double { (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform()) }
        var rowsIn = ShardRows(imageSize: size)
        for id in 0..<rows {
            let sigma = 1.5 + 4 * uniform(), flux = exp(1 + 0.7 * gaussian())
            var image = [Float](repeating: 0, count: p)
            for b in 0..<5 {
                let noise = [0.08, 0.03, 0.03, 0.04, 0.12][b], scale = [0.3, 0.7, 1.0, 1.3, 1.5][b]
                for y in 0..<size {
                    for x in 0..<size {
                        let r2 = pow(Double(x) - 31.5, 2) + pow(Double(y) - 31.5, 2)
                        image[(b * size + y) * size + x] = Float(flux * scale / (2 * .pi * sigma * sigma) * exp(-r2 / (2 * sigma * sigma)) + noise * gaussian())
                    }
                }
            }
            image.withUnsafeBufferPointer {
                rowsIn.append(entry: CatalogEntry(objectID: Int64(id), ra: 0, dec: 0, zSpec: 0.1, zSpecErr: 0.001, ebv: 0.02, row: id), image: $0)
            }
        }
        let dir = TemporaryDirectory()
        var attributes = ShardAttributes()
        attributes.imageSize = size
        attributes.split = .train
        let writer = try ShardWriter(path: dir.file("s.h5"), attributes: attributes, compression: .gzip(level: 4))
        try writer.append(rowsIn)
        try writer.finish()
        let stored = try HDF5File.open(writer.path).root.dataset(ShardSchema.images).chunkLocations().reduce(0) { $0 + (try #require($1)).size }

        var zlib = 0
        let chunkBytes = ShardSchema.chunkRows * p * 4
        var shuffled = [UInt8](repeating: 0, count: chunkBytes)
        var out = [UInt8](repeating: 0, count: Int(compressBound(uLong(chunkBytes))))
        try rowsIn.images.withUnsafeBytes { raw in
            for chunk in 0..<rows / ShardSchema.chunkRows {
                let bytes = raw.baseAddress! + chunk * chunkBytes
                let n = chunkBytes / 4
                for i in 0..<n { for k in 0..<4 { shuffled[k * n + i] = bytes.load(fromByteOffset: 4 * i + k, as: UInt8.self) } }
                var length = uLongf(out.count)
                #expect(compress2(&out, &length, shuffled, uLong(chunkBytes), 4) == Z_OK)
                zlib += Int(length)
            }
        }
        #expect(stored <= zlib, "photoz's gzip:4 image chunks: \(stored) bytes; zlib level 4: \(zlib)")
        #expect(Double(stored) > 0.5 * Double(zlib), "the images are compressed, not dropped")
    }
}
