import Foundation
import Testing
@testable import FITS

/// Headers that declare sizes no real file has: every read throws a `FITSError` naming the
/// file before anything is allocated from those sizes (they once trapped on overflow or asked
/// for exabytes), whether the file is read from disk or whole into memory.
@Suite struct HostileHeaderTests {
    /// Opens `bytes` both ways and returns the error of `body`, which must throw.
    private func errors(_ bytes: Data, _ body: (FITSFile) throws -> Void) throws -> [FITSError] {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("hostile.fits")
        try bytes.write(to: URL(fileURLWithPath: path))
        var found: [FITSError] = []
        for file in [try FITSFile.open(path), try FITSFile.open(path, wholeInMemory: 1 << 20)] {
            let error = try #require(throws: FITSError.self) { try body(file) }
            #expect(error.path == path)
            found.append(error)
        }
        return found
    }

    /// NAXIS1 × NAXIS2 × 4 bytes overflows 64 bits (each axis ≈ √2^63).
    @Test func axesWhoseProductOverflowsAreRefused() throws {
        let bytes = CraftedFITS.image(bitpix: -32, shape: [3_037_000_499, 3_037_000_499], data: [])
        for error in try errors(bytes, { _ = try $0.readImage() }) {
            #expect(error.description.contains("64-bit"))
        }
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: 16)
        defer { buffer.deallocate() }
        _ = try errors(bytes) { try $0.readImage(into: buffer) }
        _ = try errors(bytes) { _ = try $0.readImageSection([0..<4, 0..<4]) }
    }

    /// A 2880-byte file whose header declares 10^5 × 10^5 float pixels (40 GB): refused as
    /// truncated instead of allocating 40 GB and then failing to read.
    @Test func dataLargerThanTheFileIsRefusedBeforeAllocating() throws {
        let bytes = CraftedFITS.image(bitpix: -32, shape: [100_000, 100_000], data: [])
        for error in try errors(bytes, { _ = try $0.readImage() }) {
            #expect(error.description.contains("truncated or its header is corrupt"))
        }
    }

    /// GCOUNT × PCOUNT of an image extension that overflow 64 bits.
    @Test func groupCountsThatOverflowAreRefused() throws {
        var crafted = CraftedFITS()
        crafted.add("SIMPLE", "T"); crafted.add("BITPIX", "8"); crafted.add("NAXIS", "0"); crafted.add("EXTEND", "T")
        var primary = crafted.bytes(data: [])
        var ext = CraftedFITS()
        ext.add("XTENSION", "'IMAGE   '"); ext.add("BITPIX", "-64"); ext.add("NAXIS", "1"); ext.add("NAXIS1", "2")
        ext.add("PCOUNT", "4611686018427387904"); ext.add("GCOUNT", "4")
        primary.append(ext.bytes(data: bigEndianBytes([1.0, 2.0])))
        _ = try errors(primary) { file in
            try file.moveTo(hdu: 1)
            _ = try file.readImage()
        }
    }

    /// A binary table declaring 10^15 rows in a file of two blocks: `readColumn` refuses it
    /// naming the column instead of allocating 8 PB.
    @Test func tableRowCountsBeyondTheFileAreRefused() throws {
        var crafted = CraftedFITS()
        crafted.add("SIMPLE", "T"); crafted.add("BITPIX", "8"); crafted.add("NAXIS", "0"); crafted.add("EXTEND", "T")
        var bytes = crafted.bytes(data: [])
        var table = CraftedFITS()
        table.add("XTENSION", "'BINTABLE'"); table.add("BITPIX", "8"); table.add("NAXIS", "2")
        table.add("NAXIS1", "8"); table.add("NAXIS2", "1000000000000000"); table.add("PCOUNT", "0"); table.add("GCOUNT", "1")
        table.add("TFIELDS", "1"); table.add("TTYPE1", "'Z       '"); table.add("TFORM1", "'D       '")
        bytes.append(table.bytes(data: bigEndianBytes([0.1])))
        for error in try errors(bytes, { file in
            try file.moveTo(hdu: 1)
            _ = try file.readColumn("Z")
        }) {
            #expect(error.description.contains("column Z"))
        }
    }

    /// A file cut inside a 2880-byte record, read whole into memory: cfitsio's memory driver
    /// reads whole records, which once copied past the end of the buffer (found by fuzzing;
    /// AddressSanitizer saw it, a plain build read stray heap bytes). Now the read fails as
    /// from disk.
    @Test func aFileCutInsideARecordReadsAsTruncated() throws {
        let pixels = (0..<64).map { Float($0) }
        var bytes = CraftedFITS.image(bitpix: -32, shape: [8, 8], data: bigEndianBytes(pixels))
        bytes = bytes.prefix(2880 + 100)
        for error in try errors(bytes, { _ = try $0.readImage() }) {
            #expect(error.description.contains("truncated"))
        }
    }

    /// The checks do not refuse good files: a whole image and a cut-off one that holds its data.
    @Test func filesWhoseDataIsThereStillRead() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("good.fits")
        let pixels = (0..<64).map { Float($0) }
        try CraftedFITS.image(bitpix: -32, shape: [8, 8], data: bigEndianBytes(pixels)).write(to: URL(fileURLWithPath: path))
        #expect(try FITSFile.open(path).readImage() == pixels)
        #expect(try FITSFile.open(path, wholeInMemory: 1 << 20).readImage() == pixels)
    }
}

@Suite struct HostileCompressedTileTests {
    /// A tile-compressed image whose header claims one 2^15 × 2^15-pixel tile: cfitsio would
    /// allocate 4 GB to decompress it for a 4 × 4 section; photoz refuses it first.
    @Test func tilesLargerThanTheLimitAreRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("tiles.fits.fz")
        let file = try FITSFile.create(path)
        try file.createImage(bitpix: 16, shape: [16, 16], compression: .rice)
        try file.writeImage((0..<256).map { Float($0) })
        try file.close()
        #expect(try FITSFile.open(path).apply { try $0.moveTo(hdu: 1); return try $0.readImage().count } == 256)
        // Rewrite the two cards in place (cfitsio itself refuses to close such a file).
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        // One tile of 2^15 × 2^15 pixels: the image and the tile grow together, and the table
        // has one row, so cfitsio's own consistency checks pass.
        for (key, value) in [("ZNAXIS1", 32768), ("ZNAXIS2", 32768), ("ZTILE1", 32768), ("ZTILE2", 32768), ("NAXIS2", 1)] {
            let card = Data((key.padding(toLength: 8, withPad: " ", startingAt: 0) + "= ").utf8)
            let at = try #require(bytes.range(of: card)).upperBound
            let text = String(value)
            bytes.replaceSubrange(at..<at + 20, with: Data((String(repeating: " ", count: 20 - text.count) + text).utf8))
        }
        try bytes.write(to: URL(fileURLWithPath: path))
        let reopened = try FITSFile.open(path)
        try reopened.moveTo(hdu: 1)
        let error = try #require(throws: FITSError.self) { _ = try reopened.readImageSection([0..<4, 0..<4]) }
        #expect(error.description.contains("ZTILE"))
    }
}

private extension FITSFile {
    func apply<R>(_ body: (FITSFile) throws -> R) rethrows -> R { try body(self) }
}
