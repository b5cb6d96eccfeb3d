import Foundation
import Testing
@testable import PhotoZData

/// E(B−V) from dust maps: the real SFD patch of astroquery's test data against astropy's WCS,
/// the equatorial → Galactic rotation against astropy, and SFD-shaped all-sky ZEA hemisphere
/// maps (pixel positions checked against SFD's own formula) for the hemisphere logic.
@Suite struct DustMapTests {
    static let patch = packageRoot + "/Tests/PhotoZDataTests/Fixtures/irsa-dust-sfd-patch.fits"

    /// Bilinear interpolation on 0-based pixel positions, clamped at the edges (the `sfdmap`
    /// package's `_bilinear_interpolate`), NaN more than half a pixel outside: the reference.
    static let bilinear = """
    import numpy as np
    def bilinear(data, x, y):
        ny, nx = data.shape
        out = np.full(len(x), np.nan)
        ok = np.isfinite(x) & np.isfinite(y) & (x >= -0.5) & (y >= -0.5) & (x <= nx - 0.5) & (y <= ny - 0.5)
        x, y = x[ok], y[ok]
        x0f, y0f = np.floor(x), np.floor(y)
        wx, wy = x - x0f, y - y0f
        x0 = np.maximum(x0f.astype(int), 0); x1 = np.minimum(x0f.astype(int) + 1, nx - 1)
        y0 = np.maximum(y0f.astype(int), 0); y1 = np.minimum(y0f.astype(int) + 1, ny - 1)
        out[ok] = ((1 - wx) * (1 - wy) * data[y0, x0] + wx * (1 - wy) * data[y0, x1]
                   + (1 - wx) * wy * data[y1, x0] + wx * wy * data[y1, x1])
        return out
    """

    /// Parses the python output: one line per position, "ra dec value".
    static func parse(_ text: String) -> [(ra: Double, dec: Double, value: Double)] {
        text.split(separator: "\n").map { line in
            let f = line.split(separator: " ").map { Double($0)! }
            return (f[0], f[1], f[2])
        }
    }

    @Test func theRealSFDPatchMatchesAstropy() throws {
        let out = try runPython(Self.bilinear + "\n" + """
        import sys
        from astropy.io import fits
        from astropy.wcs import WCS
        h = fits.open(sys.argv[1])
        data, w = h[0].data.astype(np.float64), WCS(h[0].header)
        rng = np.random.default_rng(11)
        # Pixel positions inside the patch, on its edges and beyond it, as sky positions.
        px = np.concatenate([rng.uniform(-0.4, 201.4, 300), [-3, 205, 100, 0, 201]])
        py = np.concatenate([rng.uniform(-0.4, 201.4, 300), [100, 100, -4, 0, 201]])
        ra, dec = w.wcs_pix2world(px, py, 0)
        x, y = w.wcs_world2pix(ra, dec, 0)
        for r, d, v in zip(ra, dec, bilinear(data, x, y)):
            print(repr(float(r)), repr(float(d)), repr(float(v)))
        """, arguments: [Self.patch])
        let expected = Self.parse(out)
        let map = try DustMap(paths: [Self.patch])
        #expect(map.description.contains("equatorial RA---TAN/DEC--TAN, 202×202"))
        let values = try map.values(at: expected.map { ($0.ra, $0.dec) })
        var compared = 0
        for (k, e) in expected.enumerated() {
            if e.value.isNaN {
                #expect(values[k].isNaN, "position \(k) lies outside the patch")
            } else {
                // The map is read as float32 (a relative 6e-8), E(B−V) ~ 0.003–0.06 mag.
                #expect(abs(values[k] - e.value) <= 1e-7 + 1e-6 * e.value, "position \(k): \(values[k]) vs astropy \(e.value)")
                compared += 1
            }
        }
        #expect(compared >= 300 && expected.count - compared == 3)
    }

    @Test func theGalacticRotationMatchesAstropy() throws {
        let out = try runPython("""
        import numpy as np
        from astropy.coordinates import SkyCoord
        import astropy.units as u
        rng = np.random.default_rng(5)
        ra = rng.uniform(0, 360, 200); dec = np.degrees(np.arcsin(rng.uniform(-1, 1, 200)))
        g = SkyCoord(ra=ra * u.deg, dec=dec * u.deg, frame='icrs').galactic
        for r, d, l, b in zip(ra, dec, g.l.deg, g.b.deg):
            print(repr(float(r)), repr(float(d)), repr(float(l)), repr(float(b)))
        """)
        for line in out.split(separator: "\n") {
            let f = line.split(separator: " ").map { Double($0)! }
            let g = DustMap.galactic(ra: f[0], dec: f[1])
            // Angular separation on the sky, in arcseconds.
            let a = DustMap.unit(g.l, g.b), b = DustMap.unit(f[2], f[3])
            let cross = ((a.1 * b.2 - a.2 * b.1) * (a.1 * b.2 - a.2 * b.1) + (a.2 * b.0 - a.0 * b.2) * (a.2 * b.0 - a.0 * b.2)
                         + (a.0 * b.1 - a.1 * b.0) * (a.0 * b.1 - a.1 * b.0)).squareRoot()
            #expect(asin(min(1, cross)) * 180 / .pi * 3600 < 0.1, "(\(f[0]), \(f[1])): photoz (\(g.l), \(g.b)) vs astropy (\(f[2]), \(f[3]))")
        }
    }

    /// SFD-shaped all-sky maps (ZEA, Galactic, one per hemisphere, 256² with LAM_SCAL 128 instead
    /// of 4096² and 2048), written by astropy; the expected values use SFD's own pixel formula
    /// x = s·√(1 − n sin b)·cos l + s − ½, y = −n·s·√(1 − n sin b)·sin l + s − ½ (0-based),
    /// which the script first checks against astropy's WCS for these headers.
    static func writeHemisphereMaps(_ dir: TemporaryDirectory, flags: Bool) throws -> [(ra: Double, dec: Double, value: Double)] {
        let out = try runPython(Self.bilinear + "\n" + """
        import sys
        from astropy.io import fits
        from astropy.wcs import WCS
        from astropy.coordinates import SkyCoord
        import astropy.units as u
        s = 128; c = np.degrees(np.sqrt(2)) / s
        maps = {}
        for n, crval1, cd1, cd2, name in [(1, 90.0, -c, c, 'ngp'), (-1, 270.0, c, -c, 'sgp')]:
            h = fits.Header()
            h['CTYPE1'] = 'GLON-ZEA'; h['CTYPE2'] = 'GLAT-ZEA'
            h['CRPIX1'] = s + 0.5; h['CRPIX2'] = s + 0.5; h['CRVAL1'] = crval1; h['CRVAL2'] = 90.0 * n
            h['CD1_1'] = cd1; h['CD2_2'] = cd2; h['CD1_2'] = 0.0; h['CD2_1'] = 0.0; h['LONPOLE'] = 180.0
            if sys.argv[2] == 'flags': h['LAM_NSGP'] = n; h['LAM_SCAL'] = s
            # Values that tell the hemispheres apart: north 0.01-0.11, south 1.01-1.11 mag.
            data = (0.01 + 0.1 * np.random.default_rng(7 + n).random((2 * s, 2 * s)) + (n < 0)).astype(np.float32)
            fits.PrimaryHDU(data, h).writeto(sys.argv[1] + '/SFD_test_' + name + '.fits')
            maps[n] = (data.astype(np.float64), WCS(h))
        rng = np.random.default_rng(9)
        # Random positions, then three chosen ones: 0.2° north and south of the plane, and near the north pole.
        near = SkyCoord(l=[10.0, 10.0, 200.0] * u.deg, b=[0.2, -0.2, 89.9] * u.deg, frame='galactic').icrs
        ra = np.concatenate([rng.uniform(0, 360, 400), near.ra.deg])
        dec = np.concatenate([np.degrees(np.arcsin(rng.uniform(-1, 1, 400))), near.dec.deg])
        g = SkyCoord(ra=ra * u.deg, dec=dec * u.deg, frame='icrs').galactic
        l, b = g.l.deg, g.b.deg
        for r, d, lv, bv in zip(ra, dec, l, b):
            n = 1 if bv >= 0 else -1
            data, w = maps[n]
            lr, br = np.radians(lv), np.radians(bv)
            x = s * np.sqrt(1 - n * np.sin(br)) * np.cos(lr) + s - 0.5
            y = -n * s * np.sqrt(1 - n * np.sin(br)) * np.sin(lr) + s - 0.5
            ax, ay = w.wcs_world2pix([lv], [bv], 0)
            assert abs(ax[0] - x) < 1e-6 and abs(ay[0] - y) < 1e-6, (lv, bv, x, y, ax, ay)
            v = bilinear(data, np.array([x]), np.array([y]))[0]
            print(repr(float(r)), repr(float(d)), repr(float(v)))
        """, arguments: [dir.path, flags ? "flags" : "noflags"])
        return Self.parse(out)
    }

    @Test(arguments: [true, false])
    func allSkyHemisphereMapsPickTheRightHemisphere(flags: Bool) throws {
        let dir = TemporaryDirectory()
        let expected = try Self.writeHemisphereMaps(dir, flags: flags)
        // Given in either order: the hemisphere (LAM_NSGP, else the nearest pole) decides.
        let map = try DustMap(paths: [dir.file("SFD_test_sgp.fits"), dir.file("SFD_test_ngp.fits")])
        let values = try map.values(at: expected.map { ($0.ra, $0.dec) })
        var north = 0, south = 0
        for (k, e) in expected.enumerated() {
            // photoz's rotation and astropy's differ by ~0.02″ (see theGalacticRotationMatchesAstropy);
            // on maps whose values jump by up to 0.1 per 0.66° pixel that moves a value by ~1e-6.
            #expect(abs(values[k] - e.value) <= 1e-5, "position \(k) (\(e.ra), \(e.dec)): \(values[k]) vs \(e.value)")
            if e.value < 1 { north += 1 } else { south += 1 }
        }
        #expect(north > 150 && south > 150)
        // Just north of the plane: the north map; just south: the south map; near the pole: north.
        #expect(values[400] < 1 && values[401] > 1 && values[402] < 1)
    }

    @Test func mapsThatArePlacedNowhereAreRefused() throws {
        let dir = TemporaryDirectory()
        _ = try runPython("""
        import sys, numpy as np
        from astropy.io import fits
        h = fits.Header(); h['CTYPE1'] = 'ELON-CAR'; h['CTYPE2'] = 'ELAT-CAR'
        h['CRPIX1'] = 1; h['CRPIX2'] = 1; h['CRVAL1'] = 0; h['CRVAL2'] = 0; h['CDELT1'] = 1; h['CDELT2'] = 1
        fits.PrimaryHDU(np.zeros((4, 4), np.float32), h).writeto(sys.argv[1] + '/ecliptic.fits')
        fits.PrimaryHDU(np.zeros((4, 4), np.float32)).writeto(sys.argv[1] + '/plain.fits')
        """, arguments: [dir.path])
        let ecliptic = try #require(throws: PhotoZDataError.self) { try DustMap(paths: [dir.file("ecliptic.fits")]) }
        #expect("\(ecliptic)".contains("ecliptic.fits") && "\(ecliptic)".contains("ELON"))
        let plain = try #require(throws: PhotoZDataError.self) { try DustMap(paths: [dir.file("plain.fits")]) }
        #expect("\(plain)".contains("plain.fits") && "\(plain)".contains("WCS"))
        #expect(throws: PhotoZDataError.self) { try DustMap(paths: [dir.file("missing.fits")]) }
    }

    /// Through the catalog: --ebv-map gives each object the map's value at its position, rows
    /// outside every map are skipped with the reason, and the source is recorded.
    @Test func aCatalogTakesEBVFromTheMap() throws {
        let dir = TemporaryDirectory()
        let map = try DustMap(paths: [Self.patch])
        let centre = try map.images[0].wcs.sky(x: 101.3, y: 99.6)  // a position inside the patch
        try "objID,ra,dec,z,zErr\n1,\(centre.longitude),\(centre.latitude),0.1,0.001\n2,10.0,-30.0,0.2,0.001\n"
            .write(toFile: dir.file("c.csv"), atomically: true, encoding: .utf8)
        let catalog = try Catalog.read(dir.file("c.csv"), ebv: .maps([Self.patch]))
        #expect(catalog.entries.map(\.objectID) == [1])
        let direct = try map.values(at: [(centre.longitude, centre.latitude)])[0]
        #expect(catalog.entries.first?.ebv == Float(direct) && direct > 0.001)
        #expect(catalog.skipped.map(\.reason) == [.badCatalogValue] && catalog.skipped.first?.detail.contains("irsa-dust-sfd-patch.fits") == true)
        #expect(catalog.columnsUsed["ebv"]?.hasPrefix("dust map: irsa-dust-sfd-patch.fits") == true)
    }
}
