import Foundation

/// The pixel grid of one object's stamp: a tangent-plane (TAN) projection centred on the
/// object, north up, east left, square pixels of `pixelScale` arcsec, shared by all five bands.
///
/// Centre convention: the object's position is the reference point CRPIX = (size + 1) / 2 in
/// FITS 1-based pixels, i.e. the centre of the stamp: for an even size (64) the corner shared
/// by the four central pixels (0-based pixels 31 and 32 on each axis), for an odd size the
/// centre of the middle pixel. Centre-cropping a stamp by an even number of pixels keeps the
/// object at the centre.
public struct StampGrid: Sendable, Equatable {
    /// Right ascension and declination of the stamp's centre, degrees.
    public var ra: Double
    public var dec: Double
    /// Pixels per side.
    public var size: Int
    /// Pixel side in arcsec.
    public var pixelScale: Double

    public init(ra: Double, dec: Double, size: Int, pixelScale: Double) {
        self.ra = ra
        self.dec = dec
        self.size = size
        self.pixelScale = pixelScale
    }

    /// CRPIX1 = CRPIX2, FITS 1-based.
    public var referencePixel: Double { Double(size + 1) / 2 }

    /// The sky position (degrees) of a 0-based pixel position of the stamp: the FITS TAN
    /// (gnomonic) deprojection with CD = diag(−scale, +scale) and LONPOLE 180°, as wcslib
    /// computes it for `headerKeywords` (checked against wcslib in the tests).
    public func sky(x: Double, y: Double) -> (ra: Double, dec: Double) {
        let degree = Double.pi / 180
        let scale = pixelScale / 3600 * degree
        let xi = -(x + 1 - referencePixel) * scale       // east is left: RA grows to smaller x
        let eta = (y + 1 - referencePixel) * scale
        let d0 = dec * degree
        let denominator = cos(d0) - eta * sin(d0)
        var alpha = ra + atan2(xi, denominator) / degree
        alpha = alpha.truncatingRemainder(dividingBy: 360)
        if alpha < 0 { alpha += 360 }
        let delta = atan2(sin(d0) + eta * cos(d0), (xi * xi + denominator * denominator).squareRoot()) / degree
        return (alpha, delta)
    }

    /// The WCS keywords of the stamp, written into every band's header.
    public var headerKeywords: [(String, Double)] {
        let degrees = pixelScale / 3600
        return [("CRPIX1", referencePixel), ("CRPIX2", referencePixel), ("CRVAL1", ra), ("CRVAL2", dec),
                ("CD1_1", -degrees), ("CD1_2", 0), ("CD2_1", 0), ("CD2_2", degrees)]
    }
}
