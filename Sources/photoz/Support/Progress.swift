import Foundation
import PhotoZData

/// Progress on stderr: a line rewritten in place on a terminal, a line per 10 % otherwise.
final class ProgressDisplay: @unchecked Sendable {
    private let label: String
    private let unit: String
    private let start = Date()
    private let lock = NSLock()
    private let isTerminal = isatty(2) != 0
    private var lastPrint = Date.distantPast
    private var lastDecile = -1

    init(_ label: String, unit: String = "objects") {
        self.label = label
        self.unit = unit
    }

    /// A handler for library functions that report progress.
    var handler: ProgressHandler { { [self] done, total in update(done, total) } }

    func update(_ done: Int, _ total: Int, extra: String? = nil) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let percent = total > 0 ? 100 * done / total : 100
        let text = "\(label) \(done)/\(total) \(unit) (\(percent)%), \(Int(rate.rounded())) \(unit)/s, ETA \(formatDuration(eta))" + (extra.map { ", " + $0 } ?? "")
        if isTerminal {
            guard now.timeIntervalSince(lastPrint) > 0.2 || done == total else { return }
            lastPrint = now
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text + (done == total ? "\n" : "")).utf8))
        } else {
            let decile = total > 0 ? 10 * done / total : 10
            guard decile != lastDecile else { return }
            lastDecile = decile
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }
}

func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : s >= 60 ? String(format: "%dm%02ds", s / 60, s % 60) : "\(s)s"
}

/// Writes a line to stderr.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
