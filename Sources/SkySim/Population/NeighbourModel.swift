import Foundation
import PhotoZData

/// Other sources in a stamp, as real SDSS cutouts have them.
///
/// - Field galaxies: Poisson with the SDSS r-band counts, N(< r) = 10⁴ deg⁻² · 10^{0.45 (r − 22)}
///   for 15 ≤ r ≤ 22.5 (Yasuda et al. 2001, AJ 122, 1104), ≈ 0.8 per 64² stamp; redshift
///   log-normal around 0.1 · 10^{0.2 (r − 17.5)} (σ_ln 0.35, the median z of faint counts);
///   type early with probability 0.3; shapes from the same relations as the central galaxy.
/// - Companions: with probability 0.1 a galaxy at the central one's redshift (plus a 200 km/s
///   velocity offset), 0.3–3 mag fainter, 6–25 pixels away — pairs as in SDSS close-pair studies.
/// - Stars: Poisson, 3000 deg⁻² for 14 ≤ r ≤ 22 at high Galactic latitude with
///   dN/dr ∝ 10^{0.12 r}, blackbody colours with T ≈ 5500 K (55 %, G/K dwarfs of the halo)
///   or ≈ 3600 K (M dwarfs of the disk).
/// Positions are uniform over the stamp grown by 4 pixels, at least 5 pixels from the centre.
struct NeighbourModel: Sendable {
    let population: GalaxyPopulation
    let stampSize: Int
    let pixelScale: Double

    /// Stamp area in deg² including the 4-pixel border.
    private var area: Double {
        let side = Double(stampSize + 8) * pixelScale / 3600
        return side * side
    }

    func draw(around main: GalaxyPopulation.Draw, extinction: [Double], _ random: inout SimRandom) -> [Neighbour] {
        var result: [Neighbour] = []
        let photometry = population.photometry, cosmology = population.cosmology
        let fieldCount = random.poisson(1e4 * (pow(10, 0.45 * 0.5) - pow(10, 0.45 * -7.0)) * area)
        for _ in 0..<fieldCount {
            // Inverse CDF of dN/dm ∝ 10^{0.45 m} on [15, 22.5].
            let a = pow(10, 0.45 * 15.0), b = pow(10, 0.45 * 22.5)
            let r = log10(a + (b - a) * random.uniform()) / 0.45
            let z = min(0.9, max(0.02, 0.1 * pow(10, 0.2 * (r - 17.5)) * exp(0.35 * random.normal())))
            let early = random.uniform() < 0.3
            let type = early ? random.uniform(0, 0.6) : random.clippedNormal(1.8, 0.9, 0.6, 5)
            let bulge = population.drawBulgeFraction(type: type, &random)
            let m = r - cosmology.distanceModulus(z) - photometry.kCorrection(type: type, z: z)
            let shape = population.drawMorphology(absoluteR: m, z: z, early: early, bulgeFraction: bulge, &random)
            let magnitudes = photometry.apparentMagnitudes(absoluteR: m, type: type, z: z, cosmology: cosmology)
            let (x, y) = position(&random)
            result.append(Neighbour(kind: .galaxy, x: x, y: y, magnitudes: zip(magnitudes, extinction).map { $0 + $1 },
                                    z: z, type: type, morphology: shape))
        }
        if random.uniform() < 0.1 {
            let z = min(0.45, max(0.002, main.z + 200 / Cosmology.speedOfLight * (1 + main.z) * random.normal()))
            let m = main.absoluteR + random.uniform(0.3, 3)
            let (type, early) = population.drawType(absoluteR: m, z: z, &random)
            let bulge = population.drawBulgeFraction(type: type, &random)
            let shape = population.drawMorphology(absoluteR: m, z: z, early: early, bulgeFraction: bulge, &random)
            let magnitudes = photometry.apparentMagnitudes(absoluteR: m, type: type, z: z, cosmology: cosmology)
            let radius = random.uniform(6, 25), angle = random.uniform(0, 2 * .pi)
            result.append(Neighbour(kind: .companion, x: radius * cos(angle), y: radius * sin(angle),
                                    magnitudes: zip(magnitudes, extinction).map { $0 + $1 },
                                    z: z, type: type, morphology: shape))
        }
        let starCount = random.poisson(3000 * area)
        for _ in 0..<starCount {
            let a = pow(10, 0.12 * 14.0), b = pow(10, 0.12 * 22.0)
            let r = log10(a + (b - a) * random.uniform()) / 0.12
            let temperature = random.uniform() < 0.55
                ? random.clippedNormal(5500, 600, 4000, 8000) : random.clippedNormal(3600, 300, 3000, 4200)
            let magnitudes = photometry.starMagnitudes(r: r, temperature: temperature)
            let (x, y) = position(&random)
            result.append(Neighbour(kind: .star, x: x, y: y, magnitudes: zip(magnitudes, extinction).map { $0 + $1 },
                                    z: 0, type: 0, morphology: nil))
        }
        return result
    }

    /// A uniform position over the grown stamp, at least 5 pixels from the centre.
    private func position(_ random: inout SimRandom) -> (Double, Double) {
        let half = Double(stampSize) / 2 + 4
        while true {
            let x = random.uniform(-half, half), y = random.uniform(-half, half)
            if x * x + y * y >= 25 { return (x, y) }
        }
    }
}
