import FITS
import Foundation
import Testing
@testable import PhotoZData

/// A FITS binary table written byte by byte, so that columns FITSFile cannot write (vectors,
/// logicals) can be tested. Each column: name, TFORM, and its big-endian bytes per row.
private func craftedTable(_ columns: [(name: String, form: String, rows: [[UInt8]])]) -> Data {
    func card(_ key: String, _ value: String) -> String {
        let padded = value.count >= 20 ? value : String(repeating: " ", count: 20 - value.count) + value
        return (key.padding(toLength: 8, withPad: " ", startingAt: 0) + "= " + padded).padding(toLength: 80, withPad: " ", startingAt: 0)
    }
    func block(_ cards: [String]) -> Data {
        var text = cards.joined() + "END".padding(toLength: 80, withPad: " ", startingAt: 0)
        text += String(repeating: " ", count: (2880 - text.count % 2880) % 2880)
        return Data(text.utf8)
    }
    var data = block([card("SIMPLE", "T"), card("BITPIX", "8"), card("NAXIS", "0"), card("EXTEND", "T")])
    let rowCount = columns[0].rows.count
    let width = columns.reduce(0) { $0 + $1.rows[0].count }
    var cards = [card("XTENSION", "'BINTABLE'"), card("BITPIX", "8"), card("NAXIS", "2"), card("NAXIS1", "\(width)"),
                 card("NAXIS2", "\(rowCount)"), card("PCOUNT", "0"), card("GCOUNT", "1"), card("TFIELDS", "\(columns.count)")]
    for (index, column) in columns.enumerated() {
        cards.append(card("TTYPE\(index + 1)", "'\(column.name)'"))
        cards.append(card("TFORM\(index + 1)", "'\(column.form)'"))
    }
    data.append(block(cards))
    var body: [UInt8] = []
    for row in 0..<rowCount { for column in columns { body += column.rows[row] } }
    body += [UInt8](repeating: 0, count: (2880 - body.count % 2880) % 2880)
    data.append(contentsOf: body)
    return data
}

private func be<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
private func be(_ value: Double) -> [UInt8] { be(value.bitPattern) }
private func be(_ value: Float) -> [UInt8] { be(value.bitPattern) }

/// The good columns of a two-row catalog, to which each test adds or swaps one.
private func goodColumns(ids: [Int64] = [11, 12]) -> [(name: String, form: String, rows: [[UInt8]])] {
    [("objID", "K", ids.map { be($0) }), ("ra", "D", [be(1.0), be(2.0)]), ("dec", "D", [be(3.0), be(4.0)]),
     ("z", "D", [be(0.1), be(0.2)]), ("zErr", "E", [be(Float(0.001)), be(Float(0.001))]), ("ebv", "E", [be(Float(0.02)), be(Float(0.03))])]
}

@Suite struct HostileCatalogTests {
    private func write(_ columns: [(name: String, form: String, rows: [[UInt8]])]) throws -> (TemporaryDirectory, String) {
        let dir = TemporaryDirectory()
        let path = dir.file("c.fits")
        try craftedTable(columns).write(to: URL(fileURLWithPath: path))
        return (dir, path)
    }

    private func replacing(_ name: String, with column: (name: String, form: String, rows: [[UInt8]])) -> [(name: String, form: String, rows: [[UInt8]])] {
        goodColumns().map { $0.name == name ? column : $0 }
    }

    @Test func theCraftedTableReads() throws {
        let (dir, path) = try write(goodColumns())
        _ = dir
        let catalog = try Catalog.read(path)
        #expect(catalog.entries.map(\.objectID) == [11, 12])
        #expect(catalog.entries.map(\.zSpec) == [0.1, 0.2])
    }

    /// A 3-vector z column (`3D`) once gave row i the values of the flattened array at i —
    /// row 2 got row 1's second value. Now it is refused, naming the column and its role.
    @Test func aVectorColumnWhereANumberIsExpectedIsRefused() throws {
        let (dir, path) = try write(replacing("z", with: ("z", "3D", [be(0.1) + be(0.5) + be(0.6), be(0.2) + be(0.7) + be(0.8)])))
        _ = dir
        let error = try #require(throws: CatalogColumnError.self) { try Catalog.read(path) }
        #expect(error.role == .z && error.column == "z")
        #expect(error.description.contains("vector of 3 values"))
        #expect(!error.description.contains("--"))  // lower layers name no command-line option
    }

    @Test func aLogicalColumnWhereANumberIsExpectedIsRefused() throws {
        let (dir, path) = try write(replacing("ra", with: ("ra", "L", [[UInt8(ascii: "T")], [UInt8(ascii: "F")]])))
        _ = dir
        let error = try #require(throws: CatalogColumnError.self) { try Catalog.read(path) }
        #expect(error.role == .ra && error.column == "ra" && error.description.contains("logical"))
    }

    /// SDSS specObj files store BESTOBJID as text: integer text is an id, anything else a bad row.
    @Test func aTextIDColumnIsParsedRowByRow() throws {
        let (dir, path) = try write(replacing("objID", with: ("objID", "4A", [Array("0011".utf8), Array("x012".utf8)])))
        _ = dir
        let catalog = try Catalog.read(path)
        #expect(catalog.entries.map(\.objectID) == [11])
        #expect(catalog.skipped.map(\.reason) == [.badCatalogValue] && catalog.skipped[0].detail.contains("x012"))
    }

    /// Vector and text columns that photoz does not use do not stop the catalog.
    @Test func unusedVectorAndTextColumnsAreIgnored() throws {
        var columns = goodColumns()
        columns.append(("flux", "5E", [Array(repeating: 0, count: 20), Array(repeating: 0, count: 20)]))
        columns.append(("class", "6A", [Array("GALAXY".utf8), Array("QSO   ".utf8)]))
        columns.append(("ok", "L", [[UInt8(ascii: "T")], [UInt8(ascii: "F")]]))
        let (dir, path) = try write(columns)
        _ = dir
        #expect(try Catalog.read(path).entries.count == 2)
    }

    /// SDSS objIDs (~1.2e18) written as float64 lost their last digits: refused, naming the column.
    @Test func float64IDsBeyond2To53AreRefused() throws {
        let (dir, path) = try write(replacing("objID", with: ("objID", "D", [be(1_237_650_000_000_000_001.0), be(1_237_650_000_000_000_002.0)])))
        _ = dir
        let error = try #require(throws: CatalogColumnError.self) { try Catalog.read(path) }
        #expect(error.role == .objectID && error.column == "objID" && error.description.contains("64-bit integers"))
    }

    /// Small integral float ids are exact and accepted; float32 ids beyond 2^24 are not.
    @Test func smallFloatIDsAreAcceptedAndFloat32LimitsApply() throws {
        let (dir, path) = try write(replacing("objID", with: ("objID", "D", [be(11.0), be(12.0)])))
        _ = dir
        #expect(try Catalog.read(path).entries.map(\.objectID) == [11, 12])
        let (dir2, path2) = try write(replacing("objID", with: ("objID", "E", [be(Float(20_000_000)), be(Float(12))])))
        _ = dir2
        #expect(throws: CatalogColumnError.self) { try Catalog.read(path2) }
    }

    /// z ≤ −1 and non-finite z are never labels: each row is skipped with its own reason.
    @Test func impossibleRedshiftsAreSkippedPerRow() throws {
        let dir = TemporaryDirectory()
        try CutoutFactory.csvCatalog([1], at: dir.file("c.csv"), extraRows: [
            "2,150.0,2.0,-1,0.001,0.03", "3,150.0,2.0,-7.5,0.001,0.03", "4,150.0,2.0,inf,0.001,0.03",
            "5,150.0,2.0,nan,0.001,0.03", "6,150.0,2.0,1e300,0.001,0.03", "7,150.0,2.0,-0.5,0.001,0.03",
        ])
        let catalog = try Catalog.read(dir.file("c.csv"))
        #expect(catalog.entries.map(\.objectID) == [1, 7])
        #expect(catalog.entries.allSatisfy { $0.zSpec > -1 && $0.zSpec.isFinite })
        #expect(catalog.skipped.map(\.objectID) == [2, 3, 4, 5, 6])
        // NaN means "no redshift" (kept unlabelled on request); the others are impossible.
        #expect(catalog.skipped.map(\.reason) == [.impossibleRedshift, .impossibleRedshift, .impossibleRedshift, .missingRedshift, .impossibleRedshift])
    }

    /// Values beyond float32's range would be stored as infinities: skipped as bad values.
    @Test func valuesBeyondFloat32AreSkipped() throws {
        let dir = TemporaryDirectory()
        try CutoutFactory.csvCatalog([1], at: dir.file("c.csv"), extraRows: ["2,150.0,2.0,0.1,1e300,0.03", "3,150.0,2.0,0.1,0.001,-1e200"])
        let catalog = try Catalog.read(dir.file("c.csv"))
        #expect(catalog.entries.map(\.objectID) == [1])
        #expect(catalog.skipped.map(\.reason) == [.badCatalogValue, .badCatalogValue])
    }

    /// A missing column's error carries its role, so the CLI can name its own option.
    @Test func missingColumnsCarryTheirRole() throws {
        let dir = TemporaryDirectory()
        try "ra,dec,z,zErr,ebv\n1,2,0.1,0.001,0.02\n".write(toFile: dir.file("c.csv"), atomically: true, encoding: .utf8)
        let error = try #require(throws: CatalogColumnError.self) { try Catalog.read(dir.file("c.csv")) }
        #expect(error.role == .objectID && error.column == nil)
        #expect(error.description.contains("columns found: ra, dec, z, zErr, ebv"))
        #expect(!error.description.contains("--"))
    }

    /// A table whose header declares 10^15 rows in a small file is refused, not allocated.
    @Test func aTableDeclaringMoreRowsThanTheFileHoldsIsRefused() throws {
        var bytes = craftedTable(goodColumns())
        let text = String(decoding: bytes, as: UTF8.self)
        let range = try #require(text.range(of: "NAXIS2  =                    2"))
        let offset = text.utf8.distance(from: text.startIndex, to: range.lowerBound)
        bytes.replaceSubrange(offset..<offset + 30, with: Data("NAXIS2  =     1000000000000000".utf8))
        let dir = TemporaryDirectory()
        try bytes.write(to: URL(fileURLWithPath: dir.file("c.fits")))
        let error = try #require(throws: (any Error).self) { try Catalog.read(dir.file("c.fits")) }
        #expect("\(error)".contains(dir.file("c.fits")))
    }
}

@Suite struct CSVEdgeTests {
    /// A byte-order mark (spreadsheets write one) once became part of the first column's name.
    @Test func aByteOrderMarkIsIgnored() throws {
        let dir = TemporaryDirectory()
        try "\u{FEFF}objID,ra,dec,z,zErr,ebv\r\n5,150,2,0.1,0.001,0.03\r\n".write(toFile: dir.file("c.csv"), atomically: true, encoding: .utf8)
        let catalog = try Catalog.read(dir.file("c.csv"))
        #expect(catalog.entries.map(\.objectID) == [5])
        #expect(catalog.columnsUsed["object_id"] == "objID")
    }
}
