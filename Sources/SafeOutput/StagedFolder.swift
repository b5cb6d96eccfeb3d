import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A folder written beside its target under a staging name and swapped in only when complete.
///
/// ```swift
/// let staged = try StagedFolder(target: "shards", replacing: .ifRecognised(isDataSet))
/// try writeEverything(into: staged.path)     // .shards.partial-PID/…
/// try staged.commit()                        // now shards/ is the new folder
/// ```
///
/// The swap, and why nothing is lost if the process is killed at any point:
/// 1. everything is written into `.NAME.partial-PID` (same parent, so same file system); a
///    kill here leaves the old `NAME` untouched and a staging folder that the next run
///    writing there (or `Leftovers.removeStale`) removes;
/// 2. `syncfs` flushes the staged files' data before any name points at them;
/// 3. with no `NAME` yet: a no-replace rename of the staging folder to `NAME`;
///    with a previous `NAME`: `renameat2(RENAME_EXCHANGE)` swaps the two names in one step,
///    so `NAME` is the old folder before and the new one after, never absent; the old one
///    is now `.NAME.partial-PID` and is removed (a kill before that leaves a leftover, and
///    the new `NAME` complete);
///    on file systems without the exchange (EINVAL), the old `NAME` is renamed to
///    `.NAME.old-PID`, the staging folder to `NAME`, and the old one is removed: a kill
///    between those two renames leaves no `NAME` but the complete `.NAME.old-PID`, which the
///    next run's `Leftovers.removeStale` renames back to `NAME` before anything else;
/// 4. the parent folder is flushed so the rename survives a power loss.
/// A failure before the swap removes the staging folder and leaves `NAME` as it was.
public final class StagedFolder {
    /// The final folder.
    public let target: String
    /// The staging folder to write into.
    public let path: String
    private let replacing: Replacement
    private var finished = false
    /// Seconds `commit` spent making the staged files durable (the `syncfs`): reported apart
    /// because it measures the disk, not photoz, and a reference that never syncs skips it.
    public private(set) var syncSeconds = 0.0

    /// Checks that `target` may be written (`replacing` decides about an existing folder;
    /// an empty one is always reusable) and creates the staging folder beside it.
    public init(target: String, replacing: Replacement) throws {
        let url = URL(fileURLWithPath: target).standardizedFileURL
        self.target = url.path
        self.replacing = replacing
        let parent = url.deletingLastPathComponent().path
        path = (parent as NSString).appendingPathComponent(OutputNames.stagingFolder(url.lastPathComponent, pid: Sys.pid))
        try StagedFolder.checkReplacement(self.target, replacing)
        do { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) } catch {
            throw SafeOutputError(.io, path: parent, message: "cannot create the folder: \((error as NSError).localizedDescription)")
        }
        try? FileManager.default.removeItem(atPath: path)
        if mkdir(path, 0o777) != 0 { throw SafeOutputError.system("mkdir", path: path, errno: errno) }
    }

    /// Refuses, before any work, an existing `target` that may not be replaced: a file, or a
    /// non-empty folder that `replacing` does not allow (an arbitrary folder such as `.` is
    /// never replaced: `.ifRecognised` asks for photoz's manifest).
    public static func checkReplacement(_ target: String, _ replacing: Replacement) throws {
        var info = stat()
        guard lstat(target, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw SafeOutputError(.usage, path: target, message: "is a file, not a folder; choose another --out")
        }
        if Leftovers.contents(of: target).isEmpty { return }
        try replacing.permit(target, never: "already exists and is not empty; pass --overwrite to replace it, or choose another --out",
                             unrecognised: "is not a folder photoz wrote (no photoz manifest); --overwrite replaces only photoz's own output folders: choose another --out")
    }

    /// Swaps the complete staging folder in as `target` (see the type's documentation).
    public func commit() throws {
        precondition(!finished, "StagedFolder.commit called twice")
        finished = true
        do {
            let start = DispatchTime.now().uptimeNanoseconds
            try Sys.syncFileSystem(of: path)
            syncSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            try swapIn()
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        try Sys.fsyncDirectory(URL(fileURLWithPath: target).deletingLastPathComponent().path)
    }

    /// Removes the staging folder; the target is left as it was.
    public func discard() {
        guard !finished else { return }
        finished = true
        try? FileManager.default.removeItem(atPath: path)
    }

    deinit { discard() }

    /// Tests set this to false to take the fallback path of file systems without the exchange.
    nonisolated(unsafe) static var exchangeAllowed = true

    private func swapIn() throws {
        var info = stat()
        guard lstat(target, &info) == 0 else {
            if try Sys.rename(path, target, flags: Sys.renameNoReplace) == .unsupported { try Sys.rename(path, target) }
            return
        }
        // The rule is checked again: the target may have changed since `init`.
        try StagedFolder.checkReplacement(target, replacing)
        if (try? FileManager.default.contentsOfDirectory(atPath: target))?.isEmpty == true {
            try Sys.rename(path, target)                        // POSIX rename replaces an empty folder
            return
        }
        if StagedFolder.exchangeAllowed, try Sys.rename(path, target, flags: Sys.renameExchange) == .done {
            try? FileManager.default.removeItem(atPath: path)   // now the previous folder
            return
        }
        let aside = (URL(fileURLWithPath: target).deletingLastPathComponent().path as NSString)
            .appendingPathComponent(OutputNames.asideFolder(URL(fileURLWithPath: target).lastPathComponent, pid: Sys.pid))
        try? FileManager.default.removeItem(atPath: aside)
        try Sys.rename(target, aside)
        do { try Sys.rename(path, target) } catch {
            try? Sys.rename(aside, target)
            throw error
        }
        try? FileManager.default.removeItem(atPath: aside)
    }
}
