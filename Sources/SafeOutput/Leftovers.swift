import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A temporary entry left beside an output by a run that was killed (its process is gone).
public struct Leftover: Codable, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    /// The output it belonged to (its name, in the same folder).
    public var output: String
    public var kind: OutputNames.Kind
    public var pid: Int32

    public var description: String {
        switch kind {
        case .temporaryFile: "\(path): unfinished file of a killed run (process \(pid)) writing \(output)"
        case .stagingFolder: "\(path): unfinished folder of a killed run (process \(pid)) writing \(output)"
        case .asideFolder: "\(path): previous \(output) moved aside by a killed run (process \(pid))"
        }
    }
}

/// Finds and removes what killed runs left: `.NAME.tmp-PID…` files and `.NAME.partial-PID`
/// folders whose process is gone, and restores a `.NAME.old-PID` folder whose swap was cut
/// short (see `StagedFolder`). Entries of a live process are never touched.
public enum Leftovers {
    /// Leftovers in `directory` (of the output `name` only, when given).
    public static func find(in directory: String, for name: String? = nil) -> [Leftover] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.sorted().compactMap { entry in
            guard let parsed = OutputNames.parse(entry), name == nil || parsed.name == name, !Sys.processExists(parsed.pid) else { return nil }
            return Leftover(path: (directory as NSString).appendingPathComponent(entry),
                            output: (directory as NSString).appendingPathComponent(parsed.name), kind: parsed.kind, pid: parsed.pid)
        }
    }

    /// The entries of `directory` other than leftovers of killed runs: what decides whether an
    /// existing output folder is empty (a killed run's staging folder inside it does not count).
    public static func contents(of directory: String) -> [String] {
        let leftovers = Set(find(in: directory).map { ($0.path as NSString).lastPathComponent })
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { !leftovers.contains($0) }
    }

    /// Leftovers of the output `path`: beside it (its own temporary names) and, for a folder,
    /// inside it (files being written into it). What `validate` reports beside a data set.
    public static func of(_ path: String) -> [Leftover] {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        var found = find(in: url.deletingLastPathComponent().path, for: url.lastPathComponent)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            found += find(in: url.path)
        }
        return found
    }

    /// Removes the leftovers of the output `path` (beside and inside it) and returns them.
    /// An aside folder whose output is missing is renamed back to the output instead.
    /// Call it holding the output's `OutputLock`, so no live run is writing there.
    @discardableResult
    public static func removeStale(of path: String) -> [Leftover] {
        let found = of(path)
        for leftover in found {
            if leftover.kind == .asideFolder, !FileManager.default.fileExists(atPath: leftover.output) {
                if Glibc.rename(leftover.path, leftover.output) == 0 { continue }
            }
            try? FileManager.default.removeItem(atPath: leftover.path)
        }
        return found
    }
}
