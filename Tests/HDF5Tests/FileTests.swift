import Foundation
import HDF5
import Testing

@Suite struct FileTests {
    @Test func createIsExclusiveByDefault() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        try HDF5File.create(path).close()
        let error = expectHDF5Error { _ = try HDF5File.create(path) }
        #expect(error?.path == path)
        #expect(error?.description.contains("exists; pass overwrite/truncate") == true)
    }

    @Test func truncateReplacesAnExistingFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        let first = try HDF5File.create(path)
        _ = try first.root.createGroup("old")
        try first.close()
        let second = try HDF5File.create(path, mode: .truncate)
        #expect(try second.root.memberNames() == [])
        try second.close()
    }

    @Test func openReadOnlyRefusesWrites() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        try HDF5File.create(path).close()
        let file = try HDF5File.open(path)
        let error = expectHDF5Error { _ = try file.root.createGroup("g") }
        #expect(error?.function == "H5Gcreate2")
        #expect(error?.message.isEmpty == false)
        try file.close()
        let writable = try HDF5File.open(path, readOnly: false)
        _ = try writable.root.createGroup("g")
        try writable.close()
    }

    @Test func openingAMissingFileSaysSo() throws {
        let error = expectHDF5Error { _ = try HDF5File.open("/nonexistent/x.h5") }
        #expect(error?.description == "/nonexistent/x.h5: cannot open file (open): no such file")
    }

    @Test func openingANonHDF5FileSaysSo() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("notes.h5")
        try Data("SIMPLE  =                    T".utf8).write(to: URL(fileURLWithPath: path))
        let error = expectHDF5Error { _ = try HDF5File.open(path) }
        #expect(error?.message.contains("not an HDF5 file") == true)
        let directory = expectHDF5Error { _ = try HDF5File.open(folder.url.path) }
        #expect(directory?.message.contains("directory") == true)
    }

    @Test func openingATruncatedFileCarriesHDF5sStack() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("full.h5")
        let file = try HDF5File.create(path)
        let data = try file.root.createDataset("x", of: Double.self, shape: [10_000])
        try data.write((0..<10_000).map(Double.init))
        try file.close()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = folder.path("cut.h5")
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        let error = expectHDF5Error { _ = try HDF5File.open(cut) }
        #expect(error?.function == "H5Fopen")
        #expect(error?.message.contains("truncated") == true, "\(String(describing: error))")
    }

    /// Another program writing the file holds an exclusive lock on it (as libhdf5 and h5py do):
    /// opening it says so and what to do, instead of suggesting the file is damaged.
    @Test func aFileLockedByAnotherProgramSaysSo() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("busy.h5")
        try HDF5File.create(path).close()
        let descriptor = Foundation.open(path, O_RDWR)
        #expect(descriptor >= 0)
        defer { Foundation.close(descriptor) }
        #expect(flock(descriptor, LOCK_EX | LOCK_NB) == 0)
        let error = expectHDF5Error { _ = try HDF5File.open(path) }
        #expect(error?.summary.hasPrefix("cannot open file: another program has it open") == true, "\(String(describing: error))")
        #expect(error?.description.contains("HDF5_USE_FILE_LOCKING=FALSE") == true)
        #expect(error?.description.contains(path) == true)
        flock(descriptor, LOCK_UN)
        try HDF5File.open(path).close()  // free again once the other program lets go
    }

    @Test func closeMakesEveryObjectUnusable() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let file = try HDF5File.create(folder.path("a.h5"))
        let group = try file.root.createGroup("g")
        let data = try group.createDataset("x", of: Int32.self, shape: [3])
        try file.close()
        #expect(!file.isOpen)
        let error = expectHDF5Error { _ = try data.read(as: Int32.self) }
        #expect(error?.summary == "the file is closed")
        #expect(error?.object == "/g/x")
        expectHDF5Error { _ = try group.memberNames() }
        #expect(!group.contains("x"))
        try file.close()  // closing twice does nothing
    }

    @Test func objectsKeepTheFileOpenAfterItsOwnerIsDropped() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        var data: HDF5Dataset? = try {
            let file = try HDF5File.create(path)
            return try file.root.createDataset("x", of: Int64.self, shape: [2])
        }()
        try data?.write([7, 8] as [Int64])
        #expect(try data?.read(as: Int64.self) == [7, 8])
        data = nil  // the last object goes: the file closes
        let reopened = try HDF5File.open(path)
        #expect(try reopened.root.dataset("x").read(as: Int64.self) == [7, 8])
    }

    @Test func scopedHelpersCloseTheFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        let created = try HDF5File.withCreated(path) { file in
            try file.root.createDataset("x", of: UInt16.self, shape: [2]).write([1, 2] as [UInt16])
            return file
        }
        #expect(!created.isOpen)
        let values = try HDF5File.withOpen(path) { try $0.root.dataset("x").read(as: UInt16.self) }
        #expect(values == [1, 2])
        var leaked: HDF5File?
        #expect(throws: HDF5Error.self) { try HDF5File.withOpen(path) { file in leaked = file; _ = try file.root.dataset("nope") } }
        #expect(leaked?.isOpen == false)
    }

    @Test func flushWritesToDisk() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        let file = try HDF5File.create(path)
        try file.root.createDataset("x", of: Float.self, shape: [4]).write([1, 2, 3, 4] as [Float])
        try file.flush()
        // h5py reads the file while we still hold it open (without HDF5's file locking).
        let values = try runPython("import h5py,sys; print(h5py.File(sys.argv[1],'r',locking=False)['x'][:].tolist())", [path])
        #expect(values.trimmingCharacters(in: .whitespacesAndNewlines) == "[1.0, 2.0, 3.0, 4.0]")
        try file.close()
    }
}
