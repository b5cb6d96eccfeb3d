import Foundation

/// The shard schema, version 1.1: the names, types and attributes `schemas/shard-v1.md` describes.
///
/// Minor version 1 added `labelled` (rows without a spectroscopic redshift). A minor version
/// only adds: a reader of 1.1 reads 1.0 shards (every row labelled, as their z_spec is always
/// finite), and a reader of 1.0 reads 1.1 shards, where an unlabelled row's NaN z_spec makes
/// `train` and `validate` refuse it rather than take it as a label.
///
/// A shard is an HDF5 file of flat, row-aligned datasets: row k of every dataset describes
/// the same object. The per-row datasets are the columns of `ShardSchema.columns`, the one
/// place they are listed.
public enum ShardSchema {
    public static let name = "photoz.shard"
    public static let version: Int64 = 1
    /// Written as `schema_minor_version`; absent means 0.
    public static let minorVersion: Int64 = 1

    /// Names of the columns code refers to by meaning (the table below declares them).
    public static let images = "images"
    public static let objectID = "object_id"
    public static let ra = "ra"
    public static let dec = "dec"
    public static let zSpec = "z_spec"
    public static let zSpecErr = "z_spec_err"
    public static let ebv = "ebv"
    public static let perturbation = "perturbation"
    public static let labelled = "labelled"
    public static let wcs = "wcs"

    /// Every per-row column a shard may hold, in file order. This table drives the row type
    /// (`ShardRows`), the writers, the reader, `validate`, `inspect` and the FITS export:
    /// adding a column is one line here (plus its row in `schemas/shard-v1.md`).
    public static let columns: [ShardColumn] = [
        ShardColumn(images, .float32, .image, unit: "nanomaggy", .required, fits: nil,
                    "band-first images (u, g, r, i, z); images[k, b, y, x] is pixel (x, y)"),
        ShardColumn(objectID, .int64, .scalar, unit: "", .required, fits: "OBJID", "catalog object id, unique within a data set"),
        ShardColumn(ra, .float64, .scalar, unit: "deg", .required, fits: "RA", "right ascension"),
        ShardColumn(dec, .float64, .scalar, unit: "deg", .required, fits: "DEC", "declination"),
        ShardColumn(zSpec, .float32, .scalar, unit: "", .required, fits: "Z_SPEC", "spectroscopic redshift"),
        ShardColumn(zSpecErr, .float32, .scalar, unit: "", .required, fits: "ZSPECERR", "error of z_spec"),
        ShardColumn(ebv, .float32, .scalar, unit: "mag", .required, fits: "EBV", "Galactic reddening E(B-V)"),
        ShardColumn(perturbation, .float32, .image, unit: "nanomaggy", .optional, fits: nil,
                    "adversarial shards: images minus the clean images"),
        ShardColumn(labelled, .int64, .scalar, unit: "", .optional, fits: "LABELLED",
                    "1: z_spec is a spectroscopic redshift; 0: none is known (z_spec, z_spec_err NaN). Absent: 1 where z_spec is finite"),
        ShardColumn(wcs, .float64, .vector(StampWCS.count), unit: "", .optional, fits: nil,
                    "the stamp's celestial WCS from its cutout, as a TAN projection about the stamp centre: CRVAL1, CRVAL2 (deg, ICRS), CRPIX1, CRPIX2, CD1_1, CD1_2, CD2_1, CD2_2 (deg/pixel); all NaN: the cutout had none"),
    ]

    /// Optional columns that describe the object rather than how its images were made: every
    /// stage that copies rows (select, split, merge, attacks) carries them to its output.
    public static var carriedColumns: [ShardColumn] { columns.filter { $0.presence == .optional && $0.name != perturbation } }

    /// The columns every shard holds.
    public static let requiredColumns = columns.filter { $0.presence == .required }

    /// The column named `name`, if the schema has one.
    public static func column(_ name: String) -> ShardColumn? { columnsByName[name] }

    static let columnsByName = Dictionary(uniqueKeysWithValues: columns.map { ($0.name, $0) })

    /// Root attributes every shard carries.
    public enum Attribute {
        public static let schema = "schema"
        public static let schemaVersion = "schema_version"
        public static let schemaMinorVersion = "schema_minor_version"
        public static let bands = "bands"
        public static let imageSize = "image_size"
        public static let pixelScale = "pixel_scale"
        public static let pixelScaleUnit = "pixel_scale_unit"
        public static let fluxUnit = "flux_unit"
        public static let extinctionCoefficients = "extinction_coefficients"
        public static let extinctionValues = "extinction_values"
        public static let split = "split"
        public static let tool = "tool"
        public static let toolVersion = "tool_version"
        public static let created = "created"
        public static let inputs = "inputs"
        public static let configuration = "configuration"
        public static let rows = "rows"
    }

    /// Rows per HDF5 chunk of `images` (4 × 80 KiB = 320 KiB, inside HDF5's 1 MiB chunk cache).
    public static let chunkRows = 4
    /// Rows per chunk of the 1-D datasets.
    public static let columnChunkRows = 1024

    /// The largest image side a shard may declare: far above any cutout photoz makes (64), low
    /// enough that one row's pixels never overflow or exhaust memory (5 × 4096² floats = 320 MiB).
    public static let maxImageSize = 4096
    /// Deflate cannot shrink data more than about 1032:1; a shard's declared rows must fit
    /// in its file's bytes times this factor, which bounds the work of reading it.
    public static let maxCompressionRatio = 1100
}

/// The version of the photoz tool, recorded in every file it writes.
public enum PhotoZVersion {
    public static let current = "0.1.0"
}

/// ISO 8601 time stamps for provenance attributes.
public func isoTimestamp(_ date: Date = Date()) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
}
