import Foundation
import Testing
@testable import FITS

/// FITSFile against astropy (run from the interop venv): the same pixels, keywords and columns.
@Suite struct InteropTests {
    static let frame = sharedData.appendingPathComponent("sdss-frames/2583-2-136/frame-r-002583-2-0136.fits.bz2").path

    /// Values astropy read, each as Python's repr so doubles compare exactly.
    struct AstropyDump: Decodable {
        var keys: [String: String]
        var cards: [String]
    }

    // Skipped only where the shared reference data (<package root>/../shared/data) is absent:
    // it holds the real SDSS frame, which is not part of the package.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: frame), "needs ../shared/data/sdss-frames (real SDSS frame; set PHOTOZ_SHARED_DATA to its data folder)"))
    func sdssFrameMatchesAstropy() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let out = folder.path("astropy")
        let json = try runPython("""
            import sys, json, numpy as np
            from astropy.io import fits
            with fits.open(sys.argv[1]) as h:
                np.asarray(h[0].data, dtype='<f4').tofile(sys.argv[2] + '.img')
                np.asarray(h[1].data, dtype='<f4').tofile(sys.argv[2] + '.calib')
                np.asarray(h[2].data['ALLSKY'], dtype='<f4').ravel().tofile(sys.argv[2] + '.allsky')
                hd = h[0].header
                keys = {k: repr(hd[k]) for k in ['NAXIS1', 'NAXIS2', 'CRVAL1', 'CRVAL2', 'CRPIX1', 'CD1_1', 'NMGY', 'FOCUS', 'RUN', 'FILTER', 'EXPTIME']}
                print(json.dumps({'keys': keys, 'cards': [c.keyword for c in hd.cards]}))
            """, [Self.frame, out])
        let astropy = try JSONDecoder().decode(AstropyDump.self, from: Data(json.utf8))

        let file = try FITSFile.open(Self.frame)
        #expect(try file.imageShape() == [2048, 1489])
        #expect(try file.imageBitpix() == -32)
        #expect(try file.int("NAXIS1").map { "\($0)" } == astropy.keys["NAXIS1"])
        #expect(try file.int("NAXIS2").map { "\($0)" } == astropy.keys["NAXIS2"])
        #expect(try file.int("RUN") == 2583 && astropy.keys["RUN"] == "2583")
        for key in ["CRVAL1", "CRVAL2", "CRPIX1", "CD1_1", "NMGY", "FOCUS"] {
            #expect(try file.double(key) == astropy.keys[key].flatMap(Double.init), "\(key)")
        }
        #expect(try file.string("FILTER").map { "'\($0)'" } == astropy.keys["FILTER"])
        #expect(try file.string("EXPTIME").map { "'\($0)'" } == astropy.keys["EXPTIME"])  // a string in SDSS frames
        #expect(try file.headerCards().map(\.name) == astropy.cards)

        let pixels = try file.readImage()
        let reference = try readFloat32File(out + ".img")
        #expect(pixels.count == 2048 * 1489 && reference.count == pixels.count)
        #expect(zip(pixels, reference).filter { $0.bitPattern != $1.bitPattern }.count == 0, "pixels differ from astropy's")
        let section = try file.readImageSection([1000..<1064, 700..<764])
        #expect(section == (700..<764).flatMap { y in (1000..<1064).map { x in reference[x + 2048 * y] } })

        try file.moveTo(hdu: 1)
        #expect(try file.readImage() == readFloat32File(out + ".calib"))
        #expect(try file.moveTo(hdu: 2) == .binaryTable)
        #expect(try file.readColumn("allsky") == .float32(readFloat32File(out + ".allsky")))
        try file.close()
    }

    /// A MEF cutout and a catalog written by FITSFile read the same in astropy.
    @Test func filesWrittenHereReadTheSameInAstropy() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("cutout.fits")
        let longText = String(repeating: "continued ", count: 12) + "end"
        let file = try FITSFile.create(path)
        try file.createImage(shape: [])
        try file.write("OBJECT", .string("O'Brien"), comment: "who")
        try file.write("RUN", .int(2583))
        try file.write("GAIN", .double(4.72))
        try file.write("TINY", .double(1.0 / 3.0))
        try file.write("FLAG", .bool(true))
        try file.write("LONGSTR", .string(longText))
        try file.writeHistory("written by FITSTests")
        try file.close()
        try writeCutoutBands(path)
        let scaled: [Float] = [100, 100.5, 90, 163.5]
        let table = try FITSFile.open(path, mode: .readWrite)
        try table.createImage(bitpix: 16, shape: [2, 2])
        try table.write("EXTNAME", .string("SCALED"))
        try table.write("BSCALE", .double(0.5))
        try table.write("BZERO", .double(100))
        try table.writeImage(scaled)
        try table.createBinaryTable(name: "CATALOG", columns: TableTests.columns)
        try table.close()

        let json = try runPython("""
            import sys, json, numpy as np
            from astropy.io import fits
            out = {}
            with fits.open(sys.argv[1]) as h:
                hd = h[0].header
                out['keys'] = {k: repr(hd[k]) for k in ['OBJECT', 'RUN', 'GAIN', 'TINY', 'FLAG', 'LONGSTR']}
                out['keys']['HISTORY'] = repr(str(hd['HISTORY']))
                out['keys']['names'] = repr([x.name for x in h])
                for band in 'ugriz':
                    np.asarray(h[band].data, dtype='<f4').tofile(sys.argv[2] + band)
                out['keys']['SCALED'] = repr(h['SCALED'].data.astype(float).ravel().tolist())
                t = h['CATALOG'].data
                for c in ['object_id', 'flags']:
                    out['keys'][c] = repr([int(v) for v in t[c]])
                out['keys']['z_spec'] = repr([float(v) for v in t['z_spec']])
                out['keys']['ra'] = repr([float(v) for v in t['ra']])
                out['keys']['band'] = repr([str(v) for v in t['band']])
                out['keys']['units'] = repr(h['CATALOG'].columns.units)
            out['cards'] = []
            print(json.dumps(out))
            """, [path, folder.path("band-")])
        let keys = try JSONDecoder().decode(AstropyDump.self, from: Data(json.utf8)).keys
        #expect(keys["OBJECT"] == "\"O'Brien\"")
        #expect(keys["RUN"] == "2583" && keys["FLAG"] == "True")
        #expect(keys["GAIN"] == "4.72" && keys["TINY"].flatMap(Double.init) == 1.0 / 3.0)
        #expect(keys["LONGSTR"] == "'\(longText)'")
        #expect(keys["HISTORY"] == "'written by FITSTests'")
        #expect(keys["names"] == "['PRIMARY', 'U', 'G', 'R', 'I', 'Z', 'SCALED', 'CATALOG']")
        for (index, band) in ["u", "g", "r", "i", "z"].enumerated() {
            #expect(try readFloat32File(folder.path("band-" + band)) == expectedPixels(seed: 3, band: index + 1), "band \(band)")
        }
        #expect(keys["SCALED"] == "[100.0, 100.5, 90.0, 163.5]")
        #expect(keys["object_id"] == "[1237648720693755918, -3, 0]")
        #expect(keys["flags"] == "[1, -2147483648, 2147483647]")
        #expect(keys["z_spec"] == "[\(Double(Float(0.1))), 0.25, nan]")
        #expect(keys["ra"] == "[323.26, 0.0, -1e-300]")
        #expect(keys["band"] == "['r', '', 'long name']")
        #expect(keys["units"] == "['', '', 'redshift', 'deg', '']")
    }

    /// Tile-compressed files written by astropy (Rice int32, lossless gzip float32) read exactly.
    @Test func astropyTileCompressedFilesRead() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("astropy.fits.fz")
        try runPython("""
            import sys, numpy as np
            from astropy.io import fits
            d = (np.arange(64 * 48).reshape(48, 64) * 7919 % 65536 - 30000).astype(np.int32)
            f = (np.arange(64 * 48).reshape(48, 64) * 0.37).astype(np.float32)
            fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(d, compression_type='RICE_1', name='SCI'),
                          fits.CompImageHDU(f, compression_type='GZIP_2', quantize_level=0.0, name='FLT')]).writeto(sys.argv[1])
            d.astype('<f4').tofile(sys.argv[1] + '.sci')
            f.astype('<f4').tofile(sys.argv[1] + '.flt')
            """, [path])
        try FITSFile.withFile(path) { (file: FITSFile) throws in
            #expect(try file.hduCount() == 3)
            #expect(try file.moveTo(hdu: 1) == .image)
            #expect(try file.imageShape() == [64, 48] && file.imageBitpix() == 32)
            #expect(try file.readImage() == readFloat32File(path + ".sci"))
            #expect(try file.moveTo(extname: "FLT") == .image)
            #expect(try file.readImage() == readFloat32File(path + ".flt"))
        }
    }
}

/// Appends the five 64×64 bands of `writeCutout(seed: 3)` to an existing file.
private func writeCutoutBands(_ path: String) throws {
    let file = try FITSFile.open(path, mode: .readWrite)
    for (index, band) in ["u", "g", "r", "i", "z"].enumerated() {
        try file.createImage(shape: [64, 64])
        try file.write("EXTNAME", .string(band.uppercased()))
        try file.writeImage(expectedPixels(seed: 3, band: index + 1))
    }
    try file.close()
}
