import Foundation
import Testing
@testable import FITS

/// Everything a user's file can get wrong is a thrown FITSError naming the file and HDU.
// Serialized: cfitsio's error-message stack is process-wide, and these tests check its lines.
@Suite(.serialized) struct ErrorTests {
    /// A valid two-HDU file: an empty primary and a 100×100 float image named "IMG".
    static func writeValid(_ path: String) throws {
        let file = try FITSFile.create(path)
        try file.createImage(shape: [])
        try file.createImage(shape: [100, 100])
        try file.write("EXTNAME", .string("IMG"))
        try file.writeImage([Float](repeating: 1, count: 10_000))
        try file.close()
    }

    @Test func missingFile() throws {
        let error = #expect(throws: FITSError.self) { try FITSFile.open("/nonexistent/cutout.fits") }
        #expect(error?.status == 104)  // FILE_NOT_OPENED
        #expect(error?.function == "ffdkopn" && error?.hdu == nil)
        #expect(error?.description.hasPrefix("/nonexistent/cutout.fits: cannot open FITS file (ffdkopn): status 104 could not open the named file") == true)
        // Not checked: that cfitsio's message stack also names the file. The stack is one per
        // process, and other suites' cfitsio calls running at the same time can empty it first
        // (a clean-clone CI run failed that way); the path above comes from photoz itself.
    }

    @Test func nonFITSFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("notes.fits")
        try Data(String(repeating: "not a FITS file\n", count: 300).utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: FITSError.self) { try FITSFile.open(path) }
        #expect(error?.status == 252)  // UNKNOWN_REC: no SIMPLE card
        #expect(error?.description.hasPrefix("\(path): cannot open FITS file (ffdkopn): status 252") == true)
    }

    /// A file cut in half opens (its headers are whole) but its image cannot be read.
    @Test func truncatedFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("cut.fits")
        try Self.writeValid(path)
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: path))
        let file = try FITSFile.open(path)
        try file.moveTo(hdu: 1)
        let error = #expect(throws: FITSError.self) { try file.readImage() }
        #expect(error?.hdu == 1 && error?.function == "ffgpv")
        #expect(error?.description.hasPrefix("\(path), HDU 1: cannot read image (ffgpv): status 10") == true)
        // A truncated gzip file fails already when opened (cfitsio decompresses it whole).
        let gzPath = folder.path("cut2.fits")
        try Self.writeValid(gzPath)
        try run("/usr/bin/env", ["gzip", gzPath])
        let gz = try Data(contentsOf: URL(fileURLWithPath: gzPath + ".gz"))
        try gz.prefix(gz.count / 2).write(to: URL(fileURLWithPath: gzPath + ".gz"))
        let gzError = #expect(throws: FITSError.self) { try FITSFile.open(gzPath + ".gz") }
        #expect(gzError?.description.hasPrefix("\(gzPath).gz: cannot open FITS file") == true)
    }

    /// Read whole into memory, a cut-off file fails as it does from disk: cut anywhere inside the
    /// image, or at a 2880-byte block boundary, the pixels are never read from past its end
    /// (cfitsio's memory driver would: without the check the reads return zeros and heap bytes).
    /// A file missing only the padding of its last block reads, from disk and from memory.
    /// A missing file and a non-FITS file still get errors.
    @Test func filesReadWholeIntoMemoryFailAsFromDisk() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("whole.fits")
        try Self.writeValid(path)
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        let pixels = try FITSFile.withFile(path) { file in try file.moveTo(hdu: 1); return try file.readImage() }
        let inMemory = try FITSFile.open(path, wholeInMemory: 1 << 20)
        try inMemory.moveTo(hdu: 1)
        #expect(try inMemory.readImage() == pixels)
        #expect(try inMemory.string("EXTNAME") == "IMG")
        let padding = try Data(contentsOf: URL(fileURLWithPath: path)).prefix(whole.count - 1)
        try padding.write(to: URL(fileURLWithPath: folder.path("padding.fits")))
        for open in [{ try FITSFile.open(folder.path("padding.fits")) }, { try FITSFile.open(folder.path("padding.fits"), wholeInMemory: 1 << 20) }] {
            let file = try open()
            try file.moveTo(hdu: 1)
            #expect(try file.readImage() == pixels)
        }
        for cut in [whole.count / 2, 2880 * 5, whole.count - 2880] {
            let cutPath = folder.path("cut\(cut).fits")
            try whole.prefix(cut).write(to: URL(fileURLWithPath: cutPath))
            let file = try FITSFile.open(cutPath, wholeInMemory: 1 << 20)
            try file.moveTo(hdu: 1)
            let error = #expect(throws: FITSError.self, "cut at \(cut) of \(whole.count) bytes") { try file.readImage() }
            #expect(error?.description.hasPrefix("\(cutPath), HDU 1: cannot read image (ffgpv)") == true)
        }
        #expect(throws: FITSError.self) { try FITSFile.open("/nonexistent/cutout.fits", wholeInMemory: 1 << 20) }
        let notFITS = folder.path("notes.fits")
        try Data(String(repeating: "not a FITS file\n", count: 300).utf8).write(to: URL(fileURLWithPath: notFITS))
        let error = #expect(throws: FITSError.self) { try FITSFile.open(notFITS, wholeInMemory: 1 << 20) }
        #expect(error?.description.hasPrefix("\(notFITS): cannot open FITS file") == true)
        // Larger than the limit: read from disk, same pixels.
        let large = try FITSFile.open(path, wholeInMemory: 100)
        try large.moveTo(hdu: 1)
        #expect(try large.readImage() == pixels)
    }

    @Test func missingHDUAndExtname() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("two.fits")
        try Self.writeValid(path)
        try FITSFile.withFile(path) { (file: FITSFile) throws in
            let byIndex = #expect(throws: FITSError.self) { try file.moveTo(hdu: 5) }
            #expect(byIndex?.hdu == 5 && byIndex?.status == 107)  // END_OF_FILE
            #expect(byIndex?.description.hasPrefix("\(path), HDU 5: cannot move to HDU 5 (ffmahd): status 107") == true)
            #expect(byIndex?.message == "tried to move past end of file (the file has 2 HDUs, 0...1)")
            #expect(throws: FITSError.self) { try file.moveTo(hdu: -1) }
            let byName = #expect(throws: FITSError.self) { try file.moveTo(extname: "ZBAND") }
            #expect(byName?.status == 301)  // BAD_HDU_NUM
            #expect(byName?.description.contains("cannot move to the HDU named ZBAND (ffmnhd)") == true)
            #expect(try file.moveTo(extname: "img") == .image)  // EXTNAME matching is case-insensitive in cfitsio
        }
    }

    @Test func wrongBufferSizeAndShapes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("two.fits")
        try Self.writeValid(path)
        let file = try FITSFile.open(path)
        try file.moveTo(hdu: 1)
        var small = [Float](repeating: 0, count: 99)
        let error = #expect(throws: FITSError.self) { try small.withUnsafeMutableBufferPointer { try file.readImage(into: $0) } }
        #expect(error?.description == "\(path), HDU 1: cannot read image (readImage(into:)): the buffer holds 99 pixels but the image [100, 100] has 10000")
        #expect(throws: FITSError.self) { try file.readImageSection([0..<10]) }
        let outside = #expect(throws: FITSError.self) { try file.readImageSection([0..<10, 95..<101]) }
        #expect(outside?.message == "range 95..<101 of axis 2 (NAXIS2) lies outside 0..<100")
        #expect(throws: FITSError.self) { try file.writeImage([1, 2]) }
    }

    @Test func tableCallsOnAnImageAndImageCallsOnATable() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("mixed.fits")
        let file = try FITSFile.create(path)
        try file.createBinaryTable(name: "T", columns: [FITSColumn(name: "a", data: .int64([1]))])
        let notImage = #expect(throws: FITSError.self) { try file.readImage() }
        #expect(notImage?.status == 233 && notImage?.hdu == 1)  // NOT_IMAGE
        try file.moveTo(hdu: 0)
        #expect(throws: FITSError.self) { try file.tableRowCount() }
    }

    @Test func createRefusesToOverwriteUnlessAsked() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("exists.fits")
        try Self.writeValid(path)
        let error = #expect(throws: FITSError.self) { try FITSFile.create(path) }
        #expect(error?.description == "\(path): cannot create FITS file (create): the file exists; pass overwrite: true to replace it")
        let file = try FITSFile.create(path, overwrite: true)
        try file.createImage(shape: [1])
        try file.writeImage([42])
        try file.close()
        try FITSFile.withFile(path) { (file: FITSFile) throws in
            #expect(try file.hduCount() == 1)
            #expect(try file.readImage() == [42])
        }
    }
}
