import Foundation
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
        #expect(H5.locked { data.parallelChunkCount } == 3)
        #expect(try data.read(as: Float.self) == images)
        try file.close()
        #expect(try HDF5File.open(path).root.dataset("images").read(as: Float.self) == images)
    }

    @Test func unalignedRowsFallBackToHDF5ForTheirPartialChunks() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let file = try HDF5File.create(folder.path("a.h5"))
        let rows = (0..<20 * 3).map { Int32($0 * 7 - 50) }
        let data = try file.root.createDataset("x", of: Int32.self, shape: [20, 3], chunks: [4, 3], compression: .gzip(level: 6))
        try data.write([Int32](repeating: -1, count: 60))  // 5 whole chunks, all parallel
        #expect(H5.locked { data.parallelChunkCount } == 5)
        // Rows 3..<14: row 3 and rows 12..<14 through H5Dwrite, chunks 4..<8 and 8..<12 in parallel.
        try rows[9..<42].withUnsafeBufferPointer { try data.writeRows(3..<14, from: $0) }
        #expect(H5.locked { data.parallelChunkCount } == 7)
        let expected = (0..<60).map { $0 >= 9 && $0 < 42 ? rows[$0] : -1 }
        #expect(try data.read(as: Int32.self) == expected)
        // Rows inside one chunk never take the parallel path.
        try [1, 2, 3].withUnsafeBufferPointer { try data.writeRows(17..<18, from: $0) }
        #expect(H5.locked { data.parallelChunkCount } == 7)
        #expect(try data.readRows(17..<18, as: Int32.self) == [1, 2, 3])
    }

    @Test func typeConversionOrOtherFiltersUseHDF5sOwnPath() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let file = try HDF5File.create(folder.path("a.h5"))
        let converted = try file.root.createDataset("f", of: Float.self, shape: [8], chunks: [4], compression: .gzip(level: 4))
        try converted.write([Double](repeating: 1.5, count: 8))  // doubles into float32: HDF5 converts
        #expect(H5.locked { converted.parallelChunkCount } == 0)
        #expect(try converted.read(as: Float.self) == [Float](repeating: 1.5, count: 8))
        let plain = try file.root.createDataset("p", of: Float.self, shape: [8], chunks: [4])
        try plain.write([Float](repeating: 2, count: 8))
        #expect(H5.locked { plain.parallelChunkCount } == 0)
        let partialRows = try file.root.createDataset("r", of: Float.self, shape: [8, 4], chunks: [4, 2], compression: .gzip(level: 4))
        try partialRows.write([Float](repeating: 3, count: 32))  // chunks are not whole rows
        #expect(H5.locked { partialRows.parallelChunkCount } == 0)
        #expect(try partialRows.read(as: Float.self) == [Float](repeating: 3, count: 32))
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
        #expect(H5.locked { data.parallelChunkCount } == 5)
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
}
