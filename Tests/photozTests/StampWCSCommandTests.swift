import Foundation
import Testing

/// Each stamp's celestial WCS goes from its cutout (cropped at ingest) into the shards and out
/// through export-fits; a cutout without one gives a file without one, and export-fits says so.
@Suite struct StampWCSCommandTests {
    @Test func aStampWCSRoundTripsThroughExportFits() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("cutouts"), withIntermediateDirectories: true)
        // 20×20 MEF cutouts with an SDSS-like WCS (columns along Dec: a 90° rotation, and a
        // small skew); object 4 has none. Ingest crops them to the central 16×16.
        _ = try QPInteropCommandTests.python("""
        import sys, numpy as np
        from astropy.io import fits
        out = sys.argv[1]
        s = 0.396 / 3600
        rows = ["objID,ra,dec,z,zErr,ebv"]
        for i in range(1, 5):
            ra, dec = 180.0 + i * 0.01, 1.0 + i * 0.02
            hdus = [fits.PrimaryHDU()]
            for b in "ugriz":
                h = fits.Header()
                h['EXTNAME'] = b; h['BUNIT'] = 'nanomaggy'
                if i != 4:
                    h['CTYPE1'] = 'RA---TAN'; h['CTYPE2'] = 'DEC--TAN'; h['RADESYS'] = 'ICRS'
                    h['CRVAL1'] = ra; h['CRVAL2'] = dec; h['CRPIX1'] = 7.3; h['CRPIX2'] = 12.9
                    h['CD1_1'] = 1.0e-7 * i; h['CD1_2'] = -s; h['CD2_1'] = -s; h['CD2_2'] = 2.0e-7
                hdus.append(fits.ImageHDU(np.random.default_rng(i).random((20, 20)).astype(np.float32), h))
            fits.HDUList(hdus).writeto(f"{out}/cutouts/{i}.fits")
            rows.append(f"{i},{ra},{dec},0.1,0.0001,0.02")
        open(f"{out}/cat.csv", "w").write("\\n".join(rows) + "\\n")
        """, [dir.path])
        let ingest = try Photoz.run(["ingest", "--catalog", dir.file("cat.csv"), "--cutouts", dir.file("cutouts"), "--out", dir.file("shards"),
                                     "--size", "16", "--split", "0/0/100"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(ingest.stdout.contains("1 cutouts had no equatorial celestial WCS"), "\(ingest.stdout)")
        #expect(try Photoz.run(["validate", dir.file("shards")]).status == 0)
        // The original cutouts are moved away: export-fits must not need them.
        try FileManager.default.moveItem(atPath: dir.file("cutouts"), toPath: dir.file("moved"))
        let export = try Photoz.run(["export-fits", "--data", dir.file("shards"), "--out", dir.file("fits"), "--objects", "1,2,3,4"])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stderr.contains("object 4: the shards store no celestial WCS"), "\(export.stderr)")
        let check = try QPInteropCommandTests.python("""
        import sys, numpy as np
        from astropy.io import fits
        from astropy.wcs import WCS
        from astropy.coordinates import SkyCoord
        import astropy.units as u
        d = sys.argv[1]
        for i in range(1, 4):
            orig = WCS(fits.open(f"{d}/moved/{i}.fits")["r"].header)
            exported = fits.open(f"{d}/fits/{i}.fits")
            worst = 0.0
            for hdu in exported[1:]:
                w = WCS(hdu.header)
                for x, y in [(0, 0), (15, 0), (0, 15), (15, 15), (7.5, 7.5)]:
                    a = w.pixel_to_world(x, y)
                    b = orig.pixel_to_world(x + 2, y + 2)   # the crop starts at pixel 2 (0-based)
                    worst = max(worst, a.separation(b).arcsec)
            print(i, worst)
        f4 = fits.open(f"{d}/fits/4.fits")
        print(4, any('CTYPE1' in h.header for h in f4), any('no celestial WCS' in str(c) for h in f4 for c in h.header.get('COMMENT', [])))
        """, [dir.path])
        let lines = check.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.count == 4, "\(check)")
        for line in lines.prefix(3) {
            let worst = try #require(Double(line[1]))
            #expect(worst < 1e-3, "object \(line[0]): exported WCS differs from the cutout's by \(worst)″ at the stamp's corners")
        }
        #expect(lines.last == ["4", "False", "True"], "\(check)")
    }

    /// Simulated cubes carry a 3-axis WCS (the third axis is the band): the stamp WCS comes from
    /// its two celestial axes and puts the stamp centre at the catalog position.
    @Test func cubeWCSIsStoredFromItsCelestialAxes() throws {
        let dir = TemporaryDirectory()
        #expect(try Photoz.run(["simulate", "--count", "6", "--out", dir.file("sky"), "--seed", "9", "--size", "32", "--layout", "cube"]).status == 0)
        let ingest = try Photoz.run(["ingest", "--catalog", dir.file("sky/catalog.csv"), "--cutouts", dir.file("sky/cutouts"),
                                     "--out", dir.file("shards"), "--size", "24", "--split", "0/0/100"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(!ingest.stdout.contains("no equatorial celestial WCS"), "\(ingest.stdout)")
        let export = try Photoz.run(["export-fits", "--data", dir.file("shards"), "--out", dir.file("fits"), "--first", "6"])
        #expect(export.status == 0 && !export.stderr.contains("no celestial WCS"), "\(export.stderr)")
        let check = try QPInteropCommandTests.python("""
        import sys, glob, pandas as pd
        from astropy.io import fits
        from astropy.wcs import WCS
        from astropy.coordinates import SkyCoord
        import astropy.units as u
        cat = pd.read_csv(sys.argv[1] + "/sky/catalog.csv").set_index("objID")
        worst = 0.0
        for path in glob.glob(sys.argv[1] + "/fits/*.fits"):
            f = fits.open(path)
            oid = f[0].header["OBJID"]
            w = WCS(f["IMAGE_r"].header)
            centre = w.pixel_to_world(11.5, 11.5)   # the centre of a 24-pixel stamp (0-based)
            worst = max(worst, centre.separation(SkyCoord(cat.loc[oid, "ra"] * u.deg, cat.loc[oid, "dec"] * u.deg)).arcsec)
            # north up, east left, 0.396 arcsec pixels, as the simulated cube says
            assert abs(w.wcs.cd[0][0] * 3600 + 0.396) < 1e-6 and abs(w.wcs.cd[1][1] * 3600 - 0.396) < 1e-6, w.wcs.cd
        print(len(glob.glob(sys.argv[1] + "/fits/*.fits")), worst)
        """, [dir.path])
        let fields = check.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(fields.first == "6" && (Double(fields.last ?? "") ?? 1) < 1e-6, "\(check)")
    }
}
