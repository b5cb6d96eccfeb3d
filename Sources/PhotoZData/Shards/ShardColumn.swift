import HDF5

/// One per-row column of the shard schema: a dataset whose first axis is the row.
///
/// `ShardSchema.columns` lists them all; everything that reads, writes, checks or shows rows
/// goes through that list, so a new column is declared once.
public struct ShardColumn: Sendable, Hashable, CustomStringConvertible {
    /// Element type as stored in the file (little-endian).
    public enum ElementKind: String, Sendable, Hashable {
        case float32, float64, int64

        /// Bytes per element.
        public var size: Int { self == .float32 ? 4 : 8 }
        /// The HDF5 element type.
        public var hdf5: HDF5ElementType {
            switch self {
            case .float32: .float32
            case .float64: .float64
            case .int64: .int64
            }
        }
    }

    /// Shape of one row: a scalar, or an image of every band (5, S, S).
    public enum RowShape: Sendable, Hashable {
        case scalar
        case image

        /// The dataset's shape for `rows` rows of images of side `imageSize`.
        public func datasetShape(rows: Int, imageSize: Int) -> [Int] {
            self == .scalar ? [rows] : [rows, Band.allCases.count, imageSize, imageSize]
        }
        /// Elements per row.
        public func elements(imageSize: Int) -> Int { self == .scalar ? 1 : Band.allCases.count * imageSize * imageSize }
    }

    /// Whether every shard holds the column.
    public enum Presence: String, Sendable, Hashable { case required, optional }

    public let name: String
    public let kind: ElementKind
    public let shape: RowShape
    /// Unit written as the dataset's `unit` attribute ("" for none).
    public let unit: String
    public let presence: Presence
    /// FITS keyword of the value in an exported object's primary header (scalar columns), nil: not exported.
    public let fitsKeyword: String?
    /// What the column means (schema doc, `inspect`, FITS comments).
    public let meaning: String

    public init(_ name: String, _ kind: ElementKind, _ shape: RowShape, unit: String, _ presence: Presence, fits: String?, _ meaning: String) {
        self.name = name
        self.kind = kind
        self.shape = shape
        self.unit = unit
        self.presence = presence
        fitsKeyword = fits
        self.meaning = meaning
    }

    /// Position in `ShardSchema.columns` (the storage slot of `ShardRows`).
    public var index: Int { ShardSchema.columnIndex[name]! }

    /// Bytes of one row of this column.
    public func rowBytes(imageSize: Int) -> Int { kind.size * shape.elements(imageSize: imageSize) }

    public var description: String { "/\(name)" }
}

extension ShardSchema {
    static let columnIndex = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1.name, $0) })
}
