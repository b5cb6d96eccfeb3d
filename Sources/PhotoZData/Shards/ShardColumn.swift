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

    /// Shape of one row: a scalar, a fixed vector of n values, or an image of every band (5, S, S).
    public enum RowShape: Sendable, Hashable {
        case scalar
        case vector(Int)
        case image

        /// The dataset's shape for `rows` rows of images of side `imageSize`.
        public func datasetShape(rows: Int, imageSize: Int) -> [Int] {
            switch self {
            case .scalar: [rows]
            case let .vector(n): [rows, n]
            case .image: [rows, Band.allCases.count, imageSize, imageSize]
            }
        }
        /// Elements per row.
        public func elements(imageSize: Int) -> Int {
            switch self {
            case .scalar: 1
            case let .vector(n): n
            case .image: Band.allCases.count * imageSize * imageSize
            }
        }
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

    /// For a catalog column of text stored as codes: the text of each code (code k is
    /// `categories[k]`, -1 an empty cell); nil for every other column.
    public let categories: [String]?

    public init(_ name: String, _ kind: ElementKind, _ shape: RowShape, unit: String, _ presence: Presence, fits: String?, _ meaning: String,
                categories: [String]? = nil) {
        self.name = name
        self.kind = kind
        self.shape = shape
        self.unit = unit
        self.presence = presence
        fitsKeyword = fits
        self.meaning = meaning
        self.categories = categories
    }

    /// The group of the catalog columns kept by `ingest --keep-columns`.
    public static let catalogGroup = "catalog"

    /// A catalog column kept as it is (`catalog/NAME`): an optional per-row scalar that is not
    /// in the schema's table, carried by every stage that copies rows. Numbers keep their type
    /// (int64 or float64, NaN for a missing value); text is stored as int64 codes into
    /// `categories` (pandas: `Categorical.from_codes`).
    public static func catalog(_ name: String, _ kind: ElementKind, categories: [String]? = nil, unit: String = "") -> ShardColumn {
        precondition(kind != .float32 && (categories == nil || kind == .int64), "catalog columns are float64, int64 or int64 codes")
        return ShardColumn(catalogGroup + "/" + name, kind, .scalar, unit: unit, .optional, fits: nil,
                           categories == nil ? "catalog column \(name)" : "catalog column \(name) (text, as codes into the attribute categories)",
                           categories: categories)
    }

    /// Whether this is a catalog column kept by `--keep-columns` rather than one of the table's.
    public var isCatalogColumn: Bool { name.hasPrefix(Self.catalogGroup + "/") }

    /// The catalog's name of a catalog column (`CLASS` for `catalog/CLASS`).
    public var catalogName: String { isCatalogColumn ? String(name.dropFirst(Self.catalogGroup.count + 1)) : name }

    /// Bytes of one row of this column.
    public func rowBytes(imageSize: Int) -> Int { kind.size * shape.elements(imageSize: imageSize) }

    public var description: String { "/\(name)" }
}
