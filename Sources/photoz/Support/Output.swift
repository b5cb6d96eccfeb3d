import ArgumentParser
import Foundation
import PhotoZ
import PhotoZData
import SafeOutput

/// Checks an output option against `OutputRules` (not an input, replaced only with
/// `--overwrite` and only if photoz wrote it). Called from `validate()`, so a violation is a
/// usage error: exit 64, nothing touched. `inputs` with a nil path are options not given.
func checkOutput(_ out: String, option: String = "--out", kind: OutputRules.Kind, inputs: [(String, String?)],
                 overwrite: Bool, recognise: @escaping @Sendable (String) -> Bool) throws {
    do {
        try OutputRules.check(out, option: option, kind: kind, inputs: inputs.compactMap { name, path in path.map { (name, $0) } },
                              overwrite: overwrite, recognise: recognise)
    } catch let error as SafeOutputError where error.kind == .usage {
        throw ValidationError(error.description)
    }
}

/// Takes the output's lock before any work (a second run writing the same output fails at
/// once, naming the first) and removes what killed runs left there. Keep the returned lock
/// alive until the command ends.
func claimOutput(_ out: String) throws -> OutputLock {
    let lock = try OutputLock(target: out)
    for leftover in Leftovers.removeStale(of: out) {
        printError(leftover.kind == .asideFolder ? "restored \(leftover.output) from \(leftover.path) (a run was killed while replacing it)"
                                                  : "removed \(leftover.path), left by a killed run (process \(leftover.pid))")
    }
    return lock
}

/// Checks that a numeric option lies in `range`; the message names the option and the range.
func checkBounds<T: Comparable>(_ value: T?, _ option: String, _ range: ClosedRange<T>, _ meaning: String = "") throws {
    guard let value else { return }
    guard range.contains(value) else {
        throw ValidationError("\(option) \(value): must be between \(range.lowerBound) and \(range.upperBound)\(meaning.isEmpty ? "" : " (\(meaning))")")
    }
}

/// `--split` of commands that take one split or all of them.
enum SplitChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    case test, valid, train, all
    /// The split, nil for all.
    var split: Split? { Split(rawValue: rawValue) }
}

/// Bounds shared by the commands: enough for any real run, small enough to refuse typos
/// (`--batch-size 640000`) before memory is allocated from them.
enum Limits {
    static let batchSize = 1...4096
    static let threads = 1...1024
    static let imageSize = 16...1024
    static let shardSize = 1...1_000_000
    static let epochs = 1...100_000
    static let steps = 1...100_000_000
}

/// Runs `body` (a library's option checks) in `validate()`, turning its option errors into
/// usage errors (exit 64).
func asUsage(_ body: () throws -> Void) throws {
    do { try body() } catch let PhotoZDataError.invalidOption(message) {
        throw ValidationError(message)
    }
}
