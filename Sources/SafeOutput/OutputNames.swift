import Foundation

/// The names of the temporary entries photoz creates beside an output, in one place so that
/// writers, the leftover cleaner and `validate` agree:
///
/// - `.NAME.tmp-PID-N`: a file being written (`AtomicFile`);
/// - `.NAME.partial-PID`: a folder being written (`StagedFolder`);
/// - `.NAME.old-PID`: the previous folder moved aside during a swap where the file system
///   cannot exchange two names atomically;
/// - `.NAME.lock`: the advisory lock of a run writing NAME (`OutputLock`).
public enum OutputNames {
    public static func temporaryFile(_ name: String, pid: Int32, serial: Int) -> String { ".\(name).tmp-\(pid)-\(serial)" }
    public static func stagingFolder(_ name: String, pid: Int32) -> String { ".\(name).partial-\(pid)" }
    public static func asideFolder(_ name: String, pid: Int32) -> String { ".\(name).old-\(pid)" }
    public static func lockFile(_ name: String) -> String { ".\(name).lock" }

    /// What a temporary entry is, for which output name, and which process made it.
    public enum Kind: String, Sendable, Codable { case temporaryFile = "tmp", stagingFolder = "partial", asideFolder = "old" }

    /// Parses `.NAME.tmp-PID[-N]`, `.NAME.partial-PID` or `.NAME.old-PID`; nil for any other name.
    public static func parse(_ entry: String) -> (name: String, kind: Kind, pid: Int32)? {
        guard entry.hasPrefix(".") else { return nil }
        for kind in [Kind.temporaryFile, .stagingFolder, .asideFolder] {
            let marker = ".\(kind.rawValue)-"
            // The marker after the leading dot: an output named `old-1` has the lock `.old-1.lock`,
            // whose marker is the leading dot itself (no name before it).
            guard let range = entry.range(of: marker, options: .backwards), range.lowerBound > entry.startIndex else { continue }
            let name = String(entry[entry.index(after: entry.startIndex)..<range.lowerBound])
            let tail = entry[range.upperBound...]
            let pidText = kind == .temporaryFile ? tail.split(separator: "-", maxSplits: 1).first.map(String.init) ?? "" : String(tail)
            guard !name.isEmpty, let pid = Int32(pidText), pid > 0 else { continue }
            if kind == .temporaryFile, tail.contains("-"), Int(tail.split(separator: "-", maxSplits: 1)[1]) == nil { continue }
            return (name, kind, pid)
        }
        return nil
    }
}
