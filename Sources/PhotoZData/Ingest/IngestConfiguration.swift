import HDF5

/// Everything `ingest` needs; recorded as JSON in every shard it writes.
public struct IngestConfiguration: Codable, Sendable {
    public var catalog: String
    public var cutouts: String
    public var output: String
    /// nil: detect from the files.
    public var layout: CutoutLayout?
    /// File-name template with `{id}` (and `{band}` for per-band); nil: the layout's default.
    public var template: String?
    public var size: Int = Survey.cutoutSize
    public var shardSize: Int = 1000
    public var compression: ShardCompression = .gzip(4)
    public var split: SplitFractions = .default
    public var overwrite = false
    public var fillNonFinite: Float?
    public var columns = CatalogColumns()
    public var extinction: ExtinctionCoefficients = .sfd98
    public var cubeBandOrder: [Band]?
    /// Worker threads reading FITS files; nil: one per core.
    public var threads: Int?

    public init(catalog: String, cutouts: String, output: String) {
        self.catalog = catalog
        self.cutouts = cutouts
        self.output = output
    }

    /// Checks the options before any file is touched.
    public func validate() throws {
        guard size >= 8 else { throw PhotoZDataError.invalidOption("--size \(size): a cutout must be at least 8 pixels") }
        guard shardSize >= 1 else { throw PhotoZDataError.invalidOption("--shard-size \(shardSize): a shard holds at least one row") }
        if let threads, threads < 1 { throw PhotoZDataError.invalidOption("--threads \(threads): at least 1") }
    }
}

/// Compression of shard datasets: none, or gzip (DEFLATE) with HDF5's byte shuffle.
public enum ShardCompression: Codable, Sendable, Equatable, CustomStringConvertible {
    case none
    case gzip(Int)

    /// Parses `none`, `gzip` (level 4) or `gzip:LEVEL` (1–9).
    public init(parsing text: String) throws {
        let lower = text.lowercased()
        if lower == "none" { self = .none; return }
        if lower == "gzip" { self = .gzip(4); return }
        if lower.hasPrefix("gzip:"), let level = Int(lower.dropFirst(5)), (1...9).contains(level) { self = .gzip(level); return }
        throw PhotoZDataError.invalidOption("--compression '\(text)': expected none, gzip or gzip:LEVEL with LEVEL 1–9")
    }

    public var description: String {
        switch self {
        case .none: "none"
        case let .gzip(level): "gzip:\(level)+shuffle"
        }
    }

    var hdf5: HDF5Compression {
        switch self {
        case .none: .none
        case let .gzip(level): .gzip(level: level)
        }
    }
}
