import Foundation

/// A truncated Sérsic surface-brightness profile in units of its half-light radius.
///
/// I(x) = exp(−b_n (x^{1/n} − 1)) · taper(x), x = R / R_e, with the SDSS photo pipeline's
/// truncations: the de Vaucouleurs (n = 4) profile goes smoothly to zero between 7 and 8 R_e,
/// the exponential (n = 1) between 3 and 4 R_e (SDSS DR7 "Algorithms: model magnitudes";
/// Stoughton et al. 2002, AJ 123, 485). The taper is (1 − s²)², s = (x − x₁)/(x₂ − x₁).
/// `R_e` is the half-light radius of the untruncated profile; `normalisation` makes the
/// truncated profile's total flux exactly one (computed once by numerical integration).
public struct SersicProfile: Sendable {
    /// Sérsic index.
    public let n: Double
    /// b_n such that R_e encloses half the light of the untruncated profile.
    public let b: Double
    /// Start and end of the truncation taper, in units of R_e.
    public let taperStart: Double, taperEnd: Double
    /// ∫₀^∞ I(x) 2π x dx of the truncated profile: the flux of a profile with R_e = 1 and I(1) = 1.
    public let totalFlux: Double
    private let enclosed: [Double]        // cumulative flux fraction on a uniform grid in x
    private static let enclosedSteps = 4000

    /// The de Vaucouleurs bulge profile (n = 4, b = 7.669249, truncated 7–8 R_e).
    public static let deVaucouleurs = SersicProfile(n: 4, b: 7.669_249, taperStart: 7, taperEnd: 8)
    /// The exponential disk profile (n = 1, b = 1.678347, truncated 3–4 R_e).
    public static let exponential = SersicProfile(n: 1, b: 1.678_347, taperStart: 3, taperEnd: 4)

    init(n: Double, b: Double, taperStart: Double, taperEnd: Double) {
        self.n = n
        self.b = b
        self.taperStart = taperStart
        self.taperEnd = taperEnd
        // Integrate I(x) 2πx dx in u = x^{1/n} (x = uⁿ, dx = n u^{n−1} du), where the integrand
        // n uⁿ u^{n−1} e^{−b(u−1)} is smooth, with Simpson's rule; record the cumulative flux on
        // a grid in x for half-light radii of bulge+disk mixtures.
        let steps = 200_000
        let uEnd = pow(taperEnd, 1 / n)
        let du = uEnd / Double(steps)
        func integrand(_ u: Double) -> Double {
            let x = pow(u, n)
            return 2 * Double.pi * n * pow(u, 2 * n - 1) * exp(-b * (u - 1)) * SersicProfile.taper(x, taperStart, taperEnd)
        }
        var cumulativeU = [Double](repeating: 0, count: steps + 1)
        var total = 0.0
        for k in 1...steps {
            let u0 = Double(k - 1) * du
            total += du / 6 * (integrand(u0) + 4 * integrand(u0 + du / 2) + integrand(u0 + du))
            cumulativeU[k] = total
        }
        totalFlux = total
        let m = SersicProfile.enclosedSteps
        enclosed = (0...m).map { i in
            let x = Double(i) / Double(m) * taperEnd
            let position = pow(x, 1 / n) / du
            let k = min(Int(position), steps - 1)
            let w = position - Double(k)
            return (cumulativeU[k] * (1 - w) + cumulativeU[k + 1] * w) / total
        }
    }

    static func taper(_ x: Double, _ start: Double, _ end: Double) -> Double {
        if x <= start { return 1 }
        if x >= end { return 0 }
        let s = (x - start) / (end - start)
        return (1 - s * s) * (1 - s * s)
    }

    /// Surface brightness at x = R / R_e, with I(1) = 1 before truncation.
    @inline(__always)
    public func intensity(_ x: Double) -> Double {
        if x >= taperEnd { return 0 }
        let root = n == 4 ? (x.squareRoot()).squareRoot() : (n == 1 ? x : pow(x, 1 / n))
        let value = exp(-b * (root - 1))
        return x <= taperStart ? value : value * SersicProfile.taper(x, taperStart, taperEnd)
    }

    /// Fraction of the truncated profile's flux inside x = R / R_e (circular, or elliptical in
    /// the circularised radius).
    public func enclosedFraction(_ x: Double) -> Double {
        if x >= taperEnd { return 1 }
        let position = max(0, x) / taperEnd * Double(SersicProfile.enclosedSteps)
        let k = min(Int(position), SersicProfile.enclosedSteps - 1)
        let w = position - Double(k)
        return enclosed[k] * (1 - w) + enclosed[k + 1] * w
    }
}

/// The half-light radius of a bulge + disk: solves for the disk radius given the bulge-to-disk
/// radius ratio, so that the sum of both truncated profiles encloses half its light at `r50`.
public func componentRadii(halfLightRadius r50: Double, bulgeFraction: Double, bulgeToDiskRadius ratio: Double)
    -> (bulge: Double, disk: Double)
{
    precondition(r50 > 0 && bulgeFraction >= 0 && bulgeFraction <= 1 && ratio > 0, "bad bulge/disk parameters")
    let bulge = SersicProfile.deVaucouleurs, disk = SersicProfile.exponential
    // f(s) = flux fraction inside r50 when the disk has R_e = s (bulge R_e = ratio·s); decreasing in s.
    func fraction(_ s: Double) -> Double {
        bulgeFraction * bulge.enclosedFraction(r50 / (ratio * s)) + (1 - bulgeFraction) * disk.enclosedFraction(r50 / s)
    }
    var low = r50 * 1e-3, high = r50 * 1e3
    for _ in 0..<60 {
        let mid = (low * high).squareRoot()
        if fraction(mid) > 0.5 { low = mid } else { high = mid }
    }
    let s = (low * high).squareRoot()
    return (ratio * s, s)
}
