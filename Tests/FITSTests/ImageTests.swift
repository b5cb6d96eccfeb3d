import Foundation
import Testing
@testable import FITS

@Suite struct ImageTests {
    /// A 3-D float image, written and read back whole, into a buffer and as sections.
    @Test func floatImageRoundTripsWholeIntoBufferAndSections() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("cube.fits")
        let shape = [7, 5, 3]
        let pixels = (0..<105).map { Float($0) * 0.25 - 3 }
        do {
            let file = try FITSFile.create(path)
            try file.createImage(shape: shape)
            #expect(file.currentHDU == 0)
            try file.writeImage(pixels)
            try file.close()
        }
        try FITSFile.withFile(path) { (file: FITSFile) throws in
            #expect(try file.hduCount() == 1)
            #expect(try file.imageShape() == shape)
            #expect(try file.imageBitpix() == -32)
            #expect(try file.readImage() == pixels)
            var buffer = [Float](repeating: -1, count: 105)
            try buffer.withUnsafeMutableBufferPointer { try file.readImage(into: $0) }
            #expect(buffer == pixels)
            // x in 2..<5, y in 1..<3, z in 2..<3: NAXIS1 fastest.
            let section = try file.readImageSection([2..<5, 1..<3, 2..<3])
            let expected = [1, 2].flatMap { y in (2..<5).map { x in pixels[x + 7 * y + 35 * 2] } }
            #expect(section == expected)
            #expect(try file.readImageSection([0..<7, 0..<5, 0..<3]) == pixels)
            #expect(try file.readImageSection([3..<3, 0..<5, 0..<3]).isEmpty)
        }
    }

    /// Every BITPIX read from a file crafted byte by byte (no cfitsio), with BSCALE/BZERO applied.
    @Test(arguments: [8, 16, 32, 64, -32, -64])
    func everyBitpixReadsScaled(bitpix: Int) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let (bscale, bzero) = (0.5, -12.25)
        let raw: [Double] = bitpix == 8 ? [0, 1, 7, 128, 200, 255] : [-1000, -1, 0, 1, 77, 32000]
        let data: [UInt8] = switch bitpix {
        case 8: raw.map { UInt8($0) }
        case 16: bigEndianBytes(raw.map { Int16($0) })
        case 32: bigEndianBytes(raw.map { Int32($0) * 1000 })
        case 64: bigEndianBytes(raw.map { Int64($0) * 1_000_000 })
        case -32: bigEndianBytes(raw.map { Float($0) + 0.125 })
        default: bigEndianBytes(raw.map { $0 + 1e-3 })
        }
        let stored: [Double] = switch bitpix {
        case 32: raw.map { $0 * 1000 }
        case 64: raw.map { $0 * 1_000_000 }
        case -32: raw.map { Double(Float($0) + 0.125) }
        case -64: raw.map { $0 + 1e-3 }
        default: raw
        }
        let path = folder.path("bitpix\(bitpix).fits")
        try CraftedFITS.image(bitpix: bitpix, shape: [3, 2], extra: [("BSCALE", "0.5"), ("BZERO", "-12.25")], data: data)
            .write(to: URL(fileURLWithPath: path))
        try FITSFile.withFile(path) { (file: FITSFile) throws in
            #expect(try file.imageShape() == [3, 2])
            #expect(try file.readImage() == stored.map { Float($0 * bscale + bzero) })
            // With a fractional BSCALE, 8/16-bit integers are equivalent to float, 32-bit to double;
            // cfitsio leaves scaled 64-bit integers as 64.
            #expect(try file.imageBitpix() == ([8, 16, -32].contains(bitpix) ? -32 : bitpix == 64 ? 64 : -64))
        }
    }

    /// Unsigned 16-bit data (BZERO = 32768) reads as its unsigned values; BLANK pixels read as NaN.
    @Test func unsignedAndBlankPixels() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let unsignedPath = folder.path("u16.fits")
        try CraftedFITS.image(bitpix: 16, shape: [4], extra: [("BZERO", "32768")], data: bigEndianBytes([Int16.min, -1, 0, Int16.max]))
            .write(to: URL(fileURLWithPath: unsignedPath))
        try FITSFile.withFile(unsignedPath) { (file: FITSFile) throws in
            #expect(try file.imageBitpix() == 20)  // cfitsio's USHORT_IMG
            #expect(try file.readImage() == [0, 32767, 32768, 65535])
        }
        let blankPath = folder.path("blank.fits")
        try CraftedFITS.image(bitpix: 32, shape: [3], extra: [("BLANK", "-99")], data: bigEndianBytes([Int32(5), -99, 7]))
            .write(to: URL(fileURLWithPath: blankPath))
        let values = try FITSFile.withFile(blankPath) { try $0.readImage() }
        #expect(values[0] == 5 && values[1].isNaN && values[2] == 7)
    }

    /// An integer image written from floats with BSCALE/BZERO in the header stores scaled integers.
    @Test func writingIntegerImageAppliesScaling() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("scaled.fits")
        let pixels: [Float] = [100, 100.5, 90, 163.5]
        try FITSFile.create(path).createImageWriting(bitpix: 16, shape: [2, 2], pixels: pixels,
                                                   keywords: [("BSCALE", .double(0.5)), ("BZERO", .double(100))])
        // The stored integers are (pixel - 100) / 0.5: check the raw big-endian data block.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let stored = (0..<4).map { i in Int16(bigEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 2880 + 2 * i, as: Int16.self) }) }
        #expect(stored == [0, 1, -20, 127])
        #expect(try FITSFile.withFile(path) { try $0.readImage() } == pixels)
    }

    /// A file with several images: HDUs appended in order, found by index and by EXTNAME.
    @Test func multiExtensionNavigation() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("mef.fits")
        let file = try FITSFile.create(path)
        try file.createImage(shape: [])
        for (index, band) in ["u", "g", "r"].enumerated() {
            try file.createImage(bitpix: -32, shape: [4, 4])
            try file.write("EXTNAME", .string(band))
            try file.writeImage([Float](repeating: Float(index), count: 16))
            #expect(file.currentHDU == index + 1)
            #expect(try file.hduCount() == index + 2)  // counts the HDU being written
        }
        try file.close()
        try FITSFile.withFile(path) { (file: FITSFile) throws in
            #expect(try file.hduCount() == 4)
            #expect(try file.imageShape() == [])
            #expect(try file.readImage() == [])
            #expect(try file.readImageSection([]) == [])
            #expect(try file.moveTo(extname: "r") == .image)
            #expect(file.currentHDU == 3)
            #expect(try file.readImage() == [Float](repeating: 2, count: 16))
            #expect(try file.moveTo(hdu: 1) == .image)
            #expect(try file.string("EXTNAME") == "u")
        }
    }
}

extension FITSFile {
    /// Test helper: one image HDU with keywords then pixels, closed.
    func createImageWriting(bitpix: Int, shape: [Int], pixels: [Float], keywords: [(String, FITSValue)]) throws {
        try createImage(bitpix: bitpix, shape: shape)
        for (key, value) in keywords { try write(key, value) }
        try writeImage(pixels)
        try close()
    }
}

/// The example of Sources/FITS/README.md, run as written (in a temporary folder).
@Test func readmeExampleRuns() throws {
    let folder = try TemporaryFolder()
    defer { folder.cleanup() }
    let path = folder.path("cutout.fits")
    let file = try FITSFile.create(path, overwrite: true)
    try file.createImage(shape: [])
    for band in ["u", "g", "r", "i", "z"] {
        try file.createImage(bitpix: -32, shape: [64, 64])
        try file.write("EXTNAME", .string(band))
        try file.write("BUNIT", .string("nanomaggy"))
        try file.writeImage([Float](repeating: 0, count: 64 * 64))
    }
    try file.close()

    var pixels = [Float](repeating: 1, count: 64 * 64)
    var unit: String?
    try FITSFile.withFile(path) { file in
        try file.moveTo(extname: "r")
        try pixels.withUnsafeMutableBufferPointer { try file.readImage(into: $0) }
        unit = try file.string("BUNIT")
    }
    #expect(unit == "nanomaggy")
    #expect(pixels == [Float](repeating: 0, count: 64 * 64))
}
