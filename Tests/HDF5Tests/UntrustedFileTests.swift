import Foundation
import HDF5
import Testing

/// Files photoz did not write: their metadata is walked in a child process first, and the sizes
/// they declare are bounded before anything is allocated.
@Suite struct UntrustedFileTests {
    /// The fuzzers' inputs kept in Fuzz/Regressions: each crashed or hung libhdf5 inside photoz
    /// (`photoz inspect` died with SIGSEGV or never returned); opening them now throws an error
    /// naming the file and what libhdf5 was doing in the check process.
    @Test(arguments: [
        "shard/segfault-reading-attribute-inputs.h5",
        "shard/loop-behind-unlistable-attributes.h5",
        "model-file/segfault-reading-attribute-created.h5",
        "predictions/segfault-behind-unlistable-attributes.h5",
    ])
    func aFileThatCrashedLibhdf5IsAnError(_ name: String) throws {
        let path = packageRoot.appendingPathComponent("Fuzz/Regressions/" + name).path
        let error = expectHDF5Error { _ = try HDF5File.open(path) }
        #expect(error?.path == path)
        #expect(error?.summary == "libhdf5 could not read this file's metadata", "\(String(describing: error))")
        #expect(error?.message.contains("the file is corrupt") == true, "\(String(describing: error))")
        if name.contains("segfault-reading") {
            #expect(error?.message.contains("crashed (signal 11") == true, "\(String(describing: error))")
            #expect(error?.message.contains("while reading attribute '") == true, "\(String(describing: error))")
        } else {
            // libhdf5 fails to list the root's attributes, or crashes while it tries (which of
            // the two depends on the heap's layout in the process).
            let message = error?.message ?? ""
            #expect(message.contains("could not list what it needs to check (listing the attributes of /)")
                    || message.contains("crashed (signal 11: Segmentation fault) in a separate process that read this file's metadata, while listing the attributes of /"),
                    "\(message)")
        }
    }

    /// A file on which libhdf5 loops: the check process is stopped after the timeout, the open
    /// throws, and the verdict is remembered, so a second open throws at once.
    @Test func aFileOnWhichLibhdf5LoopsTimesOutOnceAndIsRemembered() throws {
        setenv("PHOTOZ_METADATA_CHECK_TIMEOUT", "4", 0)
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        // A copy of its own, so that no other test's verdict on the same file is reused.
        let path = folder.path("loop.h5")
        try FileManager.default.copyItem(atPath: packageRoot.appendingPathComponent("Fuzz/Regressions/model-file/loop-reading-attribute-architecture.h5").path,
                                         toPath: path)
        let started = Date()
        let first = expectHDF5Error { _ = try HDF5File.open(path) }
        let firstSeconds = Date().timeIntervalSince(started)
        #expect(first?.message.contains("did not finish within") == true, "\(String(describing: first))")
        #expect(first?.message.contains("while reading attribute 'architecture' of /") == true, "\(String(describing: first))")
        #expect(firstSeconds >= 3.5)
        let again = Date()
        let second = expectHDF5Error { _ = try HDF5File.open(path) }
        #expect(Date().timeIntervalSince(again) < 1)
        #expect(second?.message == first?.message)
    }

    /// A good file written by another program (h5py) is checked once and then opens as before;
    /// a file this process wrote itself opens without a check process.
    @Test func goodFilesOpenAfterTheCheck() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("theirs.h5")
        try runPython("""
            import h5py, numpy as np, sys
            with h5py.File(sys.argv[1], 'w') as f:
                f.attrs['schema'] = 'x'
                f.attrs['bands'] = ['u', 'g']
                g = f.create_group('g')
                g.create_dataset('d', data=np.arange(100, dtype='f4').reshape(10, 10), chunks=(2, 10), compression='gzip')
                g['d'].attrs['unit'] = 'nanomaggy'
                f.create_dataset('names', data=['a', 'b'], dtype=h5py.string_dtype())
            """, [path])
        let before = HDF5File.metadataChecksStarted
        try HDF5File.withOpen(path) { (file: HDF5File) throws in
            #expect(try file.root.attribute("schema") == .string("x"))
            #expect(try file.root.group("g").dataset("d").read(as: Float.self).count == 100)
            #expect(try file.root.dataset("names").readStrings() == ["a", "b"])
        }
        #expect(HDF5File.metadataChecksStarted > before)

        let ours = folder.path("ours.h5")
        try HDF5File.withCreated(ours) { try $0.root.setAttribute("schema", .string("y")) }
        // Other tests may start checks meanwhile; this file's own open must not be among them,
        // so opening it many times must not start as many checks.
        let start = HDF5File.metadataChecksStarted
        for _ in 0..<20 { try HDF5File.withOpen(ours) { (file: HDF5File) throws in #expect(try file.root.attribute("schema") == .string("y")) } }
        #expect(HDF5File.metadataChecksStarted - start < 20)
    }

    /// h5py files that declare huge attribute values: refused with the attribute's name and the
    /// bound, before any allocation of that size.
    @Test func hugeDeclaredAttributeAndStringSizesAreRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("huge.h5")
        try runPython("""
            import h5py, numpy as np, sys
            with h5py.File(sys.argv[1], 'w', libver='latest') as f:
                f.attrs['ok'] = 'fine'
                f.attrs.create('wide', np.array(b'x', dtype='S2000000'))
                f.attrs.create('many', np.zeros(1_100_000, dtype='i1'))
                f.attrs.create('long', ['y' * 1_500_000], dtype=h5py.string_dtype())
                f.create_dataset('fixed', shape=(40,), dtype='S2000000')
                f.create_dataset('manynames', shape=(2_000_000,), dtype=h5py.string_dtype())
            """, [path])
        try HDF5File.withOpen(path) { (file: HDF5File) throws in
            #expect(try file.root.attribute("ok") == .string("fine"))
            let wide = expectHDF5Error { _ = try file.root.attribute("wide") }
            #expect(wide?.summary == "cannot read attribute 'wide'")
            #expect(wide?.message.contains("1 strings of 2000000 bytes each") == true, "\(String(describing: wide))")
            #expect(wide?.message.contains("at most 1048576 bytes") == true, "\(String(describing: wide))")
            let many = expectHDF5Error { _ = try file.root.attribute("many") }
            #expect(many?.message.contains("it declares 1100000 values, more than photoz reads (at most 1048576)") == true,
                    "\(String(describing: many))")
            let long = expectHDF5Error { _ = try file.root.attribute("long") }
            #expect(long?.summary == "cannot read attribute 'long'")
            #expect(long?.message.contains("hold more than 1048576 bytes") == true, "\(String(describing: long))")
            let fixed = expectHDF5Error { _ = try file.root.dataset("fixed").readStrings() }
            #expect(fixed?.message.contains("40 strings of 2000000 bytes each") == true, "\(String(describing: fixed))")
            let names = expectHDF5Error { _ = try file.root.dataset("manynames").readStrings() }
            #expect(names?.message.contains("declares 2000000 strings") == true, "\(String(describing: names))")
        }
    }
}
