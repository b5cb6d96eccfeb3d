import Foundation
import HDF5
import Testing

@Suite struct DatasetTests {
    /// Writes `values` as a (2, 3) dataset of `T`, reopens the file and reads them back.
    func roundTrip<T: HDF5Scalar & Equatable>(_ values: [T], expecting type: HDF5ElementType) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        let file = try HDF5File.create(path)
        try file.root.createDataset("x", of: T.self, shape: [2, 3]).write(values)
        try file.close()
        let data = try HDF5File.open(path).root.dataset("x")
        #expect(try data.elementType == type)
        #expect(try data.shape == [2, 3])
        #expect(try data.maxShape == [2, 3])
        #expect(try data.chunkShape == nil)
        #expect(try data.filters == [])
        #expect(try data.read(as: T.self) == values)
    }

    @Test func everyScalarTypeRoundTrips() throws {
        try roundTrip([-128, -1, 0, 1, 2, 127] as [Int8], expecting: .int8)
        try roundTrip([.min, -1, 0, 1, 2, .max] as [Int16], expecting: .int16)
        try roundTrip([.min, -1, 0, 1, 2, .max] as [Int32], expecting: .int32)
        try roundTrip([.min, -1, 0, 1, 2, .max] as [Int64], expecting: .int64)
        try roundTrip([0, 1, 2, 3, 254, .max] as [UInt8], expecting: .uint8)
        try roundTrip([0, 1, 2, 3, 4, .max] as [UInt16], expecting: .uint16)
        try roundTrip([0, 1, 2, 3, 4, .max] as [UInt32], expecting: .uint32)
        try roundTrip([0, 1, 2, 3, 4, .max] as [UInt64], expecting: .uint64)
        try roundTrip([-1.5, 0, .pi, .infinity, -.greatestFiniteMagnitude, 1e-30] as [Float], expecting: .float32)
        try roundTrip([-1.5, 0, .pi, .infinity, -.greatestFiniteMagnitude, 1e-300] as [Double], expecting: .float64)
    }

    @Test func hdf5ConvertsBetweenNumericTypes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let file = try HDF5File.create(folder.path("a.h5"))
        let data = try file.root.createDataset("x", of: Int16.self, shape: [3])
        try data.write([1, -2, 300] as [Int16])
        #expect(try data.read(as: Double.self) == [1, -2, 300])
        #expect(try data.read(as: Int64.self) == [1, -2, 300])
        let scalar = try file.root.createDataset("s", of: Double.self, shape: [])
        try scalar.write([2.5])
        #expect(try scalar.shape == [])
        #expect(try scalar.read(as: Float.self) == [2.5])
    }

    @Test func chunkedGzipShuffledUnlimitedDatasetsAppend() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        let file = try HDF5File.create(path)
        let data = try file.root.createDataset("images", of: Float.self, shape: [0, 2, 3], maxShape: [nil, 2, 3],
                                               chunks: [4, 2, 3], compression: .gzip(level: 4), shuffle: true)
        let rows = (0..<10 * 6).map { Float($0) * 0.5 }
        try rows[0..<18].withUnsafeBufferPointer { try data.append($0) }   // 3 rows
        try rows[18...].withUnsafeBufferPointer { try data.append($0) }    // 7 more
        #expect(try data.shape == [10, 2, 3])
        try file.close()

        let reopened = try HDF5File.open(path).root.dataset("images")
        #expect(try reopened.maxShape == [nil, 2, 3])
        #expect(try reopened.chunkShape == [4, 2, 3])
        #expect(try reopened.filters == ["shuffle", "deflate"])
        #expect(try reopened.compression == .gzip(level: 4))
        #expect(try reopened.read(as: Float.self) == rows)
    }

    @Test func compressionWithoutChunksPicksWholeRowChunks() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let file = try HDF5File.create(folder.path("a.h5"))
        let data = try file.root.createDataset("z", of: Double.self, shape: [100], compression: .gzip(level: 1))
        #expect(try data.chunkShape == [100])
        let grow = try file.root.createDataset("g", of: Float.self, shape: [0, 5, 64, 64], maxShape: [nil, 5, 64, 64])
        #expect(try grow.chunkShape == [12, 5, 64, 64])  // about 1 MiB of whole rows
        #expect(try grow.compression == .none)
    }

    @Test func rowRangesReadAndWrite() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let file = try HDF5File.create(folder.path("a.h5"))
        let data = try file.root.createDataset("x", of: Int32.self, shape: [6, 2])
        try data.write([Int32](repeating: 0, count: 12))
        try [10, 11, 20, 21].withUnsafeBufferPointer { try data.writeRows(1..<3, from: $0) }
        #expect(try data.read(as: Int32.self) == [0, 0, 10, 11, 20, 21, 0, 0, 0, 0, 0, 0])
        #expect(try data.readRows(2..<4, as: Int32.self) == [20, 21, 0, 0])
        #expect(try data.readRows(3..<3, as: Int32.self) == [])
        var buffer = [Int64](repeating: -1, count: 4)
        try buffer.withUnsafeMutableBufferPointer { try data.readRows(1..<3, into: $0) }
        #expect(buffer == [10, 11, 20, 21])
    }

    @Test func stringDatasetsRoundTrip() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        let file = try HDF5File.create(path)
        let names = ["u", "g", "r", "", "ångström ✓"]
        _ = try file.root.createStringDataset("bands", values: names)
        _ = try file.root.createStringDataset("empty", values: [])
        try file.close()
        let reopened = try HDF5File.open(path)
        let bands = try reopened.root.dataset("bands")
        #expect(try bands.elementType == .string)
        #expect(try bands.shape == [5])
        #expect(try bands.readStrings() == names)
        #expect(try reopened.root.dataset("empty").readStrings() == [])
    }

    @Test func wrongTypesShapesAndRowsThrow() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let file = try HDF5File.create(folder.path("a.h5"))
        let strings = try file.root.createStringDataset("names", values: ["a"])
        let asFloat = expectHDF5Error { _ = try strings.read(as: Float.self) }
        #expect(asFloat?.description.contains("readStrings()") == true)
        #expect(asFloat?.object == "/names")
        let numbers = try file.root.createDataset("x", of: Float.self, shape: [4, 2])
        let asStrings = expectHDF5Error { _ = try numbers.readStrings() }
        #expect(asStrings?.message.contains("float32") == true)
        let outOfRange = expectHDF5Error { _ = try numbers.readRows(3..<5, as: Float.self) }
        #expect(outOfRange?.description == "\(file.path): /x: rows 3..<5 out of range (readRows): the dataset has 4 rows (shape [4, 2])")
        expectHDF5Error { try [Float](repeating: 0, count: 3).withUnsafeBufferPointer { try numbers.writeRows(0..<2, from: $0) } }
        expectHDF5Error { try numbers.write([Float](repeating: 0, count: 7)) }
        let fixed = expectHDF5Error { try numbers.resize(rows: 5) }
        #expect(fixed?.message.contains("maxShape") == true)
        expectHDF5Error { try [Float](repeating: 0, count: 3).withUnsafeBufferPointer { try numbers.append($0) } }
        expectHDF5Error { _ = try file.root.createDataset("bad", of: Float.self, shape: [2], compression: .gzip(level: 10)) }
        expectHDF5Error { _ = try file.root.createDataset("bad", of: Float.self, shape: [2], chunks: [2, 2]) }
        expectHDF5Error { _ = try file.root.createDataset("bad", of: Float.self, shape: [4], maxShape: [3]) }
    }
}
