import ArgumentParser
import PhotoZData

/// Options naming the catalog's id, RA and Dec columns: all `cutout` needs, and the first
/// three of `ingest`'s `CatalogColumnOptions`, declared once for both.
struct CatalogPositionOptions: ParsableArguments {
    @Option(help: "Object-id column (default: objID, objid, object_id, id, bestObjID).")
    var idColumn: String?
    @Option(help: "RA column, degrees or TUNIT rad (default: ra, PLUG_RA).")
    var raColumn: String?
    @Option(help: "Dec column, degrees or TUNIT rad (default: dec, PLUG_DEC).")
    var decColumn: String?

    /// The columns named, the others left to detection.
    var catalogColumns: CatalogColumns { CatalogColumns(objectID: idColumn, ra: raColumn, dec: decColumn) }
}
