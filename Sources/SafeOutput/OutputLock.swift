import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An advisory lock on an output, taken before any work, so two runs never write the same
/// `--out`: the second fails at once with a message naming the first (its PID and command).
///
/// The lock is `flock` on `.NAME.lock` beside the target, which holds the owner's PID and
/// command line. The kernel releases it when the process ends, however it ends (kill -9
/// included), so a stale lock file never blocks a later run. The file is removed on
/// `release`; a run that opened it just before compares the file it locked with the one
/// at the path and retries, so two runs can never both hold it.
public final class OutputLock {
    /// The output the lock protects.
    public let target: String
    /// The lock file beside it.
    public let lockPath: String
    private var fd: Int32

    /// Takes the lock on `target` (file or folder) or throws `.locked` naming the holder.
    /// `command` is recorded for the message another run would print.
    public init(target: String, command: String = CommandLine.arguments.joined(separator: " ")) throws {
        let url = URL(fileURLWithPath: target).standardizedFileURL
        self.target = url.path
        let parent = url.deletingLastPathComponent().path
        lockPath = (parent as NSString).appendingPathComponent(OutputNames.lockFile(url.lastPathComponent))
        do { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) } catch {
            throw SafeOutputError(.io, path: parent, message: "cannot create the folder: \((error as NSError).localizedDescription)")
        }
        fd = -1
        for _ in 0..<100 {
            let candidate = try Sys.open(lockPath, O_RDWR | O_CREAT)
            if flock(candidate, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                let holder = OutputLock.holder(candidate)
                Glibc.close(candidate)
                if code == EWOULDBLOCK {
                    throw SafeOutputError(.locked, path: self.target, message: "is being written by another photoz run (\(holder)); wait for it to finish or choose another --out")
                }
                throw SafeOutputError.system("flock of \(lockPath)", path: self.target, errno: code)
            }
            // The holder before us may have removed the file after we opened it: then we hold
            // a lock on a file nobody else will open; take the one at the path instead.
            if let mine = Sys.identity(fd: candidate), let current = Sys.identity(path: lockPath), mine == current {
                fd = candidate
                break
            }
            Glibc.close(candidate)
        }
        guard fd >= 0 else { throw SafeOutputError(.io, path: lockPath, message: "the lock file keeps being replaced; is another program removing it?") }
        let text = "pid \(Sys.pid): \(command)\n"
        ftruncate(fd, 0)
        _ = text.withCString { Glibc.pwrite(fd, $0, strlen($0), 0) }
    }

    /// Who holds the lock, as recorded in the lock file ("pid 123: photoz ingest …").
    private static func holder(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = pread(fd, &buffer, buffer.count, 0)
        let text = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
        return text.isEmpty ? "process unknown" : text
    }

    /// Releases the lock and removes the lock file (also done when the object is released).
    public func release() {
        guard fd >= 0 else { return }
        unlink(lockPath)
        Glibc.close(fd)
        fd = -1
    }

    deinit { release() }
}
