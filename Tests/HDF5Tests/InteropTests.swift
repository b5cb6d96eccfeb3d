import Foundation
import HDF5
import Testing

/// h5py (from the interop venv) reads what we write, and we read what h5py writes.
@Suite struct InteropTests {
    @Test func h5pyReadsOurDatasetsAndAttributes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("ours.h5")
        let file = try HDF5File.create(path)
        try file.root.setAttribute("schema", .string("photoz-shard"))
        try file.root.setAttribute("bands", .strings(["u", "g", "r", "i", "z"]))
        try file.root.setAttribute("version", .int64(2))
        try file.root.setAttribute("edges", .doubles([0, 0.5]))
        let images = try file.root.createDataset("images", of: Float.self, shape: [0, 5, 4, 4], maxShape: [nil, 5, 4, 4],
                                                 chunks: [2, 5, 4, 4], compression: .gzip(level: 4), shuffle: true)
        try (0..<3 * 80).map { Float($0) / 4 }.withUnsafeBufferPointer { try images.append($0) }
        try images.setAttribute("unit", .string("nanomaggy"))
        try file.root.createDataset("object_id", of: Int64.self, shape: [3]).write([10, 20, 1 << 40] as [Int64])
        try file.root.createDataset("flags", of: UInt8.self, shape: [3]).write([0, 1, 255] as [UInt8])
        try file.root.createDataset("ra", of: Double.self, shape: [3]).write([1.5, 2.5, 359.75])
        _ = try file.root.createStringDataset("names", values: ["a", "β"])
        try file.close()

        let report = try runPython("""
            import h5py, numpy as np, sys
            f = h5py.File(sys.argv[1], 'r')
            a = f.attrs
            print(repr(a['schema']), type(a['schema']).__name__, list(a['bands']), a['version'], a['version'].dtype, a['edges'].tolist())
            d = f['images']
            print(d.shape, d.maxshape, d.dtype, d.chunks, d.compression, d.compression_opts, d.shuffle, repr(d.attrs['unit']))
            print(np.array_equal(d[:], (np.arange(240, dtype='f4') / 4).reshape(3, 5, 4, 4)))
            print(f['object_id'].dtype, f['object_id'][:].tolist(), f['flags'].dtype, f['flags'][:].tolist(), f['ra'][:].tolist())
            print([s.decode() if isinstance(s, bytes) else s for s in f['names'][:]], f['names'].asstr()[:].tolist())
            """, [path])
        let lines = report.split(separator: "\n").map(String.init)
        #expect(lines == [
            "'photoz-shard' str ['u', 'g', 'r', 'i', 'z'] 2 int64 [0.0, 0.5]",
            "(3, 5, 4, 4) (None, 5, 4, 4) float32 (2, 5, 4, 4) gzip 4 True 'nanomaggy'",
            "True",
            "int64 [10, 20, 1099511627776] uint8 [0, 1, 255] [1.5, 2.5, 359.75]",
            "['a', 'β'] ['a', 'β']",
        ])
    }

    @Test func weReadWhatH5pyWrites() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("theirs.h5")
        try runPython("""
            import h5py, numpy as np, sys
            with h5py.File(sys.argv[1], 'w') as f:
                f.attrs['fixed'] = np.bytes_('SDSS DR16')
                f.attrs['fixed_list'] = np.array([b'u', b'gg'], dtype='S2')
                f.attrs['variable'] = 'photoz ✓'
                f.attrs['variable_list'] = ['a', 'bc']
                f.attrs['i32'] = np.int32(-7)
                f.attrs['u16s'] = np.array([1, 2], dtype='u2')
                f.attrs['f32'] = np.float32(0.25)
                f.attrs['f64s'] = [0.5, 1.5]
                f.attrs['matrix'] = np.arange(4, dtype='i8').reshape(2, 2)
                f.attrs['flag'] = True
                d = f.create_dataset('images', data=np.arange(24, dtype='>f4').reshape(4, 2, 3), chunks=(1, 2, 3),
                                     compression='gzip', compression_opts=4, shuffle=True, maxshape=(None, 2, 3))
                d.attrs['unit'] = 'nanomaggy'
                f.create_dataset('ids', data=np.arange(5, dtype='u4'))
                f.create_dataset('fixed_names', data=np.array([b'u', b'rr', b'iii'], dtype='S3'))
                f.create_dataset('names', data=['x', 'yz'], dtype=h5py.string_dtype())
                f.create_group('nested/deep').attrs['n'] = 3
            """, [path])
        let file = try HDF5File.open(path)
        let root = file.root
        #expect(try root.attribute("fixed") == .string("SDSS DR16"))
        #expect(try root.attribute("fixed_list") == .strings(["u", "gg"]))
        #expect(try root.attribute("variable") == .string("photoz ✓"))
        #expect(try root.attribute("variable_list") == .strings(["a", "bc"]))
        #expect(try root.attribute("i32") == .int64(-7))
        #expect(try root.attribute("u16s") == .int64s([1, 2]))
        #expect(try root.attribute("f32") == .double(0.25))
        #expect(try root.attribute("f64s") == .doubles([0.5, 1.5]))
        #expect(try root.attribute("matrix") == .int64s([0, 1, 2, 3]))  // flattened
        let boolean = expectHDF5Error { _ = try root.attribute("flag") }   // h5py stores bool as an enum
        #expect(boolean?.message.contains("enum") == true)
        let images = try root.dataset("images")
        #expect(try images.shape == [4, 2, 3])
        #expect(try images.maxShape == [nil, 2, 3])
        #expect(try images.elementType == .float32)  // big-endian in the file, converted by HDF5
        #expect(try images.filters == ["shuffle", "deflate"])
        #expect(try images.read(as: Float.self) == (0..<24).map(Float.init))
        #expect(try images.readRows(1..<2, as: Double.self) == (6..<12).map(Double.init))
        #expect(try images.attribute("unit") == .string("nanomaggy"))
        #expect(try root.dataset("ids").elementType == .uint32)
        #expect(try root.dataset("ids").read(as: UInt32.self) == [0, 1, 2, 3, 4])
        #expect(try root.dataset("fixed_names").readStrings() == ["u", "rr", "iii"])
        #expect(try root.dataset("names").readStrings() == ["x", "yz"])
        #expect(try root.group("nested/deep").attribute("n") == .int64(3))
        try file.close()
        // Appending to h5py's dataset (big-endian, so HDF5's own filters do the work).
        let writable = try HDF5File.open(path, readOnly: false)
        let grow = try writable.root.dataset("images")
        try (24..<30).map(Float.init).withUnsafeBufferPointer { try grow.append($0) }
        try writable.close()
        let tail = try runPython("import h5py,sys; print(h5py.File(sys.argv[1],'r')['images'][4].ravel().tolist())", [path])
        #expect(tail.trimmingCharacters(in: .whitespacesAndNewlines) == "[24.0, 25.0, 26.0, 27.0, 28.0, 29.0]")
    }
}
