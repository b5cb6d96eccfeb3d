import ArgumentParser
import PhotoZData

/// Options naming the catalog's id, RA and Dec columns: all `cutout` needs, and the first
/// three of `ingest`'s `CatalogColumnOptions`, declared once for both.
struct CatalogPositionOptions: ParsableArguments {
    @Option(help: "Object-id column (default: objID, objid, object_id).")
    var idColumn: String?
    @Option(help: "RA column in degrees (default: ra).")
    var raColumn: String?
    @Option(help: "Dec column in degrees (default: dec).")
    var decColumn: String?

    /// The columns named, the others left to detection.
    var catalogColumns: CatalogColumns { CatalogColumns(objectID: idColumn, ra: raColumn, dec: decColumn) }
}
