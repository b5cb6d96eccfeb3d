import Foundation
import PhotoZData

/// The galaxy population of an SDSS Main-Galaxy-Sample-like survey: redshift, luminosity, type,
/// bulge fraction and size, drawn so that the flux-limited sample has the MGS's n(z).
///
/// - Luminosity function: Schechter in rest-frame r with the Blanton et al. 2003 (ApJ 592, 819)
///   ^{0.1}r parameters, M* − 5 log h = −20.44, α = −1.05, evolving as M*(z) = M*(0.1) − Q(z − 0.1)
///   and φ*(z) ∝ 10^{0.4 P (z − 0.1)} with Q = 1.62, P = 0.18; h = 0.7. (The ^{0.1}r and r bands
///   differ by ≈ 0.1 mag in K-correction; we use the parameters for rest-frame r.)
/// - Redshift: drawn from the comoving volume dV/dz times the density evolution on [0.005, 0.4];
///   a galaxy is kept when its extinction-corrected Petrosian magnitude r_P ≤ 17.77 (Strauss et
///   al. 2002, AJ 124, 1810), r_P = M_P + DM(z) + K_r(t, z) with the K-correction of its own
///   template. Blanton et al. measured the LF with Petrosian magnitudes, so the drawn M is a
///   Petrosian one; the total (model) magnitude is brighter by Δ_P = −2.5 log10(0.80·B/T +
///   0.98·(1 − B/T)): Petrosian apertures hold ≈ 80 % of a de Vaucouleurs and ≈ 98 % of an
///   exponential profile's flux (Blanton et al. 2001, AJ 121, 2358). Rejection sampling makes
///   the result exact for the model.
/// - Type: early with probability p_E = 0.10 + 0.75 / (1 + exp((M − M*(z) − 0.6)/0.9)), a fit to
///   the red fraction against luminosity of Baldry et al. 2004 (ApJ 600, 681), from ≈ 0.15 at
///   M_r = −18 to ≈ 0.8 at M_r = −22.5. Early types take t ~ U(0, 0.6) (El towards Sbc);
///   late types t ~ N(1.6 + 0.35 (M + 20.5), 0.75) clipped to [0.6, 5] (fainter → later).
///   Since brighter galaxies dominate at higher z in a flux-limited sample, the mix changes with
///   both magnitude and redshift.
/// - Bulge fraction: B/T by type, 0.9 (El), 0.35 (Sbc), 0.12 (Scd), 0.03 (Im), 0 (starbursts),
///   after Simien & de Vaucouleurs 1986 (ApJ 302, 564), with N(0, 0.08) scatter.
/// - Size: the r-band size–luminosity relations of Shen et al. 2003 (MNRAS 343, 978, eqs. 14–16,
///   H0 = 70): early log R50 = −0.4·0.65·M − 5.06; late log R50 = −0.4·0.21·M
///   + 0.32 log(1 + 10^{−0.4(M + 20.52)}) − 1.31 (kpc), log-normal scatter
///   σ_lnR = σ₂ + (σ₁ − σ₂)/(1 + 10^{−0.8(M + 20.52)}), (σ₁, σ₂) = (0.45, 0.27) early,
///   (0.48, 0.25) late; angular size R50 / D_A(z).
/// - Shape: disk axis ratio of a thin disk of intrinsic flattening 0.2 seen at random
///   inclination (q² = 0.04 + 0.96 cos² i, cos i uniform); bulge axis ratio N(0.75, 0.15)
///   clipped to [0.35, 1] (Padilla & Strauss 2008, MNRAS 388, 1321); bulge R_e = 0.35 disk R_e,
///   both scaled so the sum has half-light radius R50; one random position angle.
struct GalaxyPopulation: Sendable {
    static let magnitudeLimit = 17.77
    static let redshiftRange = 0.005...0.4
    static let characteristicMagnitude = -20.44 + 5 * log10(0.7)   // M* at z = 0.1, h = 0.7
    static let faintEndSlope = -1.05
    static let magnitudeEvolution = 1.62, densityEvolution = 0.18
    static let offsetRange = -3.5...7.0                              // M − M* sampled
    static let bulgeFractionByType = [0.9, 0.35, 0.12, 0.03, 0.0, 0.0]

    let cosmology: Cosmology
    let photometry: TemplatePhotometry
    let fixedType: Double?
    private let redshiftGrid: [Double], redshiftCDF: [Double]
    private let offsetGrid: [Double], offsetCDF: [Double]

    init(cosmology: Cosmology, photometry: TemplatePhotometry, fixedType: Double?) {
        self.cosmology = cosmology
        self.photometry = photometry
        self.fixedType = fixedType
        let range = GalaxyPopulation.redshiftRange
        redshiftGrid = (0...4000).map { range.lowerBound + (range.upperBound - range.lowerBound) * Double($0) / 4000 }
        redshiftCDF = GalaxyPopulation.cumulative(redshiftGrid) { z in
            cosmology.comovingVolumeElement(z) * pow(10, 0.4 * GalaxyPopulation.densityEvolution * (z - 0.1))
        }
        let offsets = GalaxyPopulation.offsetRange
        offsetGrid = (0...10_000).map { offsets.lowerBound + (offsets.upperBound - offsets.lowerBound) * Double($0) / 10_000 }
        offsetCDF = GalaxyPopulation.cumulative(offsetGrid) { dm in
            pow(10, -0.4 * (GalaxyPopulation.faintEndSlope + 1) * dm) * exp(-pow(10, -0.4 * dm))
        }
    }

    /// Normalised cumulative trapezoid integral of `density` on `grid`.
    private static func cumulative(_ grid: [Double], _ density: (Double) -> Double) -> [Double] {
        var cdf = [0.0], previous = density(grid[0])
        for k in 1..<grid.count {
            let value = density(grid[k])
            cdf.append(cdf[k - 1] + 0.5 * (previous + value) * (grid[k] - grid[k - 1]))
            previous = value
        }
        return cdf.map { $0 / cdf[cdf.count - 1] }
    }

    private static func inverse(_ grid: [Double], _ cdf: [Double], _ u: Double) -> Double {
        var low = 0, high = cdf.count - 1
        while high - low > 1 {
            let mid = (low + high) / 2
            if cdf[mid] <= u { low = mid } else { high = mid }
        }
        let w = cdf[high] > cdf[low] ? (u - cdf[low]) / (cdf[high] - cdf[low]) : 0
        return grid[low] + w * (grid[high] - grid[low])
    }

    /// M*(z) in rest-frame r for h = 0.7.
    static func characteristicMagnitude(at z: Double) -> Double {
        characteristicMagnitude - magnitudeEvolution * (z - 0.1)
    }

    /// A galaxy of the flux-limited sample before its position, reddening and observation.
    struct Draw {
        var z: Double, absoluteR: Double, type: Double, early: Bool
        var bulgeFraction: Double, magnitudes: [Double], petrosianR: Double
    }

    /// Draws galaxies from the luminosity function until one passes the MGS limit.
    func drawSelected(_ random: inout SimRandom) -> Draw {
        while true {
            let z = GalaxyPopulation.inverse(redshiftGrid, redshiftCDF, random.uniform())
            let m01 = GalaxyPopulation.characteristicMagnitude(at: z)
                + GalaxyPopulation.inverse(offsetGrid, offsetCDF, random.uniform())
            let (type, early) = drawType(absoluteR: m01, z: z, &random)
            let petrosianM = m01 + 2.5 * log10(photometry.flux(type: type, z: 0.1, band: .r))
            let petrosian = petrosianM + cosmology.distanceModulus(z) + photometry.kCorrection(type: type, z: z)
            guard petrosian <= GalaxyPopulation.magnitudeLimit else { continue }
            let bulge = drawBulgeFraction(type: type, &random)
            let m = petrosianM + 2.5 * log10(0.80 * bulge + 0.98 * (1 - bulge))
            let magnitudes = photometry.apparentMagnitudes(absoluteR: m, type: type, z: z, cosmology: cosmology)
            return Draw(z: z, absoluteR: m, type: type, early: early, bulgeFraction: bulge,
                        magnitudes: magnitudes, petrosianR: petrosian)
        }
    }

    /// Draws a spectral type for absolute magnitude M (^{0.1}r) at z; `early` selects the size relation.
    func drawType(absoluteR m: Double, z: Double, _ random: inout SimRandom) -> (Double, Bool) {
        let relative = m - GalaxyPopulation.characteristicMagnitude(at: z) - 0.6
        let pEarly = 0.10 + 0.75 / (1 + exp(relative / 0.9))
        let early = random.uniform() < pEarly
        let drawn = early ? random.uniform(0, 0.6) : random.clippedNormal(1.6 + 0.35 * (m + 20.5), 0.75, 0.6, 5)
        guard let fixed = fixedType else { return (drawn, early) }
        return (fixed, fixed < 0.6)
    }

    /// Draws B/T for a type.
    func drawBulgeFraction(type: Double, _ random: inout SimRandom) -> Double {
        let table = GalaxyPopulation.bulgeFractionByType
        let k = min(Int(type), table.count - 2)
        let w = type - Double(k)
        let mean = table[k] * (1 - w) + table[k + 1] * w
        return min(1, max(0, mean + 0.08 * random.normal()))
    }

    /// Draws a bulge + disk shape for a galaxy of absolute magnitude M at z.
    func drawMorphology(absoluteR m: Double, z: Double, early: Bool, bulgeFraction: Double,
                        _ random: inout SimRandom) -> GalaxyMorphology {
        let (logR, s1, s2) = early
            ? (-0.4 * 0.65 * m - 5.06, 0.45, 0.27)
            : (-0.4 * 0.21 * m + 0.32 * log10(1 + pow(10, -0.4 * (m + 20.52))) - 1.31, 0.48, 0.25)
        let sigma = s2 + (s1 - s2) / (1 + pow(10, -0.8 * (m + 20.52)))
        let kpc = min(40, max(0.2, pow(10, logR) * exp(sigma * random.normal())))
        let r50 = kpc / cosmology.kiloparsecsPerArcsecond(z)
        let radii = componentRadii(halfLightRadius: r50, bulgeFraction: bulgeFraction, bulgeToDiskRadius: 0.35)
        let cosInclination = random.uniform()
        let diskQ = (0.04 + 0.96 * cosInclination * cosInclination).squareRoot()
        let bulgeQ = random.clippedNormal(0.75, 0.15, 0.35, 1)
        return GalaxyMorphology(bulgeFraction: bulgeFraction, halfLightRadius: r50,
                                bulgeRadius: radii.bulge, diskRadius: radii.disk,
                                bulgeAxisRatio: bulgeQ, diskAxisRatio: diskQ,
                                positionAngle: random.uniform(0, 180))
    }
}
