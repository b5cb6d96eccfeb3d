import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The only file of this target that calls the C library: each call's status is checked here
/// and turned into a `SafeOutputError` naming the path and the system's reason.
enum Sys {
    /// `renameat2`'s flags (linux/fs.h).
    static let renameNoReplace: UInt32 = 1
    static let renameExchange: UInt32 = 2

    private typealias Renameat2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    private typealias Syncfs = @convention(c) (Int32) -> Int32

    // Glibc declares renameat2 and syncfs only under _GNU_SOURCE, which Swift's Glibc module
    // does not define; both have been in glibc since 2.28, so they are looked up by name.
    private static let renameat2Function: Renameat2? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2").map { unsafeBitCast($0, to: Renameat2.self) }
    private static let syncfsFunction: Syncfs? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syncfs").map { unsafeBitCast($0, to: Syncfs.self) }
    // sync_file_range is a GNU extension too (glibc ≥ 2.6).
    private typealias SyncFileRange = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
    private static let syncFileRangeFunction: SyncFileRange? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range").map { unsafeBitCast($0, to: SyncFileRange.self) }
    /// `SYNC_FILE_RANGE_WRITE` (linux/fs.h): start write-back of dirty pages, do not wait.
    static let syncFileRangeWrite: UInt32 = 2

    /// Starts writing a file's dirty pages to the disk without waiting for them; false when the
    /// call is missing or refused. The corresponding C function is `sync_file_range`.
    static func startWriteback(_ fd: Int32, offset: Int64, length: Int64) -> Bool {
        guard let syncFileRangeFunction else { return false }
        return syncFileRangeFunction(fd, offset, length, syncFileRangeWrite) == 0
    }

    /// Opens `path`; throws naming it. The corresponding C function is `open`.
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o666) throws -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw SafeOutputError.system("open", path: path, errno: errno)
        }
    }

    /// Writes all of `bytes`, retrying short writes. The corresponding C function is `write`.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw SafeOutputError.system("write", path: path, errno: errno)
            }
            offset += n
        }
    }

    /// Flushes a file's data to the disk. The corresponding C function is `fsync`.
    static func fsync(_ fd: Int32, path: String) throws {
        if Glibc.fsync(fd) != 0 { throw SafeOutputError.system("fsync", path: path, errno: errno) }
    }

    /// Flushes an existing file (written by another library through its path) to the disk.
    static func fsync(path: String) throws {
        let fd = try open(path, O_RDONLY)
        defer { Glibc.close(fd) }
        try fsync(fd, path: path)
    }

    /// Flushes a folder's entries (a rename is durable only once its folder is). Some file
    /// systems refuse fsync on a folder (EINVAL); the rename itself has happened then.
    static func fsyncDirectory(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { Glibc.close(fd) }
        if Glibc.fsync(fd) != 0, errno != EINVAL { throw SafeOutputError.system("fsync of the folder", path: path, errno: errno) }
    }

    /// Flushes the whole file system holding `path` (one call for the thousands of files of a
    /// staged folder, instead of one fsync each). The corresponding C function is `syncfs`.
    static func syncFileSystem(of path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { Glibc.close(fd) }
        if let syncfsFunction {
            if syncfsFunction(fd) != 0 { throw SafeOutputError.system("syncfs", path: path, errno: errno) }
        } else {
            sync()
        }
    }

    /// Closes a file whose data was written, reporting a deferred write error (NFS, quotas).
    static func close(_ fd: Int32, path: String) throws {
        if Glibc.close(fd) != 0, errno != EINTR { throw SafeOutputError.system("close", path: path, errno: errno) }
    }

    /// Outcome of `rename(_:_:flags:)` when the kernel or file system lacks a flag.
    enum RenameResult { case done, unsupported }

    /// `renameat2(source, destination, flags)`; `.unsupported` when the file system does not
    /// know the flag (EINVAL) or the kernel lacks the call (ENOSYS), so the caller can fall back.
    static func rename(_ source: String, _ destination: String, flags: UInt32) throws -> RenameResult {
        guard let renameat2Function else { return .unsupported }
        if renameat2Function(AT_FDCWD, source, AT_FDCWD, destination, flags) == 0 { return .done }
        let code = errno
        if code == EINVAL || code == ENOSYS { return .unsupported }
        if code == EEXIST || code == ENOTEMPTY {
            throw SafeOutputError(.usage, path: destination, message: "exists (another process created it while this one ran); nothing was replaced", errno: code)
        }
        throw SafeOutputError.system("rename from \(source)", path: destination, errno: code)
    }

    /// Plain POSIX rename (atomically replaces a file at `destination`).
    static func rename(_ source: String, _ destination: String) throws {
        if Glibc.rename(source, destination) != 0 { throw SafeOutputError.system("rename from \(source)", path: destination, errno: errno) }
    }

    /// Whether process `pid` exists (EPERM: it exists but belongs to someone else).
    static func processExists(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// (device, inode) of a path or descriptor, to tell whether a lock file was replaced.
    static func identity(path: String) -> (UInt64, UInt64)? {
        var s = stat()
        guard lstat(path, &s) == 0 else { return nil }
        return (UInt64(s.st_dev), UInt64(s.st_ino))
    }

    static func identity(fd: Int32) -> (UInt64, UInt64)? {
        var s = stat()
        guard fstat(fd, &s) == 0 else { return nil }
        return (UInt64(s.st_dev), UInt64(s.st_ino))
    }

    static var pid: Int32 { getpid() }
}
