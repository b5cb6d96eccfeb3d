import Foundation
import Testing
@testable import PhotoZ

@Suite struct MetricsTests {
    @Test func metricsFollowTheirDefinitions() {
        // Δz = (zp − zs)/(1 + zs): 0.01, −0.02, 0.0, 0.1 (outlier), 0.03.
        let zs: [Float] = [0, 0, 0, 0, 0]
        let zp: [Float] = [0.01, -0.02, 0.0, 0.1, 0.03]
        let m = PhotoZMetrics(zPhot: zp, zSpec: zs)
        #expect(m.count == 5)
        #expect(abs(m.bias - 0.024) < 1e-7)
        #expect(abs(m.medianBias - 0.01) < 1e-7)
        // |Δz − 0.01| = 0, 0.03, 0.01, 0.09, 0.02 → median 0.02.
        #expect(abs(m.sigmaMAD - 1.4826 * 0.02) < 1e-7)
        #expect(abs(m.outlierPercent - 20) < 1e-9)
        // (1 + z_spec) scaling.
        let scaled = PhotoZMetrics(zPhot: [1.1], zSpec: [1.0])
        #expect(abs(scaled.bias - 0.05) < 1e-6)
    }

    @Test func pitAndCRPSOfAPerfectlyCalibratedUniformPDF() {
        // One PDF uniform over [0, 0.4]: PIT of z is z/0.4; CRPS is ∫(F−H)² = a³/3b² + (b−a)³/3b² for z = a, b = 0.4.
        let edges = (0...4).map { Double($0) * 0.1 }
        let pdf: [Float] = [0.25, 0.25, 0.25, 0.25]
        let m = PDFMetrics(pdfs: pdf, edges: edges, zSpec: [0.1], pitBins: 4)
        #expect(m.pitHistogram == [0, 1, 0, 0])
        let a = 0.1, b = 0.4
        #expect(abs(m.meanCRPS - (a * a * a + (b - a) * (b - a) * (b - a)) / (3 * b * b)) < 1e-9)
        // A delta-like PDF at the true value has CRPS ≈ bin width / 3 at most.
        let sharp = PDFMetrics(pdfs: [0, 1, 0, 0], edges: edges, zSpec: [0.15], pitBins: 4)
        #expect(sharp.meanCRPS < 0.1 / 3 + 1e-9)
        #expect(sharp.pitHistogram == [0, 0, 1, 0])
    }
}
