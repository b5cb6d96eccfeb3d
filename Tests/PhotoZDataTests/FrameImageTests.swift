import FITS
import Foundation
import Testing
@testable import PhotoZData

/// Frame images are decoded by photoz from the decompressed primary HDU (not through cfitsio):
/// every BITPIX, BSCALE/BZERO, BLANK, against what cfitsio reads from the same file.
@Suite struct FrameImageTests {
    /// A primary image HDU: cards padded to whole blocks, then big-endian pixels padded.
    static func fitsFile(_ cards: [(String, String)], pixels: Data) -> Data {
        var text = cards.map { key, value in
            let padded = value.count >= 20 ? value : String(repeating: " ", count: 20 - value.count) + value
            return (key.padding(toLength: 8, withPad: " ", startingAt: 0) + "= " + padded).padding(toLength: 80, withPad: " ", startingAt: 0)
        }.joined() + "END".padding(toLength: 80, withPad: " ", startingAt: 0)
        text += String(repeating: " ", count: (2880 - text.count % 2880) % 2880)
        var data = Data(text.utf8)
        data.append(pixels)
        data.append(Data(count: (2880 - pixels.count % 2880) % 2880))
        return data
    }

    static let wcsCards: [(String, String)] = [
        ("CTYPE1", "'RA---TAN'"), ("CTYPE2", "'DEC--TAN'"), ("CRPIX1", "6.0"), ("CRPIX2", "4.0"),
        ("CRVAL1", "150.0"), ("CRVAL2", "2.0"), ("CD1_1", "-0.00011"), ("CD1_2", "0.0"), ("CD2_1", "0.0"), ("CD2_2", "0.00011"),
    ]

    @Test(arguments: [16, 32, 8, -64, -32])
    func decodingMatchesCfitsio(bitpix: Int) throws {
        let dir = TemporaryDirectory()
        let width = 11, height = 7
        var pixels = Data()
        for k in 0..<(width * height) {
            let v = k * 37 % 200
            switch bitpix {
            case 8: pixels.append(UInt8(v))
            case 16: withUnsafeBytes(of: Int16(v - 100).bigEndian) { pixels.append(contentsOf: $0) }
            case 32: withUnsafeBytes(of: Int32(v * 1000 - 7).bigEndian) { pixels.append(contentsOf: $0) }
            case -64: withUnsafeBytes(of: (Double(v) / 3).bitPattern.bigEndian) { pixels.append(contentsOf: $0) }
            default: withUnsafeBytes(of: (Float(v) / 7).bitPattern.bigEndian) { pixels.append(contentsOf: $0) }
            }
        }
        var cards: [(String, String)] = [("SIMPLE", "T"), ("BITPIX", "\(bitpix)"), ("NAXIS", "2"), ("NAXIS1", "\(width)"), ("NAXIS2", "\(height)")]
        if bitpix > 0 { cards += [("BSCALE", "0.25"), ("BZERO", "3.5"), ("BLANK", bitpix == 8 ? "74" : bitpix == 16 ? "-26" : "73993")] }
        cards += Self.wcsCards + [("BUNIT", "'nanomaggy'")]
        let path = dir.file("frame-r-000001-1-0001.fits")
        try Self.fitsFile(cards, pixels: pixels).write(to: URL(fileURLWithPath: path))
        let frame = try FrameIndex.readFrame(path, band: .r, field: FieldID(run: 1, camcol: 1, field: 1))
        let ours = try readFrameImage(frame)
        let theirs = try FITSFile.withFile(path) { try $0.readImage() }
        #expect(ours.count == width * height && theirs.count == ours.count)
        for k in ours.indices {
            #expect(ours[k] == theirs[k] || (ours[k].isNaN && theirs[k].isNaN), "pixel \(k): \(ours[k]) vs cfitsio \(theirs[k])")
        }
        if bitpix > 0 { #expect(ours.contains { $0.isNaN }, "BLANK pixels are NaN") }
    }

    /// A scale no image can have is refused when the frame is indexed, naming the keyword.
    @Test(arguments: ["NAN", "0", "1E400"])
    func aHostileScaleIsRefused(bscale: String) throws {
        let dir = TemporaryDirectory()
        let cards: [(String, String)] = [("SIMPLE", "T"), ("BITPIX", "16"), ("NAXIS", "2"), ("NAXIS1", "4"), ("NAXIS2", "4"), ("BSCALE", bscale)] + Self.wcsCards
        let path = dir.file("frame-g-000001-1-0001.fits")
        try Self.fitsFile(cards, pixels: Data(count: 32)).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: PhotoZDataError.self) { try FrameIndex.readFrame(path, band: .g, field: FieldID(run: 1, camcol: 1, field: 1)) }
        #expect("\(error)".contains("BSCALE") && "\(error)".contains(path))
    }

    /// Sizes are bounded before anything is allocated from them.
    @Test func anImageTooLargeIsRefusedBeforeReading() throws {
        let dir = TemporaryDirectory()
        let cards: [(String, String)] = [("SIMPLE", "T"), ("BITPIX", "-32"), ("NAXIS", "2"), ("NAXIS1", "100000"), ("NAXIS2", "100000")] + Self.wcsCards
        let path = dir.file("frame-i-000001-1-0001.fits")
        try Self.fitsFile(cards, pixels: Data(count: 16)).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: PhotoZDataError.self) { try FrameIndex.readFrame(path, band: .i, field: FieldID(run: 1, camcol: 1, field: 1)) }
        #expect("\(error)".contains("100000×100000"))
    }

    /// A frame cut short after indexing: the error names the file and says it is truncated.
    @Test func aTruncatedFrameIsAnError() throws {
        let dir = TemporaryDirectory()
        let cards: [(String, String)] = [("SIMPLE", "T"), ("BITPIX", "-32"), ("NAXIS", "2"), ("NAXIS1", "100"), ("NAXIS2", "100")] + Self.wcsCards
        let path = dir.file("frame-z-000001-1-0001.fits")
        try Self.fitsFile(cards, pixels: Data(count: 40_000)).write(to: URL(fileURLWithPath: path))
        let frame = try FrameIndex.readFrame(path, band: .z, field: FieldID(run: 1, camcol: 1, field: 1))
        try Self.fitsFile(cards, pixels: Data(count: 400)).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: PhotoZDataError.self) { try readFrameImage(frame) }
        #expect("\(error)".contains("truncated") && "\(error)".contains(path))
    }
}
