import Foundation
import PhotoZData
import Testing
@testable import SkySim

/// The drawn population looks like the SDSS Main Galaxy Sample, and draws are reproducible.
@Suite struct PopulationTests {
    static let truths: [GalaxyTruth] = {
        let simulator = try! SkySimulator(config: SimulationConfig(count: 1, seed: 3))
        return (0..<1500).map { simulator.truth(index: $0) }
    }()

    @Test func redshiftsFollowTheMainGalaxySample() {
        let z = Self.truths.map(\.z)
        let middle = median(z)
        #expect(middle > 0.085 && middle < 0.115, "median z \(middle); the SDSS MGS has ≈ 0.10")
        #expect(z.allSatisfy { $0 > 0 && $0 < 0.4 })
        #expect(Self.truths.allSatisfy { $0.petrosianR <= 17.77 }, "every galaxy obeys the MGS limit r_petro ≤ 17.77")
        let fraction = Double(z.filter { $0 > 0.2 }.count) / Double(z.count)
        #expect(fraction > 0.01 && fraction < 0.1, "fraction above z = 0.2: \(fraction)")
    }

    @Test func earlyTypesDominateAtBrightMagnitudesAndHighRedshift() {
        func earlyFraction(_ sample: [GalaxyTruth]) -> Double {
            Double(sample.filter { $0.type < 0.6 }.count) / Double(max(1, sample.count))
        }
        let bright = Self.truths.filter { $0.absoluteMagnitudeR < -22 }, faint = Self.truths.filter { $0.absoluteMagnitudeR > -20 }
        #expect(earlyFraction(bright) > earlyFraction(faint) + 0.3, "early fraction bright \(earlyFraction(bright)), faint \(earlyFraction(faint))")
        let near = Self.truths.filter { $0.z < 0.06 }, far = Self.truths.filter { $0.z > 0.15 }
        #expect(earlyFraction(far) > earlyFraction(near) + 0.15, "early fraction z>0.15 \(earlyFraction(far)), z<0.06 \(earlyFraction(near))")
        #expect(Self.truths.contains { $0.type > 3 }, "some irregular / starburst galaxies")
    }

    @Test func reddeningIsMostlyBelowATenthWithATail() {
        let ebv = Self.truths.map(\.ebv)
        let below = Double(ebv.filter { $0 < 0.1 }.count) / Double(ebv.count)
        #expect(below > 0.93, "fraction with E(B−V) < 0.1: \(below)")
        #expect(median(ebv) > 0.015 && median(ebv) < 0.045, "median E(B−V) \(median(ebv))")
        #expect(ebv.max()! > 0.15 && ebv.max()! <= 0.4, "largest E(B−V) \(ebv.max()!)")
        for truth in Self.truths.prefix(20) {
            #expect(abs(truth.extinction[Band.g.index] - 3.793 * truth.ebv) < 1e-12, "SFD98 A_g = 3.793 E(B−V)")
        }
    }

    @Test func sizesAndPositionsAreSDSSLike() {
        let r50 = Self.truths.map(\.morphology.halfLightRadius)
        #expect(median(r50) > 1.5 && median(r50) < 3.5, "median R50 \(median(r50))″ (MGS: ≈ 2″)")
        let seeing = Self.truths.map { $0.seeing[Band.r.index] }
        #expect(abs(median(seeing) - 1.4) < 0.05)
        #expect(Self.truths.allSatisfy { $0.seeing[Band.u.index] > $0.seeing[Band.z.index] })
        #expect(Self.truths.allSatisfy { ($0.ra >= 120 && $0.ra <= 250 && $0.dec >= -3 && $0.dec <= 65) || abs($0.dec) <= 1.25 })
        #expect(Set(Self.truths.map(\.objectID)).count == Self.truths.count)
        #expect(Self.truths.allSatisfy { $0.objectID > 0 })
        let withNeighbours = Double(Self.truths.filter { !$0.neighbours.isEmpty }.count) / Double(Self.truths.count)
        #expect(withNeighbours > 0.3 && withNeighbours < 0.9, "fraction of stamps with neighbours \(withNeighbours)")
        #expect(Self.truths.contains { $0.neighbours.contains { $0.kind == .star } })
        #expect(Self.truths.contains { $0.neighbours.contains { $0.kind == .companion } })
    }

    @Test func objectsAreDeterminedBySeedAndIndex() throws {
        let a = try SkySimulator(config: SimulationConfig(count: 1, seed: 42))
        let b = try SkySimulator(config: SimulationConfig(count: 1, seed: 42))
        let c = try SkySimulator(config: SimulationConfig(count: 1, seed: 43))
        let first = a.galaxy(index: 7), again = b.galaxy(index: 7)
        #expect(first.truth == again.truth)
        #expect(first.image == again.image)
        #expect(c.galaxy(index: 7).truth.z != first.truth.z)
        // Turning noise or neighbours off keeps the galaxy itself.
        let quiet = try SkySimulator(config: SimulationConfig(count: 1, seed: 42, noise: false, neighbours: false))
        let truth = quiet.truth(index: 7)
        #expect(truth.z == first.truth.z && truth.morphology == first.truth.morphology && truth.neighbours.isEmpty)
    }

    @Test func badConfigurationsAreRejected() {
        #expect(throws: SimulationError.self) { try SimulationConfig(count: 0).validate() }
        #expect(throws: SimulationError.self) { try SimulationConfig(count: -3).validate() }
        #expect(throws: SimulationError.self) { try SimulationConfig(count: 5, size: 8).validate() }
        #expect(throws: SimulationError.self) { try SimulationConfig(count: 5, fixedType: 7).validate() }
        #expect(throws: Never.self) { try SimulationConfig(count: 5, size: 16).validate() }
    }
}
