import Foundation
import Testing
import WCS

/// wcslib through the Swift layer: known projections, round trips and error messages.
@Suite struct WCSTests {
    /// An SDSS-like TAN header: 0.396″ pixels, rotated by 90° as SDSS frames are (columns run along Dec).
    static let sdssLike: [(String, String)] = [
        ("NAXIS", "2"), ("NAXIS1", "2048"), ("NAXIS2", "1489"),
        ("CTYPE1", "'RA---TAN'"), ("CTYPE2", "'DEC--TAN'"), ("CUNIT1", "'deg'"), ("CUNIT2", "'deg'"),
        ("RADECSYS", "'ICRS'"),
        ("CRPIX1", "1025.0"), ("CRPIX2", "745.0"), ("CRVAL1", "323.342792226"), ("CRVAL2", "-0.733974791856"),
        ("CD1_1", "2.71016927104E-09"), ("CD1_2", "0.000109989662575"),
        ("CD2_1", "0.000110016837791"), ("CD2_2", "1.18442059558E-09"),
    ]

    @Test func referencePixelMapsToReferenceValue() throws {
        let wcs = try WCS(keywords: Self.sdssLike, source: "test header")
        #expect(wcs.axisCount == 2 && wcs.isCelestial)
        #expect(wcs.axisTypes == ["RA---TAN", "DEC--TAN"])
        let sky = try wcs.sky(x: 1025, y: 745)
        #expect(abs(sky.longitude - 323.342792226) < 1e-12 && abs(sky.latitude + 0.733974791856) < 1e-12)
        // One row up moves by CD1_2 in RA (divided by cos δ on the sky) and CD2_2 in Dec.
        let up = try wcs.sky(x: 1025, y: 746)
        #expect(abs((up.longitude - sky.longitude) * cos(sky.latitude * .pi / 180) - 0.000109989662575) < 1e-9)
    }

    @Test func pixelSkyRoundTripIsExact() throws {
        let wcs = try WCS(keywords: Self.sdssLike, source: "test header")
        for (x, y) in [(1.0, 1.0), (2048.0, 1489.0), (17.25, 1300.5), (1024.0, 3.75)] {
            let sky = try wcs.sky(x: x, y: y)
            let back = try wcs.pixel(longitude: sky.longitude, latitude: sky.latitude)
            #expect(abs(back.x - x) < 1e-8 && abs(back.y - y) < 1e-8, "(\(x), \(y)) → \(back)")
        }
        let batch = try wcs.pixels(sky: [323.342792226, -0.733974791856, 323.3, -0.7])
        #expect(abs(batch[0] - 1025) < 1e-9 && abs(batch[1] - 745) < 1e-9 && batch.count == 4)
    }

    /// A Galactic zenithal-equal-area grid like the SFD dust maps: not TAN, not equatorial.
    @Test func galacticZEAWorks() throws {
        let wcs = try WCS(keywords: [
            ("NAXIS", "2"), ("CTYPE1", "'GLON-ZEA'"), ("CTYPE2", "'GLAT-ZEA'"),
            ("CRPIX1", "2048.5"), ("CRPIX2", "2048.5"), ("CRVAL1", "0.0"), ("CRVAL2", "90.0"),
            ("CDELT1", "-0.0395646818624"), ("CDELT2", "0.0395646818624"), ("LONPOLE", "180.0"),
        ], source: "SFD-like header")
        #expect(wcs.isCelestial)
        let pole = try wcs.sky(x: 2048.5, y: 2048.5)
        #expect(abs(pole.latitude - 90) < 1e-9)
        let p = try wcs.pixel(longitude: 120, latitude: 45)
        let back = try wcs.sky(x: p.x, y: p.y)
        #expect(abs(back.longitude - 120) < 1e-8 && abs(back.latitude - 45) < 1e-8)
        // ZEA is equal-area: the grid is not a TAN grid (the pixel of b = 45° differs from TAN's).
        #expect(p.x.isFinite && p.y.isFinite)
    }

    @Test func singularMatrixThrowsWithWcslibMessage() throws {
        var keywords = Self.sdssLike.filter { !$0.0.hasPrefix("CD") }
        keywords += [("CD1_1", "1.0E-4"), ("CD1_2", "0.0"), ("CD2_1", "0.0"), ("CD2_2", "0.0")]
        do {
            _ = try WCS(keywords: keywords, source: "bad.fits, HDU 0")
            Issue.record("a singular CD matrix was accepted")
        } catch {
            #expect(error.description.contains("bad.fits, HDU 0"))
            #expect(error.description.lowercased().contains("singular"), "\(error)")
        }
    }

    /// wcslib gives a header without WCS keywords a default linear WCS; asking it for the sky fails.
    @Test func headerWithoutWCSIsNotCelestial() throws {
        let wcs = try WCS(keywords: [("NAXIS", "2"), ("OBJECT", "'nothing'")], source: "plain.fits")
        #expect(!wcs.isCelestial)
        do {
            _ = try wcs.sky(x: 1, y: 1)
            Issue.record("a linear WCS gave a sky position")
        } catch {
            #expect(error.description.contains("plain.fits") && error.description.contains("celestial"))
        }
    }

    @Test func brokenCardLengthThrows() {
        #expect(throws: WCSError.self) { _ = try WCS(header: "CTYPE1  = 'RA---TAN'", source: "short") }
    }
}
