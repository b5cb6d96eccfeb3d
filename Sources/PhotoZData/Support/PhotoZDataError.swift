/// Errors of the data layer that a user's files or options can cause.
///
/// Every case names the file (and where useful the HDU, dataset or row) and says what to do.
public enum PhotoZDataError: Error, CustomStringConvertible, Sendable {
    /// A file cannot be read or written.
    case io(path: String, message: String)
    /// A catalog is unusable as a whole (missing required columns, no rows…).
    case catalog(path: String, message: String)
    /// A cutout file is unusable for one object.
    case cutout(path: String, message: String)
    /// A shard or other photoz file does not follow its schema.
    case schema(path: String, message: String)
    /// An option or combination of options cannot work.
    case invalidOption(String)
    /// The output exists and the user did not ask to replace it.
    case outputExists(path: String)

    public var description: String {
        switch self {
        case let .io(path, message): "\(path): \(message)"
        case let .catalog(path, message): "catalog \(path): \(message)"
        case let .cutout(path, message): "\(path): \(message)"
        case let .schema(path, message): "\(path): \(message)"
        case let .invalidOption(message): message
        case let .outputExists(path): "\(path) already exists; pass --overwrite to replace it, or choose another --out"
        }
    }
}
