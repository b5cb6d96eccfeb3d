import FITS
import Foundation
import Testing
@testable import PhotoZData

/// A primary-image header of the given cards, padded to one 2880-byte block, then `dataBytes` zeros.
private func headerOnlyFITS(_ cards: [(String, String)], dataBytes: Int = 0) -> Data {
    var text = cards.map { key, value in
        let padded = value.count >= 20 ? value : String(repeating: " ", count: 20 - value.count) + value
        return (key.padding(toLength: 8, withPad: " ", startingAt: 0) + "= " + padded).padding(toLength: 80, withPad: " ", startingAt: 0)
    }.joined() + "END".padding(toLength: 80, withPad: " ", startingAt: 0)
    text += String(repeating: " ", count: (2880 - text.count % 2880) % 2880)
    var data = Data(text.utf8)
    data.append(Data(count: (dataBytes + 2879) / 2880 * 2880))
    return data
}

@Suite struct HostileCutoutTests {
    /// A broken `0000.fits` sorting first once decided the layout of the whole folder (the
    /// scan failed); now the readable files decide and the broken one is reported.
    @Test func aBrokenFileSortingFirstDoesNotDecideTheLayout() throws {
        let dir = TemporaryDirectory()
        for id: Int64 in [101, 102, 103] { try CutoutFactory.write(id: id, layout: .cube, size: 16, into: dir.path) }
        try Data("not a FITS file at all".utf8).write(to: URL(fileURLWithPath: dir.file("0000.fits")))
        let index = try CutoutIndex.scan(dir.path, layout: nil, template: nil)
        #expect(index.layout == .cube)
        #expect(index.unreadableWhileDetecting.keys.contains(dir.file("0000.fits")))
        #expect(index.files.count == 4)  // the broken file is still indexed: its object is skipped with its reason when read
    }

    /// One odd file among multi-extension files does not make the folder a cube folder.
    @Test func theMajorityOfReadableFilesDecides() throws {
        let dir = TemporaryDirectory()
        try CutoutFactory.write(id: 1, layout: .cube, size: 16, into: dir.path)
        for id: Int64 in [2, 3, 4] { try CutoutFactory.write(id: id, layout: .mef, size: 16, into: dir.path) }
        #expect(try CutoutIndex.scan(dir.path, layout: nil, template: nil).layout == .mef)
    }

    @Test func aFolderOfBrokenFilesIsAClearError() throws {
        let dir = TemporaryDirectory()
        for name in ["1.fits", "2.fits"] { try Data("junk".utf8).write(to: URL(fileURLWithPath: dir.file(name))) }
        let error = try #require(throws: PhotoZDataError.self) { try CutoutIndex.scan(dir.path, layout: nil, template: nil) }
        #expect("\(error)".contains("cannot detect the cutout layout"))
        #expect("\(error)".contains(dir.file("1.fits")) && "\(error)".contains(dir.file("2.fits")))
    }

    /// Axes whose product overflows 64 bits, or whose data is far larger than the file: the
    /// object is skipped as unreadable (this once trapped in the size check itself).
    @Test(arguments: [["3037000499", "3037000499"], ["100000", "100000"]])
    func hostileAxesMakeTheObjectUnreadable(axes: [String]) throws {
        let dir = TemporaryDirectory()
        for band in Band.allCases {
            let cards = [("SIMPLE", "T"), ("BITPIX", "-32"), ("NAXIS", "2"), ("NAXIS1", axes[0]), ("NAXIS2", axes[1])]
            try headerOnlyFITS(cards, dataBytes: 16 * 16 * 4).write(to: URL(fileURLWithPath: dir.file("7-\(band.rawValue).fits")))
        }
        let files = Dictionary(uniqueKeysWithValues: Band.allCases.map { ($0, dir.file("7-\($0.rawValue).fits")) })
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: 5 * 16 * 16)
        defer { buffer.deallocate() }
        let problem = try #require(throws: CutoutProblem.self) {
            try CutoutReader(layout: .perBand, size: 16).read(files: files, into: buffer)
        }
        #expect(problem.reason == .unreadableCutout)
        #expect(problem.file == dir.file("7-u.fits"))
    }
}

@Suite struct HostileScalingTests {
    /// Reads object 7 from 16×16 per-band files of pixels 2, `extra` cards added to one band's
    /// header; returns the problem, which must be thrown.
    private func problem(extra: [(String, String)], in band: Band) throws -> (CutoutProblem, TemporaryDirectory) {
        let dir = TemporaryDirectory()
        var pixels = Data()
        for _ in 0..<(16 * 16) { withUnsafeBytes(of: Float(2).bitPattern.bigEndian) { pixels.append(contentsOf: $0) } }
        for b in Band.allCases {
            let cards = [("SIMPLE", "T"), ("BITPIX", "-32"), ("NAXIS", "2"), ("NAXIS1", "16"), ("NAXIS2", "16")] + (b == band ? extra : [])
            var bytes = headerOnlyFITS(cards)
            bytes.append(pixels)
            bytes.append(Data(count: 2880 - pixels.count))
            try bytes.write(to: URL(fileURLWithPath: dir.file("7-\(b.rawValue).fits")))
        }
        let files = Dictionary(uniqueKeysWithValues: Band.allCases.map { ($0, dir.file("7-\($0.rawValue).fits")) })
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: 5 * 16 * 16)
        defer { buffer.deallocate() }
        let problem = try #require(throws: CutoutProblem.self) { try CutoutReader(layout: .perBand, size: 16).read(files: files, into: buffer) }
        return (problem, dir)
    }

    /// cfitsio reads BSCALE = NAN as no scaling at all (the pixels came out unscaled, with no
    /// error); such headers make the object unreadable instead.
    @Test(arguments: ["NAN", "INF", "0"])
    func aScaleNoImageCanHaveIsRefused(bscale: String) throws {
        let (problem, dir) = try problem(extra: [("BSCALE", bscale)], in: .g)
        #expect(problem.file == dir.file("7-g.fits") && problem.detail.contains("BSCALE"))
    }

    /// cfitsio scales pixels by the last BSCALE card of a header, a keyword read gives the first:
    /// a sane BSCALE followed by BSCALE = NAN was let through. Every card is checked now.
    @Test func aRepeatedScaleIsCheckedInEveryCard() throws {
        let (problem, dir) = try problem(extra: [("BSCALE", "1.0"), ("BSCALE", "NAN")], in: .i)
        #expect(problem.file == dir.file("7-i.fits") && problem.detail.contains("BSCALE = nan"))
    }
}
