import Foundation
import PhotoZData

/// A circular double-Gaussian PSF, the form SDSS photo fits to every field (`PSF_SIGMA1_2G`,
/// `PSF_SIGMA2_2G`, `PSF_B_2G` in photoField files).
///
/// P(r) ∝ G(r; σ₁) + b·G(r; σ₂) with b the ratio of the two amplitudes at r = 0. The shape is
/// that of run 2583, camcol 2, field 136 in r (`photoField-002583-2.fits`): σ₂/σ₁ = 2.308/0.880
/// = 2.62 and b = 0.0588, so 29 % of the light is in the wide component. The size is set by
/// the seeing, defined as SDSS does for `PSF_WIDTH`: the FWHM of the Gaussian with the same
/// effective area n_eff = 1 / ∫P² (FWHM = 2.3548 · sqrt(n_eff / 4π)).
public struct PointSpreadFunction: Sendable {
    /// Ratio of the wide to the core Gaussian width (photoField-002583-2, field 136, r).
    public static let widthRatio = 2.308_408_3 / 0.880_214_15
    /// Amplitude ratio at the centre (photoField-002583-2, field 136, r: PSF_B_2G).
    public static let centralAmplitudeRatio = 0.058_848_38

    /// Core and wide Gaussian σ in pixels.
    public let sigmaCore: Double, sigmaWide: Double
    /// Fraction of the flux in the wide Gaussian.
    public let wideFraction: Double

    /// The PSF whose effective FWHM is `fwhm` arcseconds, on pixels of `pixelScale` arcseconds.
    public init(fwhm: Double, pixelScale: Double = Survey.pixelScale) {
        precondition(fwhm > 0 && pixelScale > 0, "PSF FWHM and pixel scale must be positive")
        let ratio = PointSpreadFunction.widthRatio
        let b = PointSpreadFunction.centralAmplitudeRatio
        let f = b * ratio * ratio / (1 + b * ratio * ratio)
        // ∫P² for σ₁ = 1: (1−f)²/(4π) + f²/(4π ρ²) + 2f(1−f)/(2π(1+ρ²)); n_eff scales as σ₁².
        let integral = (1 - f) * (1 - f) / (4 * .pi) + f * f / (4 * .pi * ratio * ratio)
            + 2 * f * (1 - f) / (2 * .pi * (1 + ratio * ratio))
        let effectiveSigmaPerCore = (1 / integral / (4 * .pi)).squareRoot()
        let effectiveSigma = fwhm / pixelScale / 2.354_820
        sigmaCore = effectiveSigma / effectiveSigmaPerCore
        sigmaWide = sigmaCore * ratio
        wideFraction = f
    }

    /// The seeing FWHM in `band` for an r-band seeing `fwhmR`, scaling as λ^−0.2 (Kolmogorov turbulence, Fried 1966).
    public static func seeing(_ fwhmR: Double, in band: Band) -> Double {
        fwhmR * pow(band.effectiveWavelength / Band.r.effectiveWavelength, -0.2)
    }

    /// Taps of the 1-D Gaussian of width σ integrated over each pixel (so they sum to one
    /// before truncation at ±radius; renormalised after), for separable convolution.
    static func taps(sigma: Double, radius: Int) -> [Double] {
        var taps = (-radius...radius).map { k -> Double in
            let a = (Double(k) - 0.5) / (sigma * 2.0.squareRoot()), c = (Double(k) + 0.5) / (sigma * 2.0.squareRoot())
            return 0.5 * (erf(c) - erf(a))
        }
        let sum = taps.reduce(0, +)
        for i in taps.indices { taps[i] /= sum }
        return taps
    }

    /// The half-width in pixels of the kernel that holds the PSF to 1e-5 of its flux.
    public var radius: Int { Int((4.5 * sigmaWide).rounded(.up)) }

    /// Fraction of a unit point source falling in the pixel spanning [x0, x1) × [y0, y1)
    /// relative to the source (pixel units).
    public func pixelFraction(x0: Double, x1: Double, y0: Double, y1: Double) -> Double {
        func box(_ sigma: Double) -> Double {
            let s = sigma * 2.0.squareRoot()
            return 0.25 * (erf(x1 / s) - erf(x0 / s)) * (erf(y1 / s) - erf(y0 / s))
        }
        return (1 - wideFraction) * box(sigmaCore) + wideFraction * box(sigmaWide)
    }
}
