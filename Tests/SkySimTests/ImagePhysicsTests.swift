import Foundation
import PhotoZData
import Testing
@testable import SkySim

/// The images carry the physics the catalog claims: fluxes, colours, reddening and noise.
@Suite struct ImagePhysicsTests {
    @Test func isolatedNoiselessGalaxiesHoldTheirCatalogFlux() throws {
        let simulator = try SkySimulator(config: SimulationConfig(count: 1, seed: 11, size: 128, noise: false, neighbours: false))
        var checked = 0
        for index in 0..<40 where checked < 8 {
            let truth = simulator.truth(index: index)
            // A 128-pixel (50″) stamp holds the truncated profile (8 R_e bulge, 4 R_e disk) of galaxies with R50 < 2.5″.
            guard truth.morphology.halfLightRadius < 2.5 else { continue }
            let image = simulator.render(truth)
            for band in Band.allCases {
                let expected = Survey.nanomaggies(magnitude: truth.magnitudes[band.index])
                let measured = bandFlux(image, size: 128, band)
                #expect(abs(measured / expected - 1) < 0.01,
                        "object \(index) \(band): \(measured) nmgy against \(expected) (R50 \(truth.morphology.halfLightRadius)″, B/T \(truth.morphology.bulgeFraction))")
            }
            checked += 1
        }
        #expect(checked == 8)
    }

    @Test func compactBulgesAreIntegratedOverPixels() {
        // A de Vaucouleurs profile with R_e of a fraction of a pixel: the central pixels need sub-sampling.
        for radius in [0.1, 0.2, 0.4, 1.0] {
            let shape = GalaxyMorphology(bulgeFraction: 1, halfLightRadius: radius, bulgeRadius: radius, diskRadius: radius,
                                         bulgeAxisRatio: 0.7, diskAxisRatio: 1, positionAngle: 30)
            let rasterizer = ProfileRasterizer(width: 48, height: 48, pixelScale: Survey.pixelScale)
            var image = [Double](repeating: 0, count: 48 * 48)
            rasterizer.add(shape, centreX: 24, centreY: 24, flux: 1, fine: true, into: &image)
            let total = image.reduce(0, +)
            #expect(abs(total - 1) < 0.005, "R_e \(radius)″: rendered flux \(total)")
        }
    }

    @Test func emptySkyNoiseFollowsTheSDSSFrameModel() throws {
        let noisy = try SkySimulator(config: SimulationConfig(count: 1, seed: 5, neighbours: false))
        var normalised = [[Double]](repeating: [], count: 5)
        for index in 0..<6 {
            let truth = noisy.truth(index: index)
            let image = noisy.render(truth), model = noisy.render(truth, noise: false)
            for band in Band.allCases {
                let sigma = noisy.skySigma(truth, band: band)
                let offset = band.index * 64 * 64
                for k in 0..<(64 * 64) where abs(Double(model[offset + k])) < 0.01 * sigma {
                    normalised[band.index].append(Double(image[offset + k]) / sigma)
                }
            }
        }
        for band in Band.allCases {
            let values = normalised[band.index]
            #expect(values.count > 3000, "\(band): only \(values.count) empty-sky pixels")
            let mean = values.reduce(0, +) / Double(values.count)
            let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
            #expect(abs(std - 1) < 0.04, "\(band): empty-sky std / model sigma = \(std)")
            #expect(abs(mean) < 0.05, "\(band): empty-sky mean / sigma = \(mean)")
        }
        // The model itself, computed by hand from photoField-002583-2 (field 136) r: sky 5.2555 nmgy/″²,
        // NMGYPERCOUNT 0.00546689, GAIN 4.6, DARK_VARIANCE 1.
        let skyCounts = 5.255_544_7 * 0.396 * 0.396 / 0.005_466_89
        let expected = (skyCounts / 4.6 + 1).squareRoot() * 0.005_466_89
        #expect(abs(NoiseModel.sdssField2583.sigma(.r) - expected) < 1e-9)
        #expect(abs(expected - 0.0318) < 0.0005)
    }

    @Test func reddeningChangesColoursByTheCoefficientDifferences() throws {
        // Zero coefficients: the same sky without Galactic extinction.
        let none = try JSONDecoder().decode(ExtinctionCoefficients.self, from: Data(#"{"name":"none","values":[0,0,0,0,0]}"#.utf8))
        let reddened = try SkySimulator(config: SimulationConfig(count: 1, seed: 21, noise: false, neighbours: false))
        let clear = try SkySimulator(config: SimulationConfig(count: 1, seed: 21, extinction: none, noise: false, neighbours: false))
        for index in 0..<5 {
            let a = reddened.galaxy(index: index), b = clear.galaxy(index: index)
            #expect(a.truth.ebv == b.truth.ebv && a.truth.z == b.truth.z)
            for (x, y) in [(Band.u, Band.g), (.g, .r), (.r, .i), (.i, .z)] {
                let colourA = -2.5 * log10(bandFlux(a.image, size: 64, x) / bandFlux(a.image, size: 64, y))
                let colourB = -2.5 * log10(bandFlux(b.image, size: 64, x) / bandFlux(b.image, size: 64, y))
                let expected = (ExtinctionCoefficients.sfd98.coefficient(x) - ExtinctionCoefficients.sfd98.coefficient(y)) * a.truth.ebv
                #expect(abs((colourA - colourB) - expected) < 0.002,
                        "object \(index) \(x)-\(y): Δcolour \(colourA - colourB), (A_\(x)−A_\(y))·E(B−V) = \(expected)")
            }
        }
    }

    @Test func ellipticalGMinusRRisesWithRedshiftAsTheTemplateSays() throws {
        // All-El sky: as the 4000 Å break moves from g (z ≈ 0) towards r (z ≈ 0.4) g − r reddens.
        let simulator = try SkySimulator(config: SimulationConfig(count: 1, seed: 8, noise: false, neighbours: false, fixedType: 0))
        var bins: [[Double]] = [[], [], []], redshifts: [[Double]] = [[], [], []]
        let edges = [0.0, 0.07, 0.13, 0.4]
        for index in 0..<90 {
            let truth = simulator.truth(index: index)
            guard let bin = (0..<3).first(where: { truth.z >= edges[$0] && truth.z < edges[$0 + 1] }), bins[bin].count < 10 else { continue }
            let image = simulator.render(truth)
            let observed = -2.5 * log10(bandFlux(image, size: 64, .g) / bandFlux(image, size: 64, .r))
            let dereddened = observed - (ExtinctionCoefficients.sfd98.coefficient(.g) - ExtinctionCoefficients.sfd98.coefficient(.r)) * truth.ebv
            bins[bin].append(dereddened - ReferencePhotometry.colour(template: "El", z: truth.z, .g, .r))
            redshifts[bin].append(truth.z)
        }
        var medians: [Double] = []
        for bin in 0..<3 {
            #expect(bins[bin].count >= 5, "bin \(bin) has \(bins[bin].count) galaxies")
            let zMedian = median(redshifts[bin])
            let templateColour = ReferencePhotometry.colour(template: "El", z: zMedian, .g, .r)
            medians.append(templateColour + median(bins[bin]))
            // Measured from the images against the colour integrated directly from El and the curves.
            #expect(abs(median(bins[bin])) < 0.01, "bin \(bin): image g−r differs from the template by \(median(bins[bin]))")
        }
        #expect(medians[0] < medians[1] && medians[1] < medians[2], "median g−r by z bin: \(medians)")
        #expect(medians[2] - medians[0] > 0.2, "g−r should redden by > 0.2 mag from z≈0.05 to z≈0.17: \(medians)")
    }
}
