import Foundation
import PhotoZData
import Testing
@testable import SkySim

@Suite struct PhotometryTests {
    @Test func bundledSpectraAreIdenticalToCatalogs() throws {
        let fileManager = FileManager.default
        for folder in ["filters", "seds"] {
            let source = packageRoot + "/catalogs/" + folder, bundled = packageRoot + "/Sources/SkySim/Resources/" + folder
            let names = try fileManager.contentsOfDirectory(atPath: source).sorted()
            #expect(try fileManager.contentsOfDirectory(atPath: bundled).sorted() == names,
                    "Sources/SkySim/Resources/\(folder) must hold exactly the files of catalogs/\(folder)")
            for name in names {
                #expect(fileManager.contentsEqual(atPath: source + "/" + name, andPath: bundled + "/" + name),
                        "\(folder)/\(name) differs between catalogs/ and Sources/SkySim/Resources/")
            }
        }
    }

    @Test func templateColoursMatchAnIndependentIntegration() throws {
        let photometry = try TemplatePhotometry.standard()
        for (type, name) in [(0.0, "El"), (1.0, "Sbc"), (3.0, "Im")] {
            for z in [0.0, 0.1, 0.25, 0.4] {
                for (a, b) in [(Band.u, Band.g), (.g, .r), (.r, .i), (.i, .z)] {
                    let reference = ReferencePhotometry.colour(template: name, z: z, a, b)
                    let simulated = photometry.colour(type: type, z: z, a, b)
                    #expect(abs(simulated - reference) < 0.01, "\(name) z=\(z) \(a)-\(b): \(simulated) vs \(reference)")
                }
            }
        }
    }

    @Test func kCorrectionIsZeroAtRestAndPositiveForEllipticals() throws {
        let photometry = try TemplatePhotometry.standard()
        #expect(abs(photometry.kCorrection(type: 0, z: 0)) < 1e-9)
        // Elliptical r-band K-corrections are ≈ 0.1–0.2 mag at z = 0.1 (e.g. Blanton & Roweis 2007).
        let k = photometry.kCorrection(type: 0, z: 0.1)
        #expect(k > 0.05 && k < 0.3, "K_r(El, 0.1) = \(k)")
    }

    @Test func sersicProfilesAreNormalisedAndHalfLightRadiiSolve() {
        // Untruncated exponential: ∫ e^{-b(x-1)} 2πx dx = 2π e^b / b²; truncation at 3–4 R_e removes ≈ 3 %.
        let exponential = SersicProfile.exponential
        let untruncated = 2 * Double.pi * exp(exponential.b) / (exponential.b * exponential.b)
        #expect(exponential.totalFlux < untruncated && exponential.totalFlux > 0.95 * untruncated)
        #expect(abs(exponential.enclosedFraction(1) - 0.5 * untruncated / exponential.totalFlux) < 2e-3)
        for fraction in [0.0, 0.3, 0.8, 1.0] {
            let radii = componentRadii(halfLightRadius: 2, bulgeFraction: fraction, bulgeToDiskRadius: 0.35)
            let inside = fraction * SersicProfile.deVaucouleurs.enclosedFraction(2 / radii.bulge)
                + (1 - fraction) * exponential.enclosedFraction(2 / radii.disk)
            #expect(abs(inside - 0.5) < 1e-3, "B/T \(fraction): \(inside) of the light inside R50")
        }
    }

    @Test func psfEffectiveWidthIsTheRequestedSeeing() {
        for fwhm in [1.0, 1.4, 2.0] {
            let psf = PointSpreadFunction(fwhm: fwhm)
            // n_eff = 1 / Σ P² over a fine grid, FWHM_eff = 2.3548 sqrt(n_eff / 4π) (SDSS PSF_WIDTH).
            var sum = 0.0, sumSquares = 0.0
            let step = 0.05
            for iy in -400...400 { for ix in -400...400 {
                let r2 = pow(Double(ix) * step, 2) + pow(Double(iy) * step, 2)
                let p = (1 - psf.wideFraction) * exp(-r2 / (2 * psf.sigmaCore * psf.sigmaCore)) / (2 * .pi * psf.sigmaCore * psf.sigmaCore)
                    + psf.wideFraction * exp(-r2 / (2 * psf.sigmaWide * psf.sigmaWide)) / (2 * .pi * psf.sigmaWide * psf.sigmaWide)
                sum += p * step * step
                sumSquares += p * p * step * step
            } }
            let measured = 2.354_82 * (1 / sumSquares / (4 * .pi)).squareRoot() * Survey.pixelScale
            #expect(abs(sum - 1) < 1e-3)
            #expect(abs(measured - fwhm) < 0.01 * fwhm, "FWHM \(fwhm): measured \(measured)")
        }
        #expect(PointSpreadFunction.seeing(1.4, in: .u) > PointSpreadFunction.seeing(1.4, in: .z))
    }
}
