import FITS
import Foundation
import SafeOutput
import Testing
import WCS
@testable import PhotoZData

/// `cutout` end to end on a synthetic SDSS-like field (no shared data needed): five frames with
/// offset WCS, plain, gzip and bzip2, one star at a known position.
@Suite struct CutoutSyntheticTests {
    static let star = (ra: 150.005, dec: 2.0045)

    /// Writes frame-{band}-000001-1-0001.fits[.gz|.bz2] into `folder`: 300 × 200 pixels, 0.396″,
    /// rotated by 90° like SDSS, each band's CRPIX offset by a few pixels, a σ = 1.5 px star of
    /// 100 nanomaggies at `star`.
    static func writeField(_ folder: String, field: Int = 1, rowShift: Double = 0) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (k, band) in Band.allCases.enumerated() {
            let s = 0.396 / 3600
            let crpix = (150.5 + Double(k) * 2.3, 100.5 - Double(k) * 1.7 + rowShift)
            let wcs = try WCS(keywords: [("NAXIS", "2"), ("CTYPE1", "'RA---TAN'"), ("CTYPE2", "'DEC--TAN'"),
                                         ("CRPIX1", "\(crpix.0)"), ("CRPIX2", "\(crpix.1)"), ("CRVAL1", "150.0"), ("CRVAL2", "2.0"),
                                         ("CD1_1", "0.0"), ("CD1_2", "\(s)"), ("CD2_1", "\(s)"), ("CD2_2", "0.0")], source: "synthetic")
            let p = try wcs.pixel(longitude: star.ra, latitude: star.dec)
            let (x0, y0) = (p.x - 1, p.y - 1)
            var image = [Float](repeating: 0, count: 300 * 200)
            for y in 0..<200 { for x in 0..<300 {
                let dx: Double = Double(x) - x0, dy: Double = Double(y) - y0
                let norm: Double = 100 / (2 * Double.pi * 2.25)
                image[y * 300 + x] = Float(norm * exp(-(dx * dx + dy * dy) / 4.5))
            } }
            let path = "\(folder)/frame-\(band.rawValue)-000001-1-\(String(format: "%04d", field)).fits"
            let file = try FITSFile.create(path)
            try file.createImage(bitpix: -32, shape: [300, 200])
            try file.writeImage(image)
            for (key, value) in [("CTYPE1", FITSValue.string("RA---TAN")), ("CTYPE2", .string("DEC--TAN")), ("CRPIX1", .double(crpix.0)),
                                 ("CRPIX2", .double(crpix.1)), ("CRVAL1", .double(150)), ("CRVAL2", .double(2)), ("CD1_1", .double(0)),
                                 ("CD1_2", .double(s)), ("CD2_1", .double(s)), ("CD2_2", .double(0)), ("RADECSYS", .string("ICRS")),
                                 ("BUNIT", .string("nanomaggy")), ("FILTER", .string(band.rawValue))] {
                try file.write(key, value)
            }
            try file.close()
            let compressor = band == .g ? "gzip" : band == .r || band == .z ? "bzip2" : nil
            if let compressor {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/bin/\(compressor)")
                process.arguments = [path]
                try process.run()
                process.waitUntilExit()
            }
        }
    }

    @Test func starIsCentredInEveryBandFromPlainGzipAndBzip2Frames() throws {
        let dir = TemporaryDirectory()
        try Self.writeField(dir.file("frames/run1"))
        try "objID,ra,dec\n7,\(Self.star.ra),\(Self.star.dec)\n8,151.0,2.0\n".write(toFile: dir.file("cat.csv"), atomically: true, encoding: .utf8)
        let index = try FrameIndex.scan(dir.file("frames"), threads: 2)
        #expect(index.fields.count == 1 && index.fields.values.first!.count == 5)
        var config = CutoutConfiguration(frames: dir.file("frames"), catalog: dir.file("cat.csv"), output: dir.file("out"))
        config.size = 32
        let summary = try cutout(config)
        #expect(summary.written == 1 && summary.skipped == ["outside-frames": 1])
        let stamp = try readStamp(dir.file("out/7.fits"))
        for band in Band.allCases {
            let c = try #require(centroid(stamp[band]!.pixels, width: 32, height: 32, x: 15.5, y: 15.5))
            #expect(abs(c.x - 15.5) < 0.02 && abs(c.y - 15.5) < 0.02, "band \(band.rawValue): centroid (\(c.x), \(c.y))")
            #expect(stamp[band]!.masked == 0)
            let flux = stamp[band]!.pixels.reduce(0.0) { $0 + Double($1) }
            #expect(abs(flux - 100) < 0.5, "band \(band.rawValue): flux \(flux)")
        }
        let header = try FITSFile.withFile(dir.file("out/7.fits")) { file in
            try file.moveTo(extname: "r")
            return (try file.string("BUNIT"), try file.double("CRPIX1"), try file.string("RADESYS"), try file.string("FRAME"))
        }
        #expect(header.0 == "nanomaggy" && header.1 == 16.5 && header.2 == "ICRS" && header.3 == "frame-r-000001-1-0001.fits.bz2")
        // No temporary files are left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.file("out")).sorted()
        #expect(names == ["7.fits", "cutout.json", "frames.csv", "skipped.csv"])
    }

    @Test func outputInsideTheFramesOrHoldingTheCatalogIsRefused() throws {
        let dir = TemporaryDirectory()
        try Self.writeField(dir.file("frames"))
        try "objID,ra,dec\n7,\(Self.star.ra),\(Self.star.dec)\n".write(toFile: dir.file("cat.csv"), atomically: true, encoding: .utf8)
        for out in [dir.file("frames"), dir.file("frames/stamps"), dir.path, dir.file(".")] {
            let config = CutoutConfiguration(frames: dir.file("frames"), catalog: dir.file("cat.csv"), output: out)
            #expect(throws: PhotoZDataError.self, "--out \(out)") { try cutout(config) }
        }
        // A non-empty folder photoz did not write is never replaced, with or without overwrite.
        try FileManager.default.createDirectory(atPath: dir.file("out"), withIntermediateDirectories: true)
        try "x".write(toFile: dir.file("out/other.txt"), atomically: true, encoding: .utf8)
        var config = CutoutConfiguration(frames: dir.file("frames"), catalog: dir.file("cat.csv"), output: dir.file("out"))
        for overwrite in [false, true] {
            config.overwrite = overwrite
            let error = try #require(throws: SafeOutputError.self) { try cutout(config) }
            #expect(error.description.contains(overwrite ? "not a folder photoz wrote" : "--overwrite"), "\(error)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("out")) == ["other.txt"])
        }
        // A cutout output is replaced whole with overwrite (and refused without).
        config = CutoutConfiguration(frames: dir.file("frames"), catalog: dir.file("cat.csv"), output: dir.file("stamps"))
        #expect(try cutout(config).written == 1)
        #expect(throws: SafeOutputError.self) { try cutout(config) }
        try "x".write(toFile: dir.file("stamps/stale.txt"), atomically: true, encoding: .utf8)
        config.overwrite = true
        #expect(try cutout(config).written == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.file("stamps/stale.txt")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".stamps") }.isEmpty, "staging left behind")
    }

    @Test func badFramesAreReportedWithTheirFile() throws {
        let dir = TemporaryDirectory()
        try Self.writeField(dir.file("frames"))
        try "objID,ra,dec\n7,\(Self.star.ra),\(Self.star.dec)\n".write(toFile: dir.file("cat.csv"), atomically: true, encoding: .utf8)
        // A truncated bzip2 frame: its header cannot be read.
        let broken = dir.file("frames/frame-r-000001-1-0001.fits.bz2")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: broken))
        try bytes.prefix(40).write(to: URL(fileURLWithPath: broken))
        let config = CutoutConfiguration(frames: dir.file("frames"), catalog: dir.file("cat.csv"), output: dir.file("out"))
        do {
            _ = try cutout(config)
            Issue.record("a truncated frame was accepted")
        } catch {
            #expect("\(error)".contains("frame-r-000001-1-0001.fits.bz2"), "\(error)")
        }
        // The same band twice (plain and compressed) is ambiguous.
        try FileManager.default.removeItem(atPath: broken)
        try Self.writeField(dir.file("frames/copy"))
        #expect(throws: PhotoZDataError.self) { _ = try FrameIndex.scan(dir.file("frames")) }
    }

    /// Of two overlapping fields, the one where the object lies farther from the edges is used.
    @Test func theFieldFarthestFromTheEdgesIsChosen() throws {
        let dir = TemporaryDirectory()
        // Field 1: the star 54 rows from the top edge; field 2 (shifted by 60 rows): 86 rows from the bottom.
        try Self.writeField(dir.file("frames/a"), field: 1)
        try Self.writeField(dir.file("frames/b"), field: 2, rowShift: -60)
        try "objID,ra,dec\n7,\(Self.star.ra),\(Self.star.dec)\n".write(toFile: dir.file("cat.csv"), atomically: true, encoding: .utf8)
        let summary = try cutout(CutoutConfiguration(frames: dir.file("frames"), catalog: dir.file("cat.csv"), output: dir.file("out")))
        #expect(summary.written == 1 && summary.framesRead == 5)
        let rows = try String(contentsOfFile: summary.framesReport, encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(rows.count == 5 && rows.allSatisfy { $0.contains(",1-1-2,") && $0.contains("frames/b/frame-") }, "\(rows)")
        let header = try FITSFile.withFile(dir.file("out/7.fits")) { try $0.int("FIELD") }
        #expect(header == 2)
    }

    @Test func frameNamesAreParsed() {
        #expect(FrameIndex.parseName("frame-r-002583-2-0136.fits.bz2").map { "\($0.0.rawValue) \($0.1)" } == "r 2583-2-136")
        #expect(FrameIndex.parseName("frame-u-000094-6-0012.fits").map { "\($0.0.rawValue) \($0.1)" } == "u 94-6-12")
        #expect(FrameIndex.parseName("frame-q-002583-2-0136.fits") == nil)
        #expect(FrameIndex.parseName("psField-002583-2-0136.fits") == nil)
        #expect(FrameIndex.parseName("frame-r-002583-9-0136.fits") == nil)
    }
}
