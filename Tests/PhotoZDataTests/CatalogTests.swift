import FITS
import Foundation
import Testing
@testable import PhotoZData

@Suite struct CatalogTests {
    @Test func csvWithSDSSNamesIsMapped() throws {
        let dir = TemporaryDirectory()
        try CutoutFactory.csvCatalog([5, 6, 7], at: dir.file("c.csv"))
        let catalog = try Catalog.read(dir.file("c.csv"))
        #expect(catalog.entries.map(\.objectID) == [5, 6, 7])
        #expect(catalog.entries[0].row == 1)
        #expect(abs(catalog.entries[1].zSpec - 0.07) < 1e-6)
        #expect(catalog.columnsUsed["object_id"] == "objID")
        #expect(catalog.skipped.isEmpty)
    }

    @Test func missingColumnsListTheColumnsFound() throws {
        let dir = TemporaryDirectory()
        try "objID,ra,dec,redshift_x\n1,2,3,0.1\n".write(toFile: dir.file("c.csv"), atomically: true, encoding: .utf8)
        // No z column is a prediction set, but a named one must exist.
        let error = try #require(throws: CatalogColumnError.self) { try Catalog.read(dir.file("c.csv"), columns: CatalogColumns(z: "zz")) }
        let text = "\(error)"
        #expect(text.contains("no z column"))
        #expect(text.contains("columns found: objID, ra, dec, redshift_x"))
        #expect(error.role == .z)
        // Without E(B-V) the error names that instead.
        let ebv = try #require(throws: CatalogColumnError.self) { try Catalog.read(dir.file("c.csv")) }
        #expect(ebv.role == .ebv && "\(ebv)".contains("columns found: objID, ra, dec, redshift_x"))
    }

    @Test func nonNumericAndDuplicateRowsAreSkippedWithTheirRow() throws {
        let dir = TemporaryDirectory()
        try CutoutFactory.csvCatalog([1, 2], at: dir.file("c.csv"), extraRows: ["3,150.0,2.0,abc,0.001,0.03", "2,150.0,2.0,0.1,0.001,0.03", "x9,1,1,0.1,0.001,0.03"])
        let catalog = try Catalog.read(dir.file("c.csv"))
        #expect(catalog.entries.map(\.objectID) == [1, 2])
        #expect(catalog.skipped.count == 3)
        #expect(catalog.skipped[0].row == 3 && catalog.skipped[0].reason == .badCatalogValue && catalog.skipped[0].detail.contains("'abc'"))
        #expect(catalog.skipped[1].reason == .duplicateID && catalog.skipped[1].detail.contains("row 2"))
        #expect(catalog.skipped[2].detail.contains("x9"))
    }

    @Test func perBandExtinctionBecomesEBV() throws {
        let dir = TemporaryDirectory()
        let ebv = 0.05
        let r = ExtinctionCoefficients.sfd98
        let columns = Band.allCases.map { String(format: "%.6f", r.coefficient($0) * ebv) }.joined(separator: ",")
        try "objid,ra,dec,z,zErr,extinction_u,extinction_g,extinction_r,extinction_i,extinction_z\n42,10,20,0.1,0.001,\(columns)\n"
            .write(toFile: dir.file("c.csv"), atomically: true, encoding: .utf8)
        let catalog = try Catalog.read(dir.file("c.csv"))
        #expect(abs(Double(catalog.entries[0].ebv) - ebv) < 1e-5)
        #expect(catalog.columnsUsed["ebv"]!.contains("SFD98"))
        // The same extinctions read with the SF11 set give a different E(B−V): the set matters and is recorded.
        let sf11 = try Catalog.read(dir.file("c.csv"), extinction: .sf11)
        #expect(sf11.entries[0].ebv > catalog.entries[0].ebv * 1.1)
    }

    @Test func fitsTableCatalogsAreRead() throws {
        let dir = TemporaryDirectory()
        let file = try FITSFile.create(dir.file("c.fits"))
        try file.createImage(bitpix: 8, shape: [])
        try file.createBinaryTable(name: "SPECOBJ", columns: [
            FITSColumn(name: "OBJID", data: .int64([11, 12])),
            FITSColumn(name: "RA", unit: "deg", data: .float64([1, 2])),
            FITSColumn(name: "DEC", unit: "deg", data: .float64([3, 4])),
            FITSColumn(name: "Z", data: .float32([0.1, .nan])),
            FITSColumn(name: "ZERR", data: .float32([0.001, 0.001])),
            FITSColumn(name: "EBV", data: .float32([0.02, 0.03])),
        ])
        try file.close()
        let catalog = try Catalog.read(dir.file("c.fits"))
        #expect(catalog.entries.map(\.objectID) == [11])
        #expect(catalog.skipped.first?.reason == .missingRedshift)  // z = NaN is never a label
        #expect(catalog.skipped.first?.row == 2)
    }

    @Test func aMissingCatalogIsAClearError() {
        #expect(throws: PhotoZDataError.self) { try Catalog.read("/nonexistent/catalog.csv") }
    }
}
