import Foundation

/// A flat ΛCDM cosmology: distances, distance modulus and comoving volume.
///
/// Distances come from a table of the comoving distance D_C(z) = (c/H0) ∫ dz / E(z),
/// E(z) = sqrt(Ωm (1+z)³ + ΩΛ), integrated with Simpson's rule on a 0.0005 grid up to
/// z = 2 and interpolated linearly (relative error < 1e-6 for z ≤ 2, Hogg 1999, astro-ph/9905116).
public struct Cosmology: Sendable {
    /// Hubble constant in km/s/Mpc.
    public let hubbleConstant: Double
    /// Matter density today; the dark-energy density is 1 − Ωm (flat).
    public let omegaMatter: Double
    /// The largest redshift the table covers.
    public static let maximumRedshift = 2.0
    private static let step = 0.0005
    private let comoving: [Double]   // (steps + 1), Mpc

    /// H0 = 70 km/s/Mpc, Ωm = 0.3, ΩΛ = 0.7: the cosmology of Shen et al. 2003 and of most SDSS work.
    public static let standard = Cosmology(hubbleConstant: 70, omegaMatter: 0.3)

    /// The speed of light in km/s.
    public static let speedOfLight = 299_792.458

    public init(hubbleConstant: Double, omegaMatter: Double) {
        self.hubbleConstant = hubbleConstant
        self.omegaMatter = omegaMatter
        let hubbleDistance = Cosmology.speedOfLight / hubbleConstant
        let n = Int((Cosmology.maximumRedshift / Cosmology.step).rounded())
        func inverseE(_ z: Double) -> Double {
            1 / (omegaMatter * pow(1 + z, 3) + (1 - omegaMatter)).squareRoot()
        }
        var table = [Double](repeating: 0, count: n + 1)
        var total = 0.0
        for k in 1...n {
            let z0 = Double(k - 1) * Cosmology.step, z1 = Double(k) * Cosmology.step
            total += (z1 - z0) / 6 * (inverseE(z0) + 4 * inverseE(0.5 * (z0 + z1)) + inverseE(z1))
            table[k] = hubbleDistance * total
        }
        comoving = table
    }

    /// Hubble parameter ratio E(z) = H(z)/H0.
    public func e(_ z: Double) -> Double {
        (omegaMatter * pow(1 + z, 3) + (1 - omegaMatter)).squareRoot()
    }

    /// Line-of-sight comoving distance in Mpc.
    public func comovingDistance(_ z: Double) -> Double {
        precondition(z >= 0 && z <= Cosmology.maximumRedshift, "redshift \(z) outside the table [0, 2]")
        let position = z / Cosmology.step
        let k = min(Int(position), comoving.count - 2)
        let w = position - Double(k)
        return comoving[k] * (1 - w) + comoving[k + 1] * w
    }

    /// Luminosity distance in Mpc.
    public func luminosityDistance(_ z: Double) -> Double { (1 + z) * comovingDistance(z) }

    /// Angular-diameter distance in Mpc.
    public func angularDiameterDistance(_ z: Double) -> Double { comovingDistance(z) / (1 + z) }

    /// Distance modulus 5 log10(D_L / 10 pc).
    public func distanceModulus(_ z: Double) -> Double {
        5 * log10(luminosityDistance(z)) + 25
    }

    /// Comoving volume per unit redshift and steradian, dV/dz/dΩ = (c/H0) D_C² / E(z), in Mpc³.
    public func comovingVolumeElement(_ z: Double) -> Double {
        let d = comovingDistance(z)
        return Cosmology.speedOfLight / hubbleConstant * d * d / e(z)
    }

    /// Physical size in kpc of one arcsecond at redshift z.
    public func kiloparsecsPerArcsecond(_ z: Double) -> Double {
        angularDiameterDistance(z) * 1000 * Double.pi / (180 * 3600)
    }
}
