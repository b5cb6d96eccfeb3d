import FITS
import Foundation
import Testing
@testable import PhotoZData

/// The stamp WCS: the direct TAN evaluation agrees with wcslib, headers it does not cover go to
/// wcslib, and a crop moves the reference pixel.
@Suite struct StampWCSTests {
    static func cards(_ pairs: [(String, String)]) -> [FITSCard] { pairs.map { FITSCard(name: $0.0, value: $0.1, comment: "") } }

    @Test func directTANAgreesWithWCSLib() throws {
        var g = SystemRandomNumberGenerator()
        for k in 0..<200 {
            let ra = k % 10 == 0 ? Double.random(in: 359.99..<360, using: &g) : Double.random(in: 0..<360, using: &g)
            let dec = k % 7 == 0 ? Double.random(in: 80..<89.9, using: &g) : Double.random(in: -85..<85, using: &g)
            let s = 0.396 / 3600, angle = Double.random(in: 0..<(2 * .pi), using: &g)
            var pairs: [(String, String)] = [("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"), ("CRVAL1", "\(ra)"), ("CRVAL2", "\(dec)"),
                                             ("CRPIX1", "\(Double.random(in: -50..<100, using: &g))"), ("CRPIX2", "\(Double.random(in: -50..<100, using: &g))")]
            if k % 2 == 0 {
                pairs += [("CD1_1", "\(-s * cos(angle))"), ("CD1_2", "\(s * sin(angle))"), ("CD2_1", "\(s * sin(angle))"), ("CD2_2", "\(s * cos(angle))")]
            } else {
                pairs += [("CDELT1", "\(-s)"), ("CDELT2", "\(s)"), ("PC1_1", "\(cos(angle))"), ("PC1_2", "\(-sin(angle))"), ("PC2_1", "\(sin(angle))"), ("PC2_2", "\(cos(angle))")]
            }
            let c = Self.cards(pairs + [("RADESYS", "ICRS")])
            let direct = try #require(LinearTAN(c))
            let wcs = try #require(StampWCS.wcslib(c, source: "test"))
            for _ in 0..<5 {
                let x = Double.random(in: -20..<120, using: &g), y = Double.random(in: -20..<120, using: &g)
                let a = try #require(direct.sky(x, y)), b = try wcs.sky(x: x, y: y)
                let (u, v) = (DustMap.unit(a.longitude, a.latitude), DustMap.unit(b.longitude, b.latitude))
                let chord = ((u.0 - v.0) * (u.0 - v.0) + (u.1 - v.1) * (u.1 - v.1) + (u.2 - v.2) * (u.2 - v.2)).squareRoot()
                #expect(chord * 180 / .pi * 3600 < 1e-6, "header \(k) pixel (\(x), \(y)): \(a) vs wcslib \(b)")
            }
        }
    }

    @Test func otherHeadersGoToWCSLibAndACropMovesTheCentre() throws {
        let tan = Self.cards([("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"), ("CRVAL1", "150"), ("CRVAL2", "2"), ("CRPIX1", "10.5"),
                              ("CRPIX2", "10.5"), ("CD1_1", "-0.00011"), ("CD2_2", "0.00011")])
        #expect(LinearTAN(tan) != nil)
        #expect(LinearTAN(tan + Self.cards([("PV2_1", "0.1")])) == nil)
        #expect(LinearTAN(Self.cards([("CTYPE1", "RA---ZEA"), ("CTYPE2", "DEC--ZEA")])) == nil)
        // The stamp of 16 pixels cut at (2, 2) of the 20-pixel image: its centre is pixel 10.5 there.
        let stamp = try #require(StampWCS.derive(cards: tan, x0: 2, y0: 2, size: 16, source: "t"))
        #expect(abs(stamp.crval.0 - 150) < 1e-12 && abs(stamp.crval.1 - 2) < 1e-12 && stamp.crpix == (8.5, 8.5))
        #expect(abs(stamp.cd.0 + 0.00011) < 1e-12 && abs(stamp.cd.3 - 0.00011) < 1e-12 && abs(stamp.cd.1) < 1e-15)
        // A ZEA header (wcslib's path) and one in another frame, or without a WCS.
        let zea = Self.cards([("CTYPE1", "RA---ZEA"), ("CTYPE2", "DEC--ZEA"), ("CRVAL1", "150"), ("CRVAL2", "2"), ("CRPIX1", "10.5"),
                              ("CRPIX2", "10.5"), ("CDELT1", "-0.00011"), ("CDELT2", "0.00011")])
        let viaWCSLib = try #require(StampWCS.derive(cards: zea, x0: 2, y0: 2, size: 16, source: "t"))
        #expect(abs(viaWCSLib.crval.0 - 150) < 1e-9 && abs(viaWCSLib.cd.0 + 0.00011) < 1e-9)
        #expect(StampWCS.derive(cards: tan + Self.cards([("RADESYS", "FK4")]), x0: 0, y0: 0, size: 16, source: "t") == nil)
        #expect(StampWCS.derive(cards: Self.cards([("BUNIT", "nanomaggy")]), x0: 0, y0: 0, size: 16, source: "t") == nil)
    }
}
