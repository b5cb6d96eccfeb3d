import Foundation
import CDeflate
@testable import HDF5
import Testing

@Suite struct ParallelDeflateTests {
    @Test func shuffleGroupsTheBytesOfEachElement() {
        let source: [UInt8] = [1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24, 99]
        var target = [UInt8](repeating: 0, count: source.count)
        source.withUnsafeBytes { input in
            target.withUnsafeMutableBytes { ParallelDeflate.shuffle(input, into: $0, elementSize: 4) }
        }
        #expect(target == [1, 11, 21, 2, 12, 22, 3, 13, 23, 4, 14, 24, 99])
    }

    @Test func unshuffleInvertsShuffle() {
        let source = (0..<203).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        for size in [2, 4, 8] {
            var shuffled = [UInt8](repeating: 0, count: source.count), back = shuffled
            source.withUnsafeBytes { input in shuffled.withUnsafeMutableBytes { ParallelDeflate.shuffle(input, into: $0, elementSize: size) } }
            shuffled.withUnsafeBytes { input in back.withUnsafeMutableBytes { ParallelDeflate.unshuffle(input, into: $0, elementSize: size) } }
            #expect(back == source, "element size \(size)")
        }
    }

    @Test func readOnlyFilesInflateChunksInParallel() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        let file = try HDF5File.create(path)
        let images = noisyImages(count: 11, bands: 2, size: 8, seed: 3)
        let written = try file.root.createDataset("images", of: Float.self, shape: [11, 2, 8, 8], chunks: [4, 2, 8, 8],
                                                  compression: .gzip(level: 4), shuffle: true)
        try written.write(images)
        try file.root.createDataset("plain", of: Float.self, shape: [11, 2, 8, 8], chunks: [4, 2, 8, 8]).write(images)
        #expect(try written.readRows(0..<4, as: Float.self) == Array(images[0..<512]))
        #expect(H5.locked { written.parallelChunkReads } == 0, "a writable file reads through HDF5")
        try file.close()

        let data = try HDF5File.open(path).root.dataset("images")
        #expect(try data.read(as: Float.self) == images)
        #expect(H5.locked { data.parallelChunkReads } == 3)
        #expect(try data.readRows(3..<10, as: Float.self) == Array(images[3 * 128..<10 * 128]))  // 3 chunks touched
        #expect(try data.readRows(9..<11, as: Float.self) == Array(images[9 * 128..<11 * 128]))  // the partial last chunk
        #expect(H5.locked { data.parallelChunkReads } == 7)
        #expect(try data.readRows(1..<2, as: Double.self) == images[128..<256].map(Double.init))  // conversion: HDF5
        #expect(H5.locked { data.parallelChunkReads } == 7)
        let plain = try HDF5File.open(path).root.dataset("plain")
        #expect(try plain.read(as: Float.self) == images)
        #expect(H5.locked { plain.parallelChunkReads } == 0, "no deflate filter: HDF5 reads it")
    }

    @Test func chunksWithoutStorageFallBackToHDF5sFillValues() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        try runPython("""
            import h5py, numpy as np, sys
            with h5py.File(sys.argv[1], 'w') as f:
                d = f.create_dataset('x', shape=(8, 3), maxshape=(None, 3), chunks=(2, 3), dtype='<i4',
                                     compression='gzip', shuffle=True, fillvalue=-5)
                d[0:4] = np.arange(12).reshape(4, 3)
            """, [path])
        let data = try HDF5File.open(path).root.dataset("x")
        #expect(try data.readRows(0..<4, as: Int32.self) == (0..<12).map(Int32.init))
        #expect(H5.locked { data.parallelChunkReads } == 2)
        #expect(try data.read(as: Int32.self) == (0..<12).map(Int32.init) + [Int32](repeating: -5, count: 12))
    }

    @Test func wholeChunksAreCompressedInParallelAndReadBackExactly() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        let file = try HDF5File.create(path)
        let images = noisyImages(count: 10, bands: 2, size: 16)
        let data = try file.root.createDataset("images", of: Float.self, shape: [0, 2, 16, 16], maxShape: [nil, 2, 16, 16],
                                               chunks: [4, 2, 16, 16], compression: .gzip(level: 4), shuffle: true)
        try images.withUnsafeBufferPointer { try data.append($0) }
        // 0..<8 as two whole chunks, 8..<10 as the dataset's last chunk padded with the fill value.
        #expect(H5.locked { data.parallelChunkWrites } == 3)
        #expect(try data.read(as: Float.self) == images)
        try file.close()
        #expect(try HDF5File.open(path).root.dataset("images").read(as: Float.self) == images)
    }

    /// Without a filter, whole chunks go to the file straight from the rows (no copy through
    /// HDF5's chunk cache); the last one is padded with the fill value as HDF5 pads edge chunks,
    /// unaligned rows take HDF5's path, and h5py reads every value.
    @Test func unfilteredChunksAreWrittenDirectlyAndReadEverywhere() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        let file = try HDF5File.create(path)
        let images = noisyImages(count: 10, bands: 2, size: 16)
        let data = try file.root.createDataset("images", of: Float.self, shape: [0, 2, 16, 16], maxShape: [nil, 2, 16, 16],
                                               chunks: [4, 2, 16, 16])
        try images.withUnsafeBufferPointer { try data.append($0) }
        #expect(H5.locked { data.parallelChunkWrites } == 3)  // 0..<4, 4..<8, and 8..<10 padded
        try data.resize(rows: 12)
        var expected = images + [Float](repeating: 0, count: 2 * 512)
        #expect(try data.read(as: Float.self) == expected)  // rows 10, 11: the fill value
        let row = (0..<512).map { Float($0) }
        try row.withUnsafeBufferPointer { try data.writeRows(5..<6, from: $0) }  // inside a chunk: HDF5's path
        #expect(H5.locked { data.parallelChunkWrites } == 3)
        expected.replaceSubrange(5 * 512..<6 * 512, with: row)
        try file.close()
        #expect(try HDF5File.open(path).root.dataset("images").read(as: Float.self) == expected)
        let raw = folder.path("expected.f32")
        try expected.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: raw)) }
        let answer = try runPython("""
            import h5py, numpy as np, sys
            d = h5py.File(sys.argv[1], 'r')['images']
            same = np.array_equal(d[:], np.fromfile(sys.argv[2], dtype='<f4').reshape(12, 2, 16, 16))
            print(d.compression, d.chunks, d.shape, same)
            """, [path, raw])
        #expect(answer.trimmingCharacters(in: .whitespacesAndNewlines) == "None (4, 2, 16, 16) (12, 2, 16, 16) True")
    }

    /// Storage reserved at creation: every chunk has its place at once, in row order and ahead
    /// of datasets created later; the observer of direct chunk writes sees each chunk, in
    /// order, with the bytes then stored (the last one padded with the fill value).
    @Test func reservedStorageAndObservedChunkWrites() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        let file = try HDF5File.create(path)
        let data = try file.root.createDataset("x", of: Float.self, shape: [10, 2, 8], maxShape: [nil, 2, 8], chunks: [4, 2, 8],
                                               reserveStorage: true)
        let later = try file.root.createDataset("y", of: Int64.self, shape: [10], maxShape: [nil], chunks: [1024], reserveStorage: true)
        let places = try data.chunkLocations().map { try #require($0) }
        #expect(places.map(\.size) == [256, 256, 256])
        #expect(places[0].offset + 256 <= places[1].offset && places[1].offset + 256 <= places[2].offset)
        let laterPlace = try #require(try later.chunkLocations().first ?? nil)
        #expect(laterPlace.offset >= places[2].offset + 256)
        #expect(throws: HDF5Error.self) {
            try file.root.createDataset("z", of: Float.self, shape: [4], chunks: [4], compression: .gzip(level: 1), reserveStorage: true)
        }

        final class Seen: @unchecked Sendable { var chunks: [(Int, [Float])] = [] }
        let seen = Seen()
        data.onDirectChunkWrite = { index, bytes in seen.chunks.append((index, Array(bytes.bindMemory(to: Float.self)))) }
        let values = (0..<160).map { Float($0) + 0.25 }
        try values.withUnsafeBufferPointer { try data.writeRows(0..<10, from: $0) }
        #expect(seen.chunks.map(\.0) == [0, 1, 2])
        #expect(seen.chunks.flatMap(\.1) == values + [Float](repeating: 0, count: 32))
        #expect(try data.chunkLocations().map { $0?.offset } == places.map(\.offset), "written in place")
        try file.close()
        #expect(try HDF5File.open(path).root.dataset("x").read(as: Float.self) == values)
        // Once closed, the superblock no longer says "open for writing".
        var first = Array(try Data(contentsOf: URL(fileURLWithPath: path)).prefix(24))
        let closed = first
        #expect(HDF5File.asClosed(firstBytes: &first) && first == closed)
        var other = [UInt8](repeating: 7, count: 24)
        #expect(!HDF5File.asClosed(firstBytes: &other) && other == [UInt8](repeating: 7, count: 24))
    }

    @Test func unalignedRowsFallBackToHDF5ForTheirPartialChunks() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let file = try HDF5File.create(folder.path("a.h5"))
        let rows = (0..<20 * 3).map { Int32($0 * 7 - 50) }
        let data = try file.root.createDataset("x", of: Int32.self, shape: [20, 3], chunks: [4, 3], compression: .gzip(level: 6))
        try data.write([Int32](repeating: -1, count: 60))  // 5 whole chunks, all parallel
        #expect(H5.locked { data.parallelChunkWrites } == 5)
        // Rows 3..<14: row 3 and rows 12..<14 through H5Dwrite, chunks 4..<8 and 8..<12 in parallel.
        try rows[9..<42].withUnsafeBufferPointer { try data.writeRows(3..<14, from: $0) }
        #expect(H5.locked { data.parallelChunkWrites } == 7)
        let expected = (0..<60).map { $0 >= 9 && $0 < 42 ? rows[$0] : -1 }
        #expect(try data.read(as: Int32.self) == expected)
        // Rows inside one chunk never take the parallel path.
        try [1, 2, 3].withUnsafeBufferPointer { try data.writeRows(17..<18, from: $0) }
        #expect(H5.locked { data.parallelChunkWrites } == 7)
        #expect(try data.readRows(17..<18, as: Int32.self) == [1, 2, 3])
    }

    @Test func typeConversionOrOtherFiltersUseHDF5sOwnPath() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let file = try HDF5File.create(folder.path("a.h5"))
        let converted = try file.root.createDataset("f", of: Float.self, shape: [8], chunks: [4], compression: .gzip(level: 4))
        try converted.write([Double](repeating: 1.5, count: 8))  // doubles into float32: HDF5 converts
        #expect(H5.locked { converted.parallelChunkWrites } == 0)
        #expect(try converted.read(as: Float.self) == [Float](repeating: 1.5, count: 8))
        let plain = try file.root.createDataset("p", of: Float.self, shape: [8], chunks: [4])
        try plain.write([Double](repeating: 2, count: 8))  // no filter, but a conversion: HDF5's path
        #expect(H5.locked { plain.parallelChunkWrites } == 0)
        #expect(try plain.read(as: Float.self) == [Float](repeating: 2, count: 8))
        let partialRows = try file.root.createDataset("r", of: Float.self, shape: [8, 4], chunks: [4, 2], compression: .gzip(level: 4))
        try partialRows.write([Float](repeating: 3, count: 32))  // chunks are not whole rows
        #expect(H5.locked { partialRows.parallelChunkWrites } == 0)
        #expect(try partialRows.read(as: Float.self) == [Float](repeating: 3, count: 32))
    }

    /// Compresses one chunk as the parallel writer does and inflates it with libdeflate.
    func roundTrip(_ raw: [UInt8], planes: Int, level: Int = 4) throws -> (stream: [UInt8], decoded: [UInt8]) {
        let compressor = try #require(libdeflate_alloc_compressor(Int32(level)))
        defer { libdeflate_free_compressor(compressor) }
        let capacity = libdeflate_zlib_compress_bound(compressor, raw.count) + ParallelDeflate.storedOverhead(raw.count)
        var stream = [UInt8](repeating: 0, count: capacity)
        let size = raw.withUnsafeBytes { input in
            stream.withUnsafeMutableBytes { ParallelDeflate.zlibStream(input, planes: planes, compressor: compressor, into: $0.baseAddress!, capacity: capacity) }
        }
        #expect(size > 0)
        stream.removeLast(capacity - size)
        let decompressor = try #require(libdeflate_alloc_decompressor())
        defer { libdeflate_free_decompressor(decompressor) }
        var decoded = [UInt8](repeating: 0, count: raw.count)
        var produced = 0
        let result = stream.withUnsafeBytes { input in
            decoded.withUnsafeMutableBytes { libdeflate_zlib_decompress(decompressor, input.baseAddress, input.count, $0.baseAddress, raw.count, &produced) }
        }
        #expect(result == LIBDEFLATE_SUCCESS && produced == raw.count)
        return (stream, decoded)
    }

    @Test func noisePlanesAreStoredAndTheRestCompressed() throws {
        // Shuffled float32 images: three planes of noisy mantissa bytes, one of exponents.
        let images = noisyImages(count: 4, bands: 5, size: 32, seed: 3)
        var shuffled = [UInt8](repeating: 0, count: images.count * 4)
        images.withUnsafeBytes { input in shuffled.withUnsafeMutableBytes { ParallelDeflate.shuffle(input, into: $0, elementSize: 4) } }
        let (stream, decoded) = try roundTrip(shuffled, planes: 4)
        #expect(decoded == shuffled)
        #expect(stream[2] == 0)  // a stored block (BFINAL 0, BTYPE 00) follows the zlib header
        let plane = shuffled.count / 4
        #expect(stream.count > 2 * plane && stream.count < shuffled.count * 9 / 10)
        // All planes incompressible (random bytes, odd length): the whole chunk is stored.
        var random = TestRandom(seed: 9)
        let noise = (0..<200_003).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let stored = try roundTrip(noise, planes: 4)
        #expect(stored.decoded == noise)
        #expect(stored.stream.count == 2 + 5 * 4 + noise.count + 4)  // four blocks of ≤ 65,535 bytes
        // Compressible data is compressed whole.
        let ramp = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 / 1000) }
        let packed = try roundTrip(ramp, planes: 4)
        #expect(packed.decoded == ramp)
        #expect(packed.stream.count < 2_000)
    }

    @Test func planesWithRepeatsAreCompressedEvenAtEightBitsPerByte() throws {
        // Random bytes repeating every 4 KiB: order-0 entropy ~8 bits, yet deflate halves them
        // (as quantised pixels of Rice-compressed FITS files shrink by 5 %). Fresh random bytes
        // are noise.
        var random = TestRandom(seed: 11)
        let period = (0..<4096).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let repeating = (0..<81_920).map { period[$0 % 4096] }
        let fresh = (0..<81_920).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let compressor = try #require(libdeflate_alloc_compressor(4))
        defer { libdeflate_free_compressor(compressor) }
        #expect(repeating.withUnsafeBytes { ParallelDeflate.byteEntropy($0) } > 7.9)
        #expect(!repeating.withUnsafeBytes { ParallelDeflate.isNoise($0, compressor: compressor) })
        #expect(fresh.withUnsafeBytes { ParallelDeflate.isNoise($0, compressor: compressor) })
    }

    @Test func h5pyReadsStoredNoisePlanesThroughZlib() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        let rawPath = folder.path("a.raw")
        var random = TestRandom(seed: 5)
        let noise = (0..<6 * 20_000).map { _ in UInt32(truncatingIfNeeded: random.next()) }
        let file = try HDF5File.create(path)
        let data = try file.root.createDataset("noise", of: UInt32.self, shape: [6, 20_000], chunks: [2, 20_000],
                                               compression: .gzip(level: 4), shuffle: true)
        try data.write(noise)
        #expect(H5.locked { data.parallelChunkWrites } == 3)
        try file.close()
        try noise.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: rawPath)) }
        let report = try runPython("""
            import h5py, numpy as np, sys
            d = h5py.File(sys.argv[1], 'r')['noise']
            print(np.array_equal(d[:], np.fromfile(sys.argv[2], dtype='<u4').reshape(d.shape)))
            """, [path, rawPath])
        #expect(report.trimmingCharacters(in: .whitespacesAndNewlines) == "True")
    }

    @Test func h5pyReadsParallelChunksBitExactly() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        let rawPath = folder.path("a.raw")
        let file = try HDF5File.create(path)
        let images = noisyImages(count: 9, bands: 5, size: 32, seed: 7)
        let data = try file.root.createDataset("images", of: Float.self, shape: [9, 5, 32, 32], chunks: [2, 5, 32, 32],
                                               compression: .gzip(level: 4), shuffle: true)
        try data.write(images)
        #expect(H5.locked { data.parallelChunkWrites } == 5)
        try file.close()
        try images.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: rawPath)) }
        let report = try runPython("""
            import h5py, numpy as np, sys
            d = h5py.File(sys.argv[1], 'r')['images']
            raw = np.fromfile(sys.argv[2], dtype='<f4').reshape(d.shape)
            print(d.compression, d.compression_opts, d.shuffle, d.dtype, d.chunks, np.array_equal(d[:].view('<u4'), raw.view('<u4')))
            """, [path, rawPath])
        #expect(report.trimmingCharacters(in: .whitespacesAndNewlines) == "gzip 4 True float32 (2, 5, 32, 32) True")
    }

    /// The entropy that decides which byte planes are stored is the plain order-0 entropy,
    /// whatever the length (the four-way count handles the bytes after the last group of four).
    @Test(arguments: [0, 1, 3, 4, 7, 1000, 81_923])
    func byteEntropyIsTheOrderZeroEntropy(length: Int) {
        var random = TestRandom(seed: UInt64(length) + 5)
        let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next() % 37) }
        var counts = [Int](repeating: 0, count: 256)
        for b in bytes { counts[Int(b)] += 1 }
        let n = Double(length)
        let expected = counts.reduce(0.0) { h, c in c == 0 ? h : h - Double(c) / n * log2(Double(c) / n) }
        #expect(abs(bytes.withUnsafeBytes { ParallelDeflate.byteEntropy($0) } - expected) < 1e-12)
    }
}
