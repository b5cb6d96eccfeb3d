import Foundation
import PhotoZData

/// The SDSS frame noise model (SDSS data model, `frame` files):
///
///     dn = img / cimg + simg,   dn_err = sqrt(dn / gain + darkVariance),   img_err = dn_err · cimg
///
/// with img the sky-subtracted image in nanomaggies, cimg the calibration (nanomaggies per
/// count) and simg the sky in counts. The defaults are run 2583, camcol 2, field 136 of
/// `photoField-002583-2.fits` (GAIN, DARK_VARIANCE, NMGYPERCOUNT, SKY columns, band order
/// u, g, r, i, z); SKY there is in nanomaggies per arcsec² (it reproduces the frames' ALLSKY
/// grid: r 5.26 nmgy/″² · 0.396² / 0.005467 = 151 DN against 149 DN in HDU2).
public struct NoiseModel: Codable, Sendable, Equatable {
    /// Electrons per count (photoField GAIN).
    public var gain: [Double]
    /// Read noise plus dark current variance in counts² (photoField DARK_VARIANCE).
    public var darkVariance: [Double]
    /// Nanomaggies per count (photoField NMGYPERCOUNT; `cimg` of the frame files).
    public var nanomaggiesPerCount: [Double]
    /// Sky brightness in nanomaggies per arcsec² (photoField SKY).
    public var skyBrightness: [Double]

    /// Run 2583, camcol 2, field 136 (Stripe 82).
    public static let sdssField2583 = NoiseModel(
        gain: [1.825, 3.855, 4.6, 5.195, 5.155],
        darkVariance: [12.6025, 1.44, 1.0, 6.25, 1.0],
        nanomaggiesPerCount: [0.011_872_39, 0.004_466_88, 0.005_466_89, 0.006_559_20, 0.038_566_03],
        skyBrightness: [1.786_454_1, 2.318_335, 5.255_544_7, 9.014_029_5, 34.892_014]
    )

    /// Sky level in counts per pixel in `band`, with the sky scaled by `skyScale`.
    public func skyCounts(_ band: Band, skyScale: Double = 1, pixelScale: Double = Survey.pixelScale) -> Double {
        skyBrightness[band.index] * skyScale * pixelScale * pixelScale / nanomaggiesPerCount[band.index]
    }

    /// Standard deviation in nanomaggies of a pixel holding `signal` nanomaggies of source
    /// light above a sky of `skyScale` times the default.
    public func sigma(_ band: Band, signal: Double = 0, skyScale: Double = 1, pixelScale: Double = Survey.pixelScale) -> Double {
        let b = band.index
        let counts = max(0, signal) / nanomaggiesPerCount[b] + skyCounts(band, skyScale: skyScale, pixelScale: pixelScale)
        return (counts / gain[b] + darkVariance[b]).squareRoot() * nanomaggiesPerCount[b]
    }
}
