import FITS
import Foundation
import Testing
@testable import PhotoZData

/// Stamp files are formatted by photoz (`StampBytes`) rather than keyword by keyword through
/// cfitsio; both writers must give the same bytes, and the file must be valid FITS.
@Suite struct StampFileTests {
    static func placement(frameName: String, ra: Double, dec: Double) throws -> (Placement, [Band: Frame]) {
        let wcs = try ResamplingTests.frameWCS(crpix: (40.5, 40.5))
        var frames: [Band: Frame] = [:], positions: [Band: (x: Double, y: Double)] = [:]
        for band in Band.allCases {
            frames[band] = Frame(path: "/data/\(band.rawValue)/" + frameName.replacingOccurrences(of: "{band}", with: band.rawValue),
                                 band: band, field: FieldID(run: 2583, camcol: 2, field: 136), width: 2048, height: 1489, wcs: wcs,
                                 referenceSystem: "ICRS", unit: "nanomaggy", primaryBytes: 0)
            positions[band] = (x: 502.65051715383777 + Double(band.index) * 1.37, y: 941.257806845817 - Double(band.index) / 3)
        }
        let target = CutoutTarget(objectID: 1_237_648_720_693_755_918, ra: ra, dec: dec, row: 17)
        return (Placement(target: target, field: FieldID(run: 2583, camcol: 2, field: 136), positions: positions, margin: 300), frames)
    }

    @Test(arguments: [(0.396, 323.363690818, -0.791953368), (0.036, 0.000123, 89.5), (1.0, 359.9999999, -30.25), (0.25, 150, 2)])
    func bothWritersGiveTheSameBytes(scale: Double, ra: Double, dec: Double) throws {
        let dir = TemporaryDirectory()
        let (object, frames) = try Self.placement(frameName: "frame-{band}-002583-2-0136.fits.bz2", ra: ra, dec: dec)
        var config = CutoutConfiguration(frames: "/data", catalog: "/cat.csv", output: dir.path)
        config.size = 16
        config.pixelScale = scale
        config.edge = scale == 1 ? .skip : .mask
        var rng = SplitMix(seed: 5)
        var pixels = (0..<5 * 16 * 16).map { _ in Float(rng.next(in: -3...400)) }
        pixels[7] = .nan
        pixels[300] = -0.0
        let masked = [1, 0, 0, 2, 0]
        try pixels.withUnsafeBufferPointer { p in
            try writeStamp(p, object: object, frames: frames, masked: masked, config: config, to: dir.file("fast.fits"))
            try writeStamp(p, object: object, frames: frames, masked: masked, config: config, to: dir.file("cfitsio.fits"), useCfitsio: true)
        }
        let fast = try Data(contentsOf: URL(fileURLWithPath: dir.file("fast.fits")))
        let reference = try Data(contentsOf: URL(fileURLWithPath: dir.file("cfitsio.fits")))
        #expect(fast.count == reference.count)
        if fast != reference {
            let first = zip(fast, reference).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(fast.count, reference.count)
            let card = first / 80 * 80
            Issue.record("first difference at byte \(first): '\(String(decoding: fast[card..<min(card + 80, fast.count)], as: UTF8.self))' vs cfitsio '\(String(decoding: reference[card..<min(card + 80, reference.count)], as: UTF8.self))'")
        }
        // And it reads back: the bands, their pixels (NaN included) and the keywords.
        let stamp = try readStamp(dir.file("fast.fits"))
        for band in Band.allCases {
            let expected = Array(pixels[band.index * 256..<(band.index + 1) * 256])
            #expect(zip(stamp[band]!.pixels, expected).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
            #expect(stamp[band]!.masked == masked[band.index])
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/fitsverify") {
            let verify = Process()
            verify.executableURL = URL(fileURLWithPath: "/usr/bin/fitsverify")
            verify.arguments = ["-q", "-e", dir.file("fast.fits")]
            let out = Pipe()
            verify.standardOutput = out
            try verify.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            verify.waitUntilExit()
            #expect(verify.terminationStatus == 0, "fitsverify: \(text)")
        }
    }

    /// A frame name too long for one card: cfitsio writes the stamp (CONTINUE convention), and
    /// the name reads back whole.
    @Test func aLongFrameNameIsWrittenByCfitsio() throws {
        let dir = TemporaryDirectory()
        let long = String(repeating: "very-long-frame-name-", count: 5) + "frame-{band}-002583-2-0136.fits.bz2"
        let (object, frames) = try Self.placement(frameName: long, ra: 150, dec: 2)
        var config = CutoutConfiguration(frames: "/data", catalog: "/cat.csv", output: dir.path)
        config.size = 16
        let headers = stampKeywords(object: object, frames: frames, masked: [0, 0, 0, 0, 0], config: config)
        let pixels = [Float](repeating: 1, count: 5 * 256)
        #expect(pixels.withUnsafeBufferPointer { StampBytes.file(headers: headers, pixels: $0, size: 16) } == nil)
        try pixels.withUnsafeBufferPointer { try writeStamp($0, object: object, frames: frames, masked: [0, 0, 0, 0, 0], config: config, to: dir.file("s.fits")) }
        let name = try FITSFile.withFile(dir.file("s.fits")) { file in
            try file.moveTo(hdu: 2)
            return try file.string("FRAME")
        }
        #expect(name == long.replacingOccurrences(of: "{band}", with: "g"))
    }

    /// An existing file is never overwritten (stamps go to fresh names in the staging folder).
    @Test func anExistingFileIsNotReplaced() throws {
        let dir = TemporaryDirectory()
        try Data("keep".utf8).write(to: URL(fileURLWithPath: dir.file("x.fits")))
        #expect(throws: PhotoZDataError.self) { try writeNewFile([1, 2, 3], to: dir.file("x.fits")) }
        #expect(try String(contentsOfFile: dir.file("x.fits"), encoding: .utf8) == "keep")
    }
}
