// HDF5File: one open HDF5 file, created exclusively unless asked to replace.
import Foundation

/// An open HDF5 file; its root group gives access to groups, datasets and attributes.
///
/// Creating never replaces an existing file unless `mode: .truncate` is passed (h5py's `w-`
/// vs `w`). The file stays open while this object or any group or dataset of it is alive;
/// `close()` closes it at once, after which every object of the file throws.
///
/// All libhdf5 calls of the process are serialized by one lock, so files, groups and
/// datasets can be used from several threads (not faster than one, but safe).
///
/// ```swift
/// let file = try HDF5File.create("model.h5")
/// let weights = try file.root.createDataset("conv0.weight", of: Float.self, shape: [32, 5, 3, 3])
/// try weights.write(values)
/// try file.root.setAttribute("architecture", .string("inception"))
/// try file.close()
/// ```
public final class HDF5File: @unchecked Sendable {
    /// What `create` does when the file exists already.
    public enum CreateMode: Sendable {
        /// Fail when the file exists (the default).
        case exclusive
        /// Replace an existing file (an explicit overwrite).
        case truncate
    }

    /// The path the file was created or opened with.
    public let path: String
    /// Whether the file was opened read-only.
    public let isReadOnly: Bool
    let handle: HDF5Handle
    let state: HDF5FileState

    private init(path: String, isReadOnly: Bool, handle: HDF5Handle, state: HDF5FileState) {
        self.path = path
        self.isReadOnly = isReadOnly
        self.handle = handle
        self.state = state
    }

    /// Creates an HDF5 file; by default fails if `path` exists.
    ///
    /// The corresponding C function is `H5Fcreate` (with `H5F_ACC_EXCL` or `H5F_ACC_TRUNC`).
    public static func create(_ path: String, mode: CreateMode = .exclusive) throws -> HDF5File {
        let site = HDF5Site(file: path)
        if mode == .exclusive, FileManager.default.fileExists(atPath: path) {
            throw site.error("create", "cannot create file",
                             "the file exists; pass overwrite/truncate (mode: .truncate) to replace it")
        }
        let state = HDF5FileState()
        let handle = try retryingLockRefusals { try H5.createFile(path, truncate: mode == .truncate, state: state) }
        return HDF5File(path: path, isReadOnly: false, handle: handle, state: state)
    }

    /// Opens an existing HDF5 file, read-only by default.
    ///
    /// A missing file, a directory, a file that is not HDF5 and a truncated or damaged file
    /// each throw an error that says so. A file this process has not opened or written before
    /// is first read by a child process that visits all of its metadata (`checkInChildProcess`):
    /// a file on which libhdf5 crashes or hangs throws instead of ending the process.
    /// The corresponding C function is `H5Fopen`.
    public static func open(_ path: String, readOnly: Bool = true) throws -> HDF5File {
        let site = HDF5Site(file: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw site.error("open", "cannot open file", "no such file")
        }
        if isDirectory.boolValue {
            throw site.error("open", "cannot open file", "it is a directory, not an HDF5 file")
        }
        guard try hasSignature(site) else {
            throw site.error("open", "cannot open file", "not an HDF5 file (no HDF5 signature found)")
        }
        // libhdf5 1.10 crashes or loops on some corrupt metadata (found by fuzzing): a file not yet
        // checked in this process is first read in a child process, which dies instead of photoz.
        try H5.checkInChildProcess(site)
        let state = HDF5FileState()
        let handle = try retryingLockRefusals { try H5.openFile(path, readOnly: readOnly, state: state) }
        return HDF5File(path: path, isReadOnly: readOnly, handle: handle, state: state)
    }

    /// Opens `path`, runs `body` with the file and closes it, also when `body` throws.
    public static func withOpen<T>(_ path: String, readOnly: Bool = true, _ body: (HDF5File) throws -> T) throws -> T {
        try scoped(open(path, readOnly: readOnly), body)
    }

    /// Creates `path` (exclusive unless `mode: .truncate`), runs `body` and closes the file.
    public static func withCreated<T>(_ path: String, mode: CreateMode = .exclusive,
                                      _ body: (HDF5File) throws -> T) throws -> T {
        try scoped(create(path, mode: mode), body)
    }

    private static func scoped<T>(_ file: HDF5File, _ body: (HDF5File) throws -> T) throws -> T {
        let result: T
        do {
            result = try body(file)
        } catch {
            try? file.close()
            throw error
        }
        try file.close()
        return result
    }

    /// The root group `/`.
    public var root: HDF5Group { HDF5Group(file: self, handle: handle, path: "/") }

    /// Whether the file is still open (false after `close()`).
    public var isOpen: Bool { H5.locked { state.isOpen } }

    /// Writes HDF5's buffers for this file to disk. The corresponding C function is `H5Fflush`.
    public func flush() throws {
        try whileOpen(HDF5Site(file: path), "flush") { try H5.flush(handle, HDF5Site(file: path)) }
    }

    /// Closes the file and every group, dataset and attribute still open in it.
    ///
    /// Closing twice does nothing; `deinit` closes too, ignoring errors. The corresponding C
    /// function is `H5Fclose` (with the strong close degree).
    public func close() throws {
        let wasOpen = isOpen
        try H5.closeFile(handle, HDF5Site(file: path))
        // What this process wrote with libhdf5 needs no check when it is opened again (the
        // check is keyed by device, inode, size and modification time, so any later change
        // to the file is checked).
        if wasOpen && !isReadOnly { H5.trustWrittenFile(path) }
    }

    /// Runs `body` under the HDF5 lock, after checking that the file is still open.
    func whileOpen<T>(_ site: HDF5Site, _ operation: String, _ body: () throws -> T) throws -> T {
        try H5.locked {
            guard state.isOpen else {
                throw site.error(operation, "the file is closed", "open it again to use its groups and datasets")
            }
            return try body()
        }
    }
}

extension HDF5File {
    /// Runs `attempt` (an `H5Fopen` or `H5Fcreate`) again while libhdf5 refuses the file because
    /// another open of it holds HDF5's file lock, for about half a second in all.
    ///
    /// A child process started by any thread (Foundation's `Process.run()`) holds copies of the
    /// parent's file descriptors, and with them the lock on every file open at that moment, until
    /// it execs a few microseconds later; a file closed and reopened in that instant is refused.
    /// The lock is released between attempts. A program that really keeps the file open still
    /// gets the refusal, whose message says what to do.
    static func retryingLockRefusals<T>(_ attempt: () throws -> T) throws -> T {
        var pause: useconds_t = 1_000
        while true {
            do {
                return try attempt()
            } catch let error as HDF5Error where error.isLockRefusal && pause <= 256_000 {
                usleep(pause)
                pause *= 2
            }
        }
    }
}

extension HDF5File {
    /// The 8 bytes that open every HDF5 superblock.
    private static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Turns the first bytes of a file that is open for writing into what they will be once
    /// libhdf5 closes it, for a version 0 or 1 superblock at offset 0 (what photoz writes):
    /// the file consistency flags (bytes 20–23, bit 0 "open for writing") are cleared at close.
    /// Returns false when the bytes are not such a superblock (nothing is changed then).
    /// Used to checksum a file while it is written; the caller checks the file once closed.
    public static func asClosed(firstBytes bytes: inout [UInt8]) -> Bool {
        guard bytes.count >= 24, Array(bytes[0..<8]) == signature, bytes[8] <= 1 else { return false }
        bytes.replaceSubrange(20..<24, with: [0, 0, 0, 0])
        return true
    }

    /// Whether the file holds HDF5's signature where a superblock may start (offset 0, 512,
    /// 1024, 2048, …), as `H5Fis_hdf5` checks, but without taking HDF5's file lock: a file that
    /// another program holds locked is still recognised, and `H5Fopen` then says why it is refused.
    static func hasSignature(_ site: HDF5Site) throws -> Bool {
        guard let handle = FileHandle(forReadingAtPath: site.file) else {
            throw site.error("open", "cannot open file", "cannot read it (check its permissions)")
        }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        var offset: UInt64 = 0
        while offset + 8 <= size {
            try handle.seek(toOffset: offset)
            if let bytes = try handle.read(upToCount: 8), Array(bytes) == signature { return true }
            offset = offset == 0 ? 512 : offset * 2
        }
        return false
    }
}
