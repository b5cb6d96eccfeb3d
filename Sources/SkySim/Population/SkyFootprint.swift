import Foundation

/// Positions inside an SDSS-like footprint and the Galactic reddening along them.
///
/// The footprint is a simplified SDSS Legacy area (Abazajian et al. 2009, ApJS 182, 543): 95 %
/// of objects in the northern Galactic cap box RA 120°–250°, Dec −3°–65°, 5 % on Stripe 82
/// (RA 310°–60°, Dec −1.25°–1.25°), uniform on the sphere within each. E(B−V) follows the
/// cosecant law of a plane-parallel dust layer with the scatter of the SFD98 map at high
/// latitude: E(B−V) = 0.022 · csc|b| · exp(0.6 ξ), ξ ~ N(0, 1), clipped to [0.003, 0.4]. Over
/// this footprint the median is ≈ 0.03, ≈ 97 % lie below 0.1 and the tail reaches ≈ 0.3,
/// like the `extinction_r / 2.751` of the SDSS Main Galaxy Sample.
enum SkyFootprint {
    /// Draws (RA, Dec) in degrees.
    static func position(_ random: inout SimRandom) -> (ra: Double, dec: Double) {
        if random.uniform() < 0.95 {
            return (random.uniform(120, 250), uniformDeclination(-3, 65, &random))
        }
        let ra = (random.uniform(310, 420)).truncatingRemainder(dividingBy: 360)
        return (ra, uniformDeclination(-1.25, 1.25, &random))
    }

    private static func uniformDeclination(_ low: Double, _ high: Double, _ random: inout SimRandom) -> Double {
        let s0 = sin(low * .pi / 180), s1 = sin(high * .pi / 180)
        return asin(random.uniform(s0, s1)) * 180 / .pi
    }

    /// Galactic latitude in degrees of a J2000 position (north Galactic pole at RA 192.85948°, Dec 27.12825°).
    static func galacticLatitude(ra: Double, dec: Double) -> Double {
        let d = Double.pi / 180
        let poleRA = 192.859_48 * d, poleDec = 27.128_25 * d
        let s = sin(dec * d) * sin(poleDec) + cos(dec * d) * cos(poleDec) * cos(ra * d - poleRA)
        return asin(max(-1, min(1, s))) / d
    }

    /// Draws E(B−V) in magnitudes for a line of sight.
    static func reddening(ra: Double, dec: Double, _ random: inout SimRandom) -> Double {
        let b = abs(galacticLatitude(ra: ra, dec: dec))
        let cosecant = 1 / sin(max(b, 10) * .pi / 180)
        return min(0.4, max(0.003, 0.022 * cosecant * exp(0.6 * random.normal())))
    }
}
