// HDF5Error: what failed, on which file and object, with HDF5's own error stack.

/// An HDF5 operation that failed, with the file, the object inside it and HDF5's own messages.
///
/// Every throwing function of this module throws `HDF5Error`. When libhdf5 reported the
/// failure, `function` names the C function (`"H5Dopen2"`) and `message` holds the text of
/// HDF5's error stack, walked from the API call down to the deepest cause. When photoz found
/// the problem itself (a file that already exists, rows out of range, a type that cannot be
/// converted), `function` names the photoz operation and `message` says what to do.
public struct HDF5Error: Error, CustomStringConvertible, Sendable {
    /// The HDF5 function that failed (e.g. `"H5Dopen2"`), or the photoz operation.
    public var function: String
    /// The path of the HDF5 file.
    public var path: String
    /// The object path inside the file (`"/images"`), when known.
    public var object: String?
    /// What could not be done, in a few words ("cannot open dataset").
    public var summary: String
    /// HDF5's error stack messages, or photoz's own explanation.
    public var message: String

    /// Creates an error value; the module itself fills `message` from HDF5's error stack.
    public init(function: String, path: String, object: String? = nil, summary: String, message: String) {
        self.function = function
        self.path = path
        self.object = object
        self.summary = summary
        self.message = message
    }

    /// One line: `"shards/a.h5: /images: cannot open dataset (H5Dopen2): <stack>"`.
    public var description: String {
        var text = path + ": "
        if let object { text += object + ": " }
        text += "\(summary) (\(function))"
        if !message.isEmpty { text += ": " + message }
        return text
    }
}

/// Where an operation happens: the file and, when there is one, the object inside it.
extension HDF5Error {
    /// The same error with a summary that says what to do when libhdf5 refused the file because
    /// another open of it holds HDF5's file lock (another program writing it, or reading it while
    /// this one writes).
    func namingALock() -> HDF5Error {
        guard message.contains("unable to lock") else { return self }
        var error = self
        error.summary = (function == "H5Fcreate" ? "cannot create file" : "cannot open file") + Self.lockAdvice
        return error
    }

    private static let lockAdvice = ": another program has it open and holds HDF5's file lock "
        + "(close it there, or on a file system without locks set HDF5_USE_FILE_LOCKING=FALSE)"

    /// Whether libhdf5 refused the file because another open of it holds HDF5's file lock.
    var isLockRefusal: Bool { summary.hasSuffix(Self.lockAdvice) }
}

struct HDF5Site: Sendable {
    var file: String
    var object: String?

    /// An error found by photoz itself (not reported by libhdf5).
    func error(_ operation: String, _ summary: String, _ message: String) -> HDF5Error {
        HDF5Error(function: operation, path: file, object: object, summary: summary, message: message)
    }

    /// The same file, another object.
    func at(_ object: String) -> HDF5Site { HDF5Site(file: file, object: object) }
}

/// Joins a group path and a member name: `("/", "a") -> "/a"`, `("/g", "a") -> "/g/a"`.
func joinPath(_ parent: String, _ name: String) -> String {
    if name.hasPrefix("/") { return name }
    return parent.hasSuffix("/") ? parent + name : parent + "/" + name
}
