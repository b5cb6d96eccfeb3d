import Foundation
import Testing
@testable import FITS

/// `FITSHeader` (one read of a header, keywords looked up in memory) gives what the keyword
/// reads give, errors included, for files read from disk and whole into memory.
@Suite struct FITSHeaderTests {
    /// A file of an empty primary HDU and one image extension with varied cards.
    private func writeFile(_ path: String, longText: String) throws {
        let file = try FITSFile.create(path)
        try file.createImage(shape: [])
        try file.createImage(bitpix: -32, shape: [4, 3])
        try file.write("EXTNAME", .string("r"), comment: "band")
        try file.write("OBJECT", .string("NGC 1300 'barred'"), comment: "target")
        try file.write("RUN", .int(2583))
        try file.write("EXPTIME", .double(53.907456))
        try file.write("FLAG", .bool(true))
        try file.write("LONGSTR", .string(longText))
        try file.write("CTYPE1", .string("RA---TAN"))
        try file.writeComment("made by the FITSHeader tests")
        try file.writeImage([Float](repeating: 1, count: 12))
        try file.close()
    }

    @Test(arguments: [false, true])
    func lookupsAgreeWithTheKeywordReads(inMemory: Bool) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("header.fits")
        let longText = String(repeating: "a long value over CONTINUE cards & more; ", count: 4)
        try writeFile(path, longText: longText)
        let file = inMemory ? try FITSFile.open(path, wholeInMemory: 1 << 20) : try FITSFile.open(path)
        try file.moveTo(hdu: 1)
        let header = try file.header()
        #expect(header.hdu == 1 && header.path == path)
        for keyword in ["EXTNAME", "OBJECT", "LONGSTR", "CTYPE1", "ABSENT"] {
            #expect(try header.string(keyword) == file.string(keyword), "\(keyword)")
        }
        #expect(try header.string("LONGSTR") == longText.trimmingCharacters(in: .whitespaces))
        #expect(try header.string("OBJECT") == "NGC 1300 'barred'")
        for keyword in ["RUN", "EXPTIME", "NAXIS1", "ABSENT"] {
            #expect(try header.double(keyword) == file.double(keyword), "\(keyword)")
        }
        #expect(try header.doubles("EXPTIME") == [53.907456])
        #expect(try header.cards() == file.headerCards())
        #expect(try header.cards(where: { $0.hasPrefix("CT") || $0 == "COMMENT" }).map(\.name) == ["CTYPE1", "COMMENT"])
        #expect(header.integer("NAXIS2") == 3 && header.integer("BITPIX") == -32 && header.integer("ABSENT") == nil)
        // The wrong type throws the keyword read's error.
        let fromHeader = try #require(throws: FITSError.self) { try header.string("RUN") }
        let fromFile = try #require(throws: FITSError.self) { try file.string("RUN") }
        #expect(fromHeader.description == fromFile.description)
        let numeric = try #require(throws: FITSError.self) { try header.double("EXTNAME") }
        #expect(numeric.description == (try #require(throws: FITSError.self) { try file.double("EXTNAME") }).description)
        // Another HDU's header is read anew.
        try file.moveTo(hdu: 0)
        #expect(try file.header().hdu == 0)
        #expect(try file.header().string("EXTNAME") == nil)
    }

    /// Names compared as cfitsio compares them (a lower-case card name matches), a repeated
    /// keyword's first card, every card of a repeated one in `doubles`, CONTINUE only after `&`.
    @Test(arguments: [false, true])
    func crafted(inMemory: Bool) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("crafted.fits")
        var crafted = CraftedFITS()
        crafted.add("SIMPLE", "T"); crafted.add("BITPIX", "-32"); crafted.add("NAXIS", "1"); crafted.add("NAXIS1", "2")
        crafted.add("bunit", "'nanomaggy'")
        crafted.add("BSCALE", "1.0"); crafted.add("BSCALE", "NAN"); crafted.add("BZERO", "1.0D2")
        crafted.add("TEXT", "'ends with &'")
        crafted.cards.append("CONTINUE  'joined'".padding(toLength: 80, withPad: " ", startingAt: 0))
        crafted.add("PLAIN", "'no ampersand'")
        crafted.cards.append("CONTINUE  'not joined'".padding(toLength: 80, withPad: " ", startingAt: 0))
        try crafted.bytes(data: [UInt8](repeating: 0, count: 8)).write(to: URL(fileURLWithPath: path))
        let file = inMemory ? try FITSFile.open(path, wholeInMemory: 1 << 20) : try FITSFile.open(path)
        let header = try file.header()
        #expect(try header.string("BUNIT") == "nanomaggy" && file.string("BUNIT") == "nanomaggy")
        #expect(try header.double("BSCALE") == 1)
        let scales = try header.doubles("BSCALE")
        #expect(scales.count == 2 && scales[0] == 1 && scales[1].isNaN)
        #expect(try header.double("BZERO") == 100)
        #expect(try header.string("TEXT") == "ends with joined" && file.string("TEXT") == "ends with joined")
        #expect(try header.string("PLAIN") == "no ampersand" && file.string("PLAIN") == "no ampersand")
        #expect(try file.readImage().count == 2)  // the size check reads NAXIS1 and BITPIX from the header kept
    }

    /// A header kept for a read-only file is the one of the HDU asked about, after any moves.
    @Test func theKeptHeaderFollowsTheCurrentHDU() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("hdus.fits")
        try writeFile(path, longText: "x")
        let file = try FITSFile.open(path, wholeInMemory: 1 << 20)
        #expect(try file.header().integer("NAXIS") == 0)
        _ = try file.moveToNextHDU()
        #expect(try file.header().integer("NAXIS") == 2)
        #expect(try file.readImage().count == 12)
        try file.moveTo(hdu: 0)
        #expect(try file.header().integer("NAXIS") == 0)
    }
}
