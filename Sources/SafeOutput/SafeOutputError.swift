import Foundation

/// An error writing an output: which file or folder, what failed, and the system's reason.
///
/// `kind` lets the executable choose the exit code: `.usage` (a `--out` that breaks the
/// rules, an output that exists) is a usage error (64); the others are failures (1).
public struct SafeOutputError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The requested output breaks a rule (inside an input, not photoz's, exists); nothing was touched.
        case usage
        /// Another process is writing the same output.
        case locked
        /// A system call failed (disk full, permissions, I/O error).
        case io
    }

    public let kind: Kind
    public let path: String
    public let message: String
    /// The `errno` of the failed system call, when there was one.
    public let errno: Int32?

    public init(_ kind: Kind, path: String, message: String, errno: Int32? = nil) {
        self.kind = kind
        self.path = path
        self.message = message
        self.errno = errno
    }

    /// An I/O failure of `operation` on `path`, carrying `errno` and its text ("No space left on device").
    static func system(_ operation: String, path: String, errno code: Int32) -> SafeOutputError {
        SafeOutputError(.io, path: path, message: "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))", errno: code)
    }

    public var description: String { "\(path): \(message)" }
}
