import Foundation
import Testing
@testable import PhotoZData

/// SDSS catalogs as they come: a specObj-shaped FITS table written by astropy (BESTOBJID as
/// text, OBJID a 5-vector, PLUG_RA/PLUG_DEC with TUNIT, CLASS as padded text, ZWARNING flags,
/// sentinels), selection cuts, angle units, and the summary of rows without cutouts.
@Suite struct SDSSCatalogTests {
    /// Rows: (BESTOBJID, PLUG_RA, PLUG_DEC, Z, Z_ERR, ZWARNING, CLASS).
    static let rows: [(String, Double, Double, Double, Double, Int, String)] = [
        ("1237648720693755918", 150.10, 2.10, 0.081, 1.2e-5, 0, "GALAXY"),
        ("1237648720693755919", 150.20, 2.20, 0.150, 2.0e-5, 4, "GALAXY"),   // ZWARNING set
        ("1237648720693755920", 150.30, 2.30, 1.700, 3.0e-4, 0, "QSO"),
        ("1237648720693755921", 150.40, 2.40, -9999, -9999, 0, "GALAXY"),    // no redshift
        ("1237648720693755922", 150.50, 2.50, 0.0001, 1.0e-5, 0, "STAR"),
        ("1237648720693755923", 150.60, 2.60, 0.420, 4.0e-5, 0, "GALAXY"),
    ]

    /// Writes the rows as astropy writes a specObj file; `unit` is PLUG_RA/PLUG_DEC's TUNIT.
    static func writeSpecObj(_ path: String, unit: String = "deg", scale: Double = 1) throws {
        let r = rows
        let script = """
        import sys, numpy as np
        from astropy.table import Table
        t = Table()
        t['BESTOBJID'] = np.array(\(r.map(\.0)), dtype='S19')
        t['OBJID'] = np.array([[1000, 301, 3, 200, k] for k in range(\(r.count))], dtype='>i4')
        t['PLUG_RA'] = np.array(\(r.map { $0.1 * scale }), dtype='>f8')
        t['PLUG_DEC'] = np.array(\(r.map { $0.2 * scale }), dtype='>f8')
        t['PLUG_RA'].unit = '\(unit)'
        t['PLUG_DEC'].unit = '\(unit)'
        t['Z'] = np.array(\(r.map(\.3)), dtype='>f4')
        t['Z_ERR'] = np.array(\(r.map(\.4)), dtype='>f4')
        t['ZWARNING'] = np.array(\(r.map(\.5)), dtype='>i4')
        t['CLASS'] = np.array(\(r.map { $0.6.padding(toLength: 6, withPad: " ", startingAt: 0) }), dtype='S6')
        t.write(sys.argv[1], format='fits', overwrite=True)
        """
        _ = try runPython(script, arguments: [path])
    }

    @Test func specObjColumnsAreRecognisedWithoutFlags() throws {
        let dir = TemporaryDirectory()
        try Self.writeSpecObj(dir.file("specObj.fits"))
        let catalog = try Catalog.read(dir.file("specObj.fits"), ebv: .constant(0.02))
        #expect(catalog.columnsUsed["object_id"] == "BESTOBJID")  // OBJID, a 5-vector there, is passed over
        #expect(catalog.columnsUsed["ra"] == "PLUG_RA" && catalog.columnsUsed["dec"] == "PLUG_DEC")
        #expect(catalog.columnsUsed["z"] == "Z" && catalog.columnsUsed["z_err"] == "Z_ERR")
        #expect(catalog.columnsUsed["ebv"] == "constant 0.02")
        #expect(catalog.entries.map(\.objectID) == [1237648720693755918, 1237648720693755919, 1237648720693755920, 1237648720693755922, 1237648720693755923])
        #expect(catalog.entries.allSatisfy { $0.ebv == 0.02 && $0.labelled })
        #expect(catalog.skipped.map(\.reason) == [.missingRedshift])
        #expect(catalog.entries[0].ra == 150.10 && catalog.entries[0].dec == 2.10)
    }

    @Test func classZWarningAndRangeCutsAreAppliedAndExplained() throws {
        let dir = TemporaryDirectory()
        try Self.writeSpecObj(dir.file("specObj.fits"))
        var selection = CatalogSelection()
        selection.classes = ["galaxy"]
        selection.zWarning = [0]
        selection.zMax = 0.4
        selection.keepUnlabelled = true
        let catalog = try Catalog.read(dir.file("specObj.fits"), selection: selection, ebv: .constant(0.02))
        // Kept: the clean galaxy and the galaxy without a redshift (unlabelled); 0.42 is above the range.
        #expect(catalog.entries.map(\.objectID) == [1237648720693755918, 1237648720693755921])
        #expect(catalog.entries.map(\.labelled) == [true, false])
        let reasons = Dictionary(uniqueKeysWithValues: catalog.skipped.map { ($0.objectID!, $0) })
        #expect(reasons[1237648720693755919]?.detail.contains("ZWARNING is 4") == true)
        #expect(reasons[1237648720693755920]?.detail.contains("CLASS is 'QSO'") == true)
        #expect(reasons[1237648720693755922]?.detail.contains("'STAR'") == true)
        #expect(reasons[1237648720693755923]?.detail.contains("above the range") == true)
        #expect(catalog.skipped.allSatisfy { $0.reason == .notSelected })
        #expect(selection.summary.contains("class in [galaxy]") && selection.summary.contains("zwarning in [0]"))
    }

    @Test func anglesInRadiansAreConvertedAndOtherUnitsRefused() throws {
        let dir = TemporaryDirectory()
        try Self.writeSpecObj(dir.file("rad.fits"), unit: "rad", scale: Double.pi / 180)
        let catalog = try Catalog.read(dir.file("rad.fits"), ebv: .constant(0))
        #expect(abs(catalog.entries[0].ra - 150.10) < 1e-9 && abs(catalog.entries[0].dec - 2.10) < 1e-9)
        try Self.writeSpecObj(dir.file("hours.fits"), unit: "arcmin", scale: 60)
        let error = try #require(throws: CatalogColumnError.self) { try Catalog.read(dir.file("hours.fits"), ebv: .constant(0)) }
        #expect(error.role == .ra && error.column == "PLUG_RA" && error.description.contains("arcmin"))
    }

    @Test func aClassCutWithoutAClassColumnNamesIt() throws {
        let dir = TemporaryDirectory()
        try CutoutFactory.csvCatalog([1, 2], at: dir.file("c.csv"))
        var selection = CatalogSelection()
        selection.classes = ["GALAXY"]
        let error = try #require(throws: CatalogColumnError.self) { try Catalog.read(dir.file("c.csv"), selection: selection) }
        #expect(error.role == .objectClass && error.description.contains("columns found: objID"))
    }

    /// Millions of specObj rows for a few thousand cutouts: the rows without cutouts are one
    /// summary line of skipped.csv, not one line each.
    @Test func rowsWithoutCutoutsAreSummarisedWhenTheyAreMostOfTheCatalog() throws {
        let dir = TemporaryDirectory()
        let cutouts = dir.file("cutouts")
        try FileManager.default.createDirectory(atPath: cutouts, withIntermediateDirectories: true)
        for id: Int64 in [1, 2, 3] { try CutoutFactory.write(id: id, layout: .mef, size: 16, into: cutouts) }
        try CutoutFactory.csvCatalog(Array(1...3000), at: dir.file("c.csv"), extraRows: ["5000,150,2,abc,0.001,0.02"])
        let summary = try ingest(testConfig(dir.file("c.csv"), cutouts, dir.file("out")))
        #expect(summary.ingested == 3 && summary.skipped["missing-cutout"] == 2997)
        let lines = try String(contentsOfFile: summary.skippedReport, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3, "\(lines.prefix(5))")  // header, the summary, the bad row
        #expect(lines[1].contains("missing-cutout") && lines[1].contains("2997 of 3001 catalog rows (summarised)"))
        #expect(lines[2].contains("5000") && lines[2].contains("abc"))
    }
}
