import Foundation
import PhotoZData

/// AB magnitudes of redshifted galaxy templates (and of blackbody stars) through the SDSS curves.
///
/// For an SED f_λ observed at redshift z through a photon-counting response R(λ), the AB
/// magnitude is m = −2.5 log10 F + const with
///
///     F = ∫ f_λ(λ / (1+z)) λ R(λ) dλ  /  ∫ R(λ) / λ dλ
///
/// (Fukugita et al. 1996; Hogg et al. 2002, astro-ph/0210394, eq. 8). The integrals run on a
/// uniform grid in ln λ (step 2×10⁻⁴, ≈ 1 Å at 5000 Å), where redshifting is a shift of the
/// template by ln(1+z); F is tabulated for every template and band on a 0.002 grid in
/// ln(1+z) up to z = 1 and interpolated. Templates are normalised to F_r = 1 at z = 0, and a
/// type t between templates k and k+1 is the flux-linear mix (1−w)·T_k + w·T_{k+1}, w = t − k,
/// so the absolute r magnitude of a galaxy does not depend on how its type is interpolated.
public final class TemplatePhotometry: Sendable {
    /// Largest redshift tabulated.
    public static let maximumRedshift = 1.0
    static let lnStep = 2e-4
    static let zStride = 10               // table step in ln(1+z) = zStride · lnStep
    static let restMinimum = 1400.0, observedMaximum = 11_500.0

    /// Number of templates (types run from 0 to templateCount − 1).
    public let templateCount: Int
    private let table: [Double]           // (template, band, zIndex)
    private let zCount: Int
    private let starTable: [Double]       // (temperatureIndex, band), F at z = 0 normalised to F_r = 1
    static let starTemperatures = stride(from: 3000.0, through: 12_000.0, by: 100.0).map { $0 }

    /// Loads the bundled templates and curves and builds the tables (≈ 3 M multiply-adds).
    public init() throws {
        let filters = try Band.allCases.map { try SpectralLibrary.filter($0) }
        let templates = try SpectralLibrary.templateNames.map { try SpectralLibrary.template($0) }
        templateCount = templates.count
        let d = TemplatePhotometry.lnStep
        let u0 = log(TemplatePhotometry.restMinimum)
        let gridCount = Int((log(TemplatePhotometry.observedMaximum) - u0) / d) + 1
        let lambda = (0..<gridCount).map { exp(u0 + Double($0) * d) }
        // Per band: the weight λ² R(λ) d(ln λ) / ∫ R d(ln λ) on the grid, and its non-zero range.
        var weights: [[Double]] = [], ranges: [Range<Int>] = []
        for filter in filters {
            var w = lambda.map { filter($0) }
            let norm = w.reduce(0, +) * d
            for i in w.indices { w[i] = w[i] * lambda[i] * lambda[i] * d / norm }
            let first = w.firstIndex { $0 > 0 }!, last = w.lastIndex { $0 > 0 }!
            weights.append(w); ranges.append(first..<(last + 1))
        }
        let stride = TemplatePhotometry.zStride
        zCount = Int(log(1 + TemplatePhotometry.maximumRedshift) / (d * Double(stride))) + 2
        var flux = [Double](repeating: 0, count: templates.count * 5 * zCount)
        for (k, template) in templates.enumerated() {
            let rest = lambda.map { template($0) }
            for b in 0..<5 {
                for j in 0..<zCount {
                    let shift = j * stride
                    var sum = 0.0
                    for i in ranges[b] where i - shift >= 0 { sum += rest[i - shift] * weights[b][i] }
                    flux[(k * 5 + b) * zCount + j] = sum
                }
            }
            let r0 = flux[(k * 5 + Band.r.index) * zCount]
            for b in 0..<5 { for j in 0..<zCount { flux[(k * 5 + b) * zCount + j] /= r0 } }
        }
        table = flux
        var stars: [Double] = []
        for t in TemplatePhotometry.starTemperatures {
            // Planck f_λ ∝ λ⁻⁵ / (exp(hc/λkT) − 1), hc/k = 1.4388e8 Å K.
            let planck = lambda.map { l in pow(l, -5) / (exp(1.438_777e8 / (l * t)) - 1) }
            let f = (0..<5).map { b in ranges[b].reduce(0.0) { $0 + planck[$1] * weights[b][$1] } }
            stars.append(contentsOf: f.map { $0 / f[Band.r.index] })
        }
        starTable = stars
    }

    /// The bundled tables, built once per process.
    public static func standard() throws -> TemplatePhotometry {
        try cached.get()
    }
    private static let cached = Result { try TemplatePhotometry() }

    /// F_band(type, z): flux density of the type-t template observed at z, in units of its rest-frame r flux.
    public func flux(type: Double, z: Double, band: Band) -> Double {
        precondition(type >= 0 && type <= Double(templateCount - 1), "type \(type) outside [0, \(templateCount - 1)]")
        precondition(z >= 0 && z <= TemplatePhotometry.maximumRedshift, "redshift \(z) outside [0, 1]")
        let k = min(Int(type), templateCount - 2)
        let w = type - Double(k)
        let position = log(1 + z) / (TemplatePhotometry.lnStep * Double(TemplatePhotometry.zStride))
        let j = min(Int(position), zCount - 2)
        let v = position - Double(j)
        func at(_ template: Int) -> Double {
            let base = (template * 5 + band.index) * zCount + j
            return table[base] * (1 - v) + table[base + 1] * v
        }
        return at(k) * (1 - w) + at(k + 1) * w
    }

    /// Observed colour m_a − m_b of a type-t galaxy at redshift z (no Galactic reddening).
    public func colour(type: Double, z: Double, _ a: Band, _ b: Band) -> Double {
        -2.5 * log10(flux(type: type, z: z, band: a) / flux(type: type, z: z, band: b))
    }

    /// K-correction of `band` to the same rest-frame band: m = M + DM(z) + K(z) (Hogg et al. 2002, eq. 13).
    public func kCorrection(type: Double, z: Double, band: Band = .r) -> Double {
        -2.5 * log10(flux(type: type, z: z, band: band) / ((1 + z) * flux(type: type, z: 0, band: band)))
    }

    /// Apparent AB magnitudes (u, g, r, i, z, before Galactic extinction) of a galaxy of rest-frame
    /// absolute r magnitude `absoluteR` and type `type` at redshift `z`.
    public func apparentMagnitudes(absoluteR: Double, type: Double, z: Double, cosmology: Cosmology) -> [Double] {
        let base = absoluteR + cosmology.distanceModulus(z) + 2.5 * log10(1 + z)
        return Band.allCases.map { base - 2.5 * log10(flux(type: type, z: z, band: $0)) }
    }

    /// AB magnitudes of a blackbody star of temperature `temperature` (K) and r magnitude `r`.
    public func starMagnitudes(r: Double, temperature: Double) -> [Double] {
        let grid = TemplatePhotometry.starTemperatures
        let position = (min(max(temperature, grid[0]), grid[grid.count - 1]) - grid[0]) / 100
        let j = min(Int(position), grid.count - 2)
        let v = position - Double(j)
        return (0..<5).map { b in
            let f = starTable[j * 5 + b] * (1 - v) + starTable[(j + 1) * 5 + b] * v
            return r - 2.5 * log10(f)
        }
    }

    /// Name of the template nearest to a type value.
    public static func templateName(type: Double) -> String {
        let k = min(max(Int(type.rounded()), 0), SpectralLibrary.templateNames.count - 1)
        return SpectralLibrary.templateNames[k]
    }
}
