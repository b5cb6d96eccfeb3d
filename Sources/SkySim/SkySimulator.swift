import Foundation
import PhotoZData

/// Simulates SDSS-like galaxy stamps one object at a time, in memory.
///
/// `truth(index:)` decides everything about object `index` from streams seeded by
/// (config.seed, index); `render(_:)` draws its (5, size, size) image in nanomaggies; both are
/// pure functions of the configuration and the index, and safe to call from any thread.
///
///     let simulator = try SkySimulator(config: SimulationConfig(count: 10, seed: 7))
///     let galaxy = simulator.galaxy(index: 3)     // galaxy.truth.z, galaxy.image
public final class SkySimulator: Sendable {
    public let config: SimulationConfig
    public let cosmology: Cosmology
    public let photometry: TemplatePhotometry
    let population: GalaxyPopulation
    let neighbourModel: NeighbourModel
    let renderer: StampRenderer

    /// Builds the simulator; throws when the configuration is invalid or the bundled spectra are unreadable.
    public init(config: SimulationConfig) throws {
        try config.validate()
        self.config = config
        cosmology = .standard
        photometry = try TemplatePhotometry.standard()
        population = GalaxyPopulation(cosmology: cosmology, photometry: photometry, fixedType: config.fixedType)
        neighbourModel = NeighbourModel(population: population, stampSize: config.size, pixelScale: Survey.pixelScale)
        renderer = StampRenderer(size: config.size, pixelScale: Survey.pixelScale, noiseModel: config.noiseModel)
    }

    /// SDSS-style identifier of object `index`: 1237650000000000000 + index.
    public static func objectID(index: Int) -> Int64 { 1_237_650_000_000_000_000 + Int64(index) }

    /// Draws the truth of object `index` (redshift, type, photometry, shape, observing conditions, neighbours).
    public func truth(index: Int) -> GalaxyTruth {
        precondition(index >= 0, "object index must be non-negative")
        var random = SimRandom(seed: config.seed, index: index, stream: .truth)
        let draw = population.drawSelected(&random)
        let (ra, dec) = SkyFootprint.position(&random)
        let ebv = SkyFootprint.reddening(ra: ra, dec: dec, &random)
        let extinction = config.extinction.values.map { $0 * ebv }
        let morphology = population.drawMorphology(absoluteR: draw.absoluteR, z: draw.z, early: draw.early,
                                                   bulgeFraction: draw.bulgeFraction, &random)
        let seeingR = min(2.6, max(0.8, config.medianSeeing * exp(0.15 * random.normal())))
        let skyScale = min(1.6, max(0.7, exp(0.12 * random.normal())))
        let zErr = 1e-4 * (1 + draw.z) * exp(0.3 * random.normal())     // ≈ 30 km/s, SDSS DR7 spectra
        var neighbours: [Neighbour] = []
        if config.neighbours {
            var neighbourRandom = SimRandom(seed: config.seed, index: index, stream: .neighbours)
            neighbours = neighbourModel.draw(around: draw, extinction: extinction, &neighbourRandom)
        }
        return GalaxyTruth(
            index: index, objectID: SkySimulator.objectID(index: index), ra: ra, dec: dec,
            z: draw.z, zErr: zErr, ebv: ebv, type: draw.type, absoluteMagnitudeR: draw.absoluteR,
            magnitudes: zip(draw.magnitudes, extinction).map { $0 + $1 }, extinction: extinction,
            petrosianR: draw.petrosianR, morphology: morphology,
            seeing: Band.allCases.map { PointSpreadFunction.seeing(seeingR, in: $0) },
            skyScale: skyScale, neighbours: neighbours)
    }

    /// Renders the (5, size, size) image of a truth; `noise` defaults to the configuration's.
    public func render(_ truth: GalaxyTruth, noise: Bool? = nil) -> [Float] {
        var random = SimRandom(seed: config.seed, index: truth.index, stream: .noise)
        return renderer.render(truth, noise: noise ?? config.noise, random: &random)
    }

    /// Object `index`: its truth and image.
    public func galaxy(index: Int) -> SimulatedGalaxy {
        let truth = truth(index: index)
        return SimulatedGalaxy(truth: truth, image: render(truth), size: config.size)
    }

    /// Standard deviation in nanomaggies of an empty-sky pixel of `truth`'s stamp in `band`.
    public func skySigma(_ truth: GalaxyTruth, band: Band) -> Double {
        config.noiseModel.sigma(band, skyScale: truth.skyScale)
    }
}
