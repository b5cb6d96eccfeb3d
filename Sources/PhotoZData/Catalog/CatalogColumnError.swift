/// What a catalog column is used for; the key of `CatalogColumns.defaults` and of
/// `Catalog.columnsUsed`.
public enum CatalogColumnRole: String, Sendable, CaseIterable, Codable {
    case objectID = "object_id"
    case ra
    case dec
    case z
    case zErr = "z_err"
    case ebv
    /// The prefix of the per-band extinction columns (`extinction_u` … `extinction_z`).
    case extinctionPrefix = "extinction_prefix"
    /// The spectral class (SDSS `CLASS`), read for a class cut.
    case objectClass = "class"
    /// SDSS's redshift warning flags, read for a ZWARNING cut.
    case zWarning = "zwarning"
    /// A column to keep as it is (`--keep-columns`).
    case kept = "kept"

    /// The value in words, for messages ("the object id").
    public var meaning: String {
        switch self {
        case .objectID: "the object id"
        case .ra: "the right ascension (degrees)"
        case .dec: "the declination (degrees)"
        case .z: "the spectroscopic redshift"
        case .zErr: "the redshift error"
        case .ebv: "E(B-V)"
        case .extinctionPrefix: "the per-band extinctions"
        case .objectClass: "the spectral class"
        case .zWarning: "the redshift warning flags"
        case .kept: "a column to keep"
        }
    }
}

/// A catalog column photoz cannot use: missing, or holding something other than one number
/// per row. Carries the column's role so that a front end can name its own way of choosing
/// another column (the CLI's `--id-column`, `--z-column`…); the message itself names no
/// command-line option.
public struct CatalogColumnError: Error, CustomStringConvertible, Sendable {
    /// The catalog file.
    public var path: String
    /// What the column was to provide.
    public var role: CatalogColumnRole
    /// The column found, or nil when none was.
    public var column: String?
    /// What is wrong and what to do, e.g. "no z column: none of z, Z … found; columns found: …".
    public var message: String

    public init(path: String, role: CatalogColumnRole, column: String?, message: String) {
        self.path = path
        self.role = role
        self.column = column
        self.message = message
    }

    public var description: String { "catalog \(path): \(message)" }
}
