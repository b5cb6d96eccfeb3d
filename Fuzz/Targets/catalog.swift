// Fuzz target: the catalog readers. The first input byte chooses CSV (even) or a FITS table
// (odd); the rest is the file.
import Foundation
import PhotoZData

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCatalog(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let path = FuzzScratch.write(data + 1, size - 1, as: data[0] % 2 == 0 ? "catalog.csv" : "catalog.fits")
    _ = try? Catalog.read(path)
    _ = try? Catalog.read(path, columns: CatalogColumns(extinctionPrefix: "extinction_"))
    return 0
}
