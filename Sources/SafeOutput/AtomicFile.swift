import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whether an existing output may be replaced.
public enum Replacement: Sendable {
    /// Never: an existing output is an error (and a file that appears while writing is kept).
    case never
    /// Always (a file photoz owns by construction, e.g. the plots beside a predictions file).
    case always
    /// Only when `recognise(path)` says the existing file is one photoz wrote (its schema);
    /// anything else there is refused, so `--overwrite` never replaces a user's file.
    case ifRecognised(@Sendable (String) -> Bool)

    /// Throws, with the message for the case, unless this policy allows replacing what exists at
    /// `path` (one decision for files and folders alike).
    func permit(_ path: String, never: String, unrecognised: String) throws {
        switch self {
        case .always: return
        case .never: throw SafeOutputError(.usage, path: path, message: never)
        case let .ifRecognised(recognise):
            guard recognise(path) else { throw SafeOutputError(.usage, path: path, message: unrecognised) }
        }
    }

    /// `--overwrite` given or not, for files of a schema `recognise` knows.
    public static func overwrite(_ allowed: Bool, recognise: @escaping @Sendable (String) -> Bool) -> Replacement {
        allowed ? .ifRecognised(recognise) : .never
    }
}

/// Writes files atomically: a reader sees the previous file or the complete new one, never a
/// part, whatever happens (crash, kill -9, disk full, power loss after the rename returned).
///
/// The sequence: create `.NAME.tmp-PID-N` beside the target (same folder, so same file
/// system); write it; `fsync` it; rename it over the target (the old file is never removed
/// first: `rename` replaces it in one step); `fsync` the folder. Any failure removes the
/// temporary file and leaves the target as it was; the error names the file and the system's
/// reason. A temporary file left by a killed process is removed by `Leftovers.removeStale`.
public enum AtomicFile {
    private static let counter = Counter()

    /// The temporary sibling of `path` for this process: `.NAME.tmp-PID-N`.
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let name = OutputNames.temporaryFile(url.lastPathComponent, pid: Sys.pid, serial: counter.next())
        return url.deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to path: String, replacing: Replacement = .always) throws {
        try prepare(data, to: path, replacing: replacing).commit()
    }

    /// Writes a file through another library (HDF5, cfitsio) atomically: `body` creates and
    /// closes the file at the temporary path it is given; it is then flushed and renamed over
    /// `path`. Returns what `body` returns.
    @discardableResult
    public static func write<T>(to path: String, replacing: Replacement = .always, _ body: (String) throws -> T) throws -> T {
        var result: T?
        let pending = try prepare(to: path, replacing: replacing) { result = try body($0) }
        try pending.commit()
        return result!
    }

    /// The first half of `write`: the complete, flushed temporary file, not yet renamed. Lets a
    /// writer of several files (the simulator's catalogs) finish writing all of them, where a
    /// full disk can stop it, before renaming any. Released without `commit`, it is removed.
    public static func prepare(to path: String, replacing: Replacement = .always, _ body: (String) throws -> Void) throws -> PendingFile {
        try checkReplacement(path, replacing)
        let temporary = temporaryPath(for: path)
        unlink(temporary)
        do {
            try body(temporary)
            try Sys.fsync(path: temporary)
        } catch {
            unlink(temporary)
            throw error
        }
        return PendingFile(temporary: temporary, path: path, replacing: replacing)
    }

    /// `prepare` for bytes.
    public static func prepare(_ data: Data, to path: String, replacing: Replacement = .always) throws -> PendingFile {
        try prepare(to: path, replacing: replacing) { temporary in
            let fd = try Sys.open(temporary, O_WRONLY | O_CREAT | O_EXCL)
            do {
                try data.withUnsafeBytes { try Sys.writeAll(fd, $0, path: temporary) }
            } catch {
                Glibc.close(fd)
                throw error
            }
            try Sys.close(fd, path: temporary)
        }
    }

    /// Refuses, before any work, an existing `path` that `replacing` does not allow to replace.
    public static func checkReplacement(_ path: String, _ replacing: Replacement) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw SafeOutputError(.usage, path: path, message: "is a folder; name a file")
        }
        try replacing.permit(path, never: "already exists; pass --overwrite to replace it, or choose another --out",
                             unrecognised: "exists and is not a file photoz wrote (of this kind); --overwrite replaces only photoz's own files: choose another --out")
    }

    /// Renames a complete, flushed temporary file over `path`, then flushes the folder.
    fileprivate static func commit(_ temporary: String, to path: String, replacing: Replacement) throws {
        if case .never = replacing {
            // No-replace rename: a file created at `path` meanwhile is kept, not replaced.
            if try Sys.rename(temporary, path, flags: Sys.renameNoReplace) == .unsupported {
                if Glibc.link(temporary, path) != 0 {
                    let code = errno
                    if code == EEXIST { throw SafeOutputError(.usage, path: path, message: "exists (created while this run wrote it); nothing was replaced") }
                    throw SafeOutputError.system("link from \(temporary)", path: path, errno: code)
                }
                unlink(temporary)
            }
        } else {
            try Sys.rename(temporary, path)
        }
        try Sys.fsyncDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }
}

/// A complete, flushed temporary file waiting to be renamed over its target (`AtomicFile.prepare`).
public final class PendingFile {
    /// The temporary file (`.NAME.tmp-PID-N`).
    public let temporary: String
    /// The final path.
    public let path: String
    private let replacing: Replacement
    private var done = false

    fileprivate init(temporary: String, path: String, replacing: Replacement) {
        self.temporary = temporary
        self.path = path
        self.replacing = replacing
    }

    /// Renames the file over `path` (the old file is replaced in one step) and flushes the folder.
    public func commit() throws {
        precondition(!done, "PendingFile.commit called twice")
        done = true
        do { try AtomicFile.commit(temporary, to: path, replacing: replacing) } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Removes the temporary file; `path` is left as it was.
    public func discard() {
        guard !done else { return }
        done = true
        unlink(temporary)
    }

    deinit { discard() }
}

/// A process-wide serial number, so two threads writing beside the same file never share a name.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.withLock { value += 1; return value } }
}
