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
    /// Add the objects to the data set at `output` (a new version of it, every existing row
    /// kept with its split) instead of writing a new one.
    public var append = false
    public var fillNonFinite: Float?
    public var columns = CatalogColumns()
    public var extinction: ExtinctionCoefficients = .sfd98
    /// Rows without a redshift, and the class / ZWARNING / redshift cuts.
    public var selection = CatalogSelection()
    /// Where E(B−V) comes from.
    public var ebv: EBVSource = .catalog
    /// More catalog columns stored as they are.
    public var keepColumns: KeptColumns = .none
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
        if append && overwrite { throw PhotoZDataError.invalidOption("--append adds to the data set at --out; --overwrite replaces it: choose one") }
        if let threads, threads < 1 { throw PhotoZDataError.invalidOption("--threads \(threads): at least 1") }
        if let low = selection.zMin, let high = selection.zMax, !(low < high) {
            throw PhotoZDataError.invalidOption("the redshift range \(low)…\(high) is empty: give the lower end first, e.g. 0.01,0.4")
        }
        if case let .constant(v) = ebv, !(v.isFinite && v >= 0 && v < 10) {
            throw PhotoZDataError.invalidOption("E(B-V) \(v): a reddening in magnitudes, from 0 to about 1 for any extragalactic field")
        }
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
