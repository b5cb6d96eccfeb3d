/// The kind of an HDU, as cfitsio reports it after a move.
///
/// A tile-compressed image (a `.fits.fz` extension, stored as a BINTABLE) is reported as
/// `.image`: cfitsio decompresses it transparently.
public enum FITSHDUType: Sendable {
    case image, asciiTable, binaryTable
}

/// A typed header keyword value, for writing with `FITSFile.write(_:_:comment:)`.
public enum FITSValue: Sendable, Equatable {
    case string(String), int(Int), double(Double), bool(Bool)
}

/// One 80-character header card, split into its parts.
///
/// `value` is the value text as it appears in the card, except that string values have their
/// enclosing quotes removed (and doubled quotes `''` turned into one) and trailing blanks
/// trimmed. COMMENT, HISTORY and blank cards have an empty `value` and their text in `comment`.
public struct FITSCard: Sendable, Equatable {
    public var name: String
    public var value: String
    public var comment: String

    /// Creates a card from its parts.
    public init(name: String, value: String, comment: String) {
        self.name = name
        self.value = value
        self.comment = comment
    }
}

/// The values of one table column, in the column's native type (rows in order).
///
/// Vector columns (a repeat count above 1, such as `5E`) are flattened row by row:
/// row 0's elements, then row 1's, and so on.
public enum FITSColumnData: Sendable, Equatable {
    case int64([Int64]), int32([Int32]), float32([Float]), float64([Double]), string([String])

    /// The number of values held (rows × repeat count).
    public var count: Int {
        switch self {
        case .int64(let v): v.count
        case .int32(let v): v.count
        case .float32(let v): v.count
        case .float64(let v): v.count
        case .string(let v): v.count
        }
    }

    /// The values as doubles (strings are not numbers: `nil`).
    public var doubles: [Double]? {
        switch self {
        case .int64(let v): v.map { Double($0) }
        case .int32(let v): v.map { Double($0) }
        case .float32(let v): v.map { Double($0) }
        case .float64(let v): v
        case .string: nil
        }
    }
}

/// A named column to write with `FITSFile.createBinaryTable(name:columns:)`.
///
/// The FITS type follows the data: `int64` → `K`, `int32` → `J`, `float32` → `E`,
/// `float64` → `D`, `string` → `nA` with n the longest string's UTF-8 length (at least 1).
public struct FITSColumn: Sendable {
    public var name: String
    public var unit: String?
    public var data: FITSColumnData

    /// Creates a column; `unit` becomes the column's TUNITn keyword when given.
    public init(name: String, unit: String? = nil, data: FITSColumnData) {
        self.name = name
        self.unit = unit
        self.data = data
    }
}

/// Tile compression for a new image HDU (the `.fits.fz` convention, as `fpack` writes it).
///
/// Floating-point images are compressed losslessly (no quantization), so values read back
/// are exactly the values written.
public enum FITSTileCompression: Sendable {
    /// Rice coding, one row per tile: fast and strong for integer images (integer BITPIX only:
    /// lossless Rice coding of floating-point pixels is impossible).
    case rice
    /// gzip of each tile: works for every BITPIX; the lossless choice for floating point.
    case gzip
}
