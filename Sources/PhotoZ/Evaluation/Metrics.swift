import Foundation

/// The photo-z figures of merit the field reports (Pasquet et al. 2019; SCIENCE.md §2).
///
/// With Δz = (z_phot − z_spec) / (1 + z_spec): bias = mean(Δz) (median also given),
/// σ_MAD = 1.4826 × median(|Δz − median(Δz)|), η = percentage of |Δz| > 0.05.
public struct PhotoZMetrics: Codable, Sendable, Equatable {
    public var count: Int
    public var bias: Double
    public var medianBias: Double
    public var sigmaMAD: Double
    /// Outlier fraction in percent.
    public var outlierPercent: Double

    public static let outlierThreshold = 0.05

    public init(zPhot: [Float], zSpec: [Float]) {
        precondition(zPhot.count == zSpec.count, "z_phot and z_spec must have the same length")
        let dz = zip(zPhot, zSpec).map { Double($0 - $1) / (1 + Double($1)) }
        count = dz.count
        guard !dz.isEmpty else {
            bias = .nan; medianBias = .nan; sigmaMAD = .nan; outlierPercent = .nan
            return
        }
        bias = dz.reduce(0, +) / Double(dz.count)
        let med = median(dz)
        medianBias = med
        sigmaMAD = 1.4826 * median(dz.map { abs($0 - med) })
        outlierPercent = 100 * Double(dz.filter { abs($0) > Self.outlierThreshold }.count) / Double(dz.count)
    }

    /// One line: N, bias ×10⁻⁴, σ_MAD ×10⁻³, η %.
    public var summary: String {
        String(format: "N %d  bias %+.2f e-4 (median %+.2f e-4)  sigma_MAD %.2f e-3  eta %.2f %%",
               count, bias * 1e4, medianBias * 1e4, sigmaMAD * 1e3, outlierPercent)
    }
}

/// The median of values (mean of the two middle ones for an even count).
public func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let s = values.sorted()
    let m = s.count / 2
    return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/// Quality of histogram PDFs: the PIT (probability integral transform) histogram and the CRPS.
public struct PDFMetrics: Codable, Sendable, Equatable {
    /// Counts of PIT values in `pitBins` equal bins over [0, 1].
    public var pitHistogram: [Int]
    /// Fraction of PIT values below 0.0001 or above 0.9999 (catastrophic, RAIL's convention).
    public var pitOutlierFraction: Double
    /// Mean CRPS over objects (redshift units).
    public var meanCRPS: Double
    public var medianCRPS: Double
    /// Objects left out because their PDF is no distribution (a negative or non-finite
    /// value, or all zeros) or their z_spec is not finite.
    public var rowsLeftOut: Int = 0

    /// `pdfs` is (N, bins) row-major over `edges` (bins + 1 values).
    public init(pdfs: [Float], edges: [Double], zSpec: [Float], pitBins: Int = 20) {
        let nb = edges.count - 1
        let n = zSpec.count
        precondition(pdfs.count == n * nb, "pdfs must be (N, bins)")
        precondition(nb >= 1 && zip(edges, edges.dropFirst()).allSatisfy { $0 < $1 } && edges.allSatisfy(\.isFinite),
                     "edges must be finite and increasing")
        var histogram = [Int](repeating: 0, count: pitBins)
        var outliers = 0
        var crps: [Double] = []
        crps.reserveCapacity(n)
        var leftOut = 0
        for i in 0..<n {
            let row = pdfs[i * nb..<(i + 1) * nb].map(Double.init)
            let total = row.reduce(0, +)
            let z = Double(zSpec[i])
            // Whatever a file holds must not reach Int() below as NaN: rows that are no
            // distribution are counted, not evaluated.
            guard z.isFinite, total > 0, total.isFinite, row.allSatisfy({ $0 >= 0 }) else {
                leftOut += 1
                continue
            }
            // CDF at the bin edges; linear inside a bin (uniform density per bin).
            var cdf = [Double](repeating: 0, count: nb + 1)
            for b in 0..<nb { cdf[b + 1] = cdf[b] + row[b] / total }
            let pit = Self.cdf(at: z, edges: edges, cdfAtEdges: cdf)
            guard pit.isFinite else {  // edges so far apart that their difference overflows
                leftOut += 1
                continue
            }
            histogram[min(pitBins - 1, max(0, Int(pit * Double(pitBins))))] += 1
            if pit < 1e-4 || pit > 1 - 1e-4 { outliers += 1 }
            crps.append(Self.crps(z: z, edges: edges, cdfAtEdges: cdf))
        }
        pitHistogram = histogram
        pitOutlierFraction = crps.isEmpty ? .nan : Double(outliers) / Double(crps.count)
        meanCRPS = crps.isEmpty ? .nan : crps.reduce(0, +) / Double(crps.count)
        medianCRPS = median(crps)
        rowsLeftOut = leftOut
    }

    static func cdf(at z: Double, edges: [Double], cdfAtEdges: [Double]) -> Double {
        if z <= edges.first! { return 0 }
        if z >= edges.last! { return 1 }
        let b = min(edges.count - 2, max(0, edges.lastIndex { $0 <= z }!))
        let t = (z - edges[b]) / (edges[b + 1] - edges[b])
        return cdfAtEdges[b] + t * (cdfAtEdges[b + 1] - cdfAtEdges[b])
    }

    /// ∫ (F(x) − 1[x ≥ z])² dx with F piecewise linear between edges, integrated exactly per piece.
    static func crps(z: Double, edges: [Double], cdfAtEdges: [Double]) -> Double {
        var total = 0.0
        // Below the first edge F = 0 and beyond the last F = 1; only the step contributes there.
        if z < edges.first! { total += edges.first! - z }
        if z > edges.last! { total += z - edges.last! }
        for b in 0..<(edges.count - 1) {
            let x0 = edges[b], x1 = edges[b + 1]
            let f0 = cdfAtEdges[b], f1 = cdfAtEdges[b + 1]
            func piece(_ a: Double, _ c: Double, step: Double) -> Double {
                // ∫_a^c (F(x) − step)² dx with F linear: exact Simpson (quadratic integrand).
                guard c > a else { return 0 }
                func g(_ x: Double) -> Double { let f = f0 + (f1 - f0) * (x - x0) / (x1 - x0) - step; return f * f }
                return (c - a) / 6 * (g(a) + 4 * g((a + c) / 2) + g(c))
            }
            if z <= x0 { total += piece(x0, x1, step: 1) } else if z >= x1 { total += piece(x0, x1, step: 0) } else {
                total += piece(x0, z, step: 0) + piece(z, x1, step: 1)
            }
        }
        return total
    }
}
