import Foundation
import Testing
@testable import FITS

@Suite struct HeaderTests {
    /// Typed keywords written, updated and read back; cards listed in order.
    @Test func keywordsRoundTrip() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("header.fits")
        let longText = String(repeating: "a long value that needs the CONTINUE convention; ", count: 4)
        let doubles = [0.1, 100.0, 1e-5, 123456.0, -2.5e300, 1.0 / 3.0, 53.907456]
        do {
            let file = try FITSFile.create(path)
            try file.createImage(shape: [2])
            try file.write("OBJECT", .string("NGC 1300 'barred'"), comment: "target")
            try file.write("RUN", .int(2583))
            try file.write("BIG", .int(Int.max))
            try file.write("FLAG", .bool(true))
            try file.write("OFF", .bool(false))
            try file.write("LONGSTR", .string(longText))
            for (index, value) in doubles.enumerated() { try file.write("D\(index)", .double(value)) }
            try file.write("RUN", .int(2584))  // update keeps the comment-less card in place
            try file.write("OBJECT", .string("NGC 1300"))  // nil comment keeps "target"
            try file.writeComment("made by the FITS tests")
            try file.writeHistory("step 1")
            try file.writeImage([1, 2])
            try file.close()
        }
        try FITSFile.withFile(path) { (file: FITSFile) throws in
            #expect(try file.string("OBJECT") == "NGC 1300")
            #expect(try file.int("RUN") == 2584)
            #expect(try file.int("BIG") == Int.max)
            #expect(try file.bool("FLAG") == true)
            #expect(try file.bool("OFF") == false)
            #expect(try file.string("LONGSTR") == longText.trimmingCharacters(in: .whitespaces))
            for (index, value) in doubles.enumerated() { #expect(try file.double("D\(index)") == value) }
            #expect(try file.double("RUN") == 2584)  // integers read as doubles too
            #expect(try file.string("ABSENT") == nil)
            #expect(try file.int("ABSENT") == nil)
            #expect(try file.double("ABSENT") == nil)

            let cards = try file.headerCards()
            #expect(cards.map(\.name).prefix(4) == ["SIMPLE", "BITPIX", "NAXIS", "NAXIS1"])
            #expect(cards.first { $0.name == "OBJECT" } == FITSCard(name: "OBJECT", value: "NGC 1300", comment: "target"))
            #expect(cards.first { $0.name == "RUN" }?.value == "2584")
            #expect(cards.first { $0.name == "FLAG" }?.value == "T")
            #expect(cards.first { $0.name == "D1" }?.value == "100.")  // short, exact
            #expect(cards.first { $0.name == "D0" }?.value == "0.1")
            #expect(cards.contains(FITSCard(name: "COMMENT", value: "", comment: "made by the FITS tests")))
            #expect(cards.contains(FITSCard(name: "HISTORY", value: "", comment: "step 1")))
            #expect(cards.filter { $0.name == "CONTINUE" }.count >= 2)
        }
    }

    /// Reading a keyword as the wrong type throws, naming the keyword, its value, the file and HDU.
    @Test func wrongTypeThrows() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("types.fits")
        let file = try FITSFile.create(path)
        try file.createImage(shape: [])
        try file.write("EXPTIME", .string("53.907456"))
        try file.write("GAIN", .double(4.5))
        try file.write("FLAG", .bool(true))
        try file.write("NAXISX", .int(64))
        try file.close()
        try FITSFile.withFile(path) { (file: FITSFile) throws in
            let notNumber = #expect(throws: FITSError.self) { try file.double("EXPTIME") }
            #expect(notNumber?.description == "\(path), HDU 0: cannot read keyword EXPTIME (read keyword): its value '53.907456' is a string, not a number")
            let notInt = #expect(throws: FITSError.self) { try file.int("GAIN") }
            #expect(notInt?.message.contains("4.5 is a floating-point number, not an integer") == true)
            let notString = #expect(throws: FITSError.self) { try file.string("NAXISX") }
            #expect(notString?.message.contains("64 is an integer, not a string") == true)
            #expect(notString?.hdu == 0 && notString?.status == 0 && notString?.path == path)
            #expect(throws: FITSError.self) { try file.int("FLAG") }
            #expect(throws: FITSError.self) { try file.bool("GAIN") }
        }
    }

    /// Writing a value FITS cannot hold, or writing to a read-only file, throws.
    @Test func invalidWritesThrow() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("ro.fits")
        let file = try FITSFile.create(path)
        try file.createImage(shape: [])
        #expect(throws: FITSError.self) { try file.write("BAD", .double(.nan)) }
        let accent = #expect(throws: FITSError.self) { try file.write("OBJECT", .string("café")) }
        #expect(accent?.message == "the value 'café' holds characters other than printable ASCII, which FITS does not allow")
        #expect(throws: FITSError.self) { try file.writeComment("tab\there") }
        let table = #expect(throws: FITSError.self) {
            try file.createBinaryTable(name: "T", columns: [FITSColumn(name: "name", data: .string(["ok", "Zoë"]))])
        }
        #expect(table?.message.hasPrefix("row 1 of column name 'Zoë'") == true)
        #expect(try file.hduCount() == 1, "nothing was written")
        try file.close()
        try FITSFile.withFile(path, mode: .readOnly) { (file: FITSFile) throws in
            let error = #expect(throws: FITSError.self) { try file.write("NEW", .int(1)) }
            #expect(error?.description == "\(path), HDU 0: cannot write keyword NEW (write): the file is open read-only; open it with mode: .readWrite")
            #expect(throws: FITSError.self) { try file.writeHistory("x") }
            #expect(throws: FITSError.self) { try file.createImage(shape: [1]) }
        }
        try FITSFile.withFile(path, mode: .readWrite) { try $0.write("NEW", .int(1)) }
        #expect(try FITSFile.withFile(path) { try $0.int("NEW") } == 1)
    }
}
