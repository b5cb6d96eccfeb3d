import Foundation

/// Metrics of the objects whose value falls in [lower, upper).
public struct BinnedMetrics: Codable, Sendable {
    public var lower: Double
    public var upper: Double
    public var metrics: PhotoZMetrics
}

/// Everything `evaluate` reports for a predictions file.
public struct EvaluationReport: Codable, Sendable {
    public var overall: PhotoZMetrics
    public var pdf: PDFMetrics?
    public var byZSpec: [BinnedMetrics]
    public var byEBV: [BinnedMetrics]
    /// Objects without a spectroscopic redshift, left out of every metric.
    public var withoutZSpec: Int
    /// Objects with a z_spec whose prediction is not a finite number (or whose z_spec is at
    /// or below −1, where Δz divides by zero or less), left out of every metric.
    public var unusablePredictions: Int = 0
}

/// Default bin edges of the per-bin tables.
public enum EvaluationBins {
    public static let zSpec: [Double] = [0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4]
    public static let ebv: [Double] = [0, 0.02, 0.04, 0.06, 0.1, 0.2, 1]
}

/// Computes the metrics of predictions, overall and per bin of z_spec and of E(B−V) (empty bins left out).
public func evaluatePredictions(_ p: Predictions, zBins: [Double] = EvaluationBins.zSpec, ebvBins: [Double] = EvaluationBins.ebv) -> EvaluationReport {
    precondition(p.zSpec.count == p.count && p.zPhot.count == p.count && (p.ebv.isEmpty || p.ebv.count == p.count),
                 "predictions' columns must have one value per object (PredictionFile.read checks files)")
    let labelled = p.zSpec.indices.filter { p.zSpec[$0].isFinite }
    let known = labelled.filter { p.zSpec[$0] > -1 && p.zPhot[$0].isFinite }
    func metrics(_ rows: [Int]) -> PhotoZMetrics { PhotoZMetrics(zPhot: rows.map { p.zPhot[$0] }, zSpec: rows.map { p.zSpec[$0] }) }
    func binned(_ values: [Float], _ edges: [Double]) -> [BinnedMetrics] {
        zip(edges, edges.dropFirst()).compactMap { lo, hi in
            let rows = known.filter { Double(values[$0]) >= lo && Double(values[$0]) < hi }
            return rows.isEmpty ? nil : BinnedMetrics(lower: lo, upper: hi, metrics: metrics(rows))
        }
    }
    var pdf: PDFMetrics?
    if let pdfs = p.pdf, let edges = p.binEdges, edges.count >= 2, pdfs.count == p.count * (edges.count - 1),
       zip(edges, edges.dropFirst()).allSatisfy({ $0 < $1 }), edges.allSatisfy(\.isFinite) {
        let k = edges.count - 1
        pdf = PDFMetrics(pdfs: known.flatMap { pdfs[$0 * k..<($0 + 1) * k] }, edges: edges, zSpec: known.map { p.zSpec[$0] })
    }
    return EvaluationReport(overall: metrics(known), pdf: pdf, byZSpec: binned(p.zSpec, zBins),
                            byEBV: p.ebv.isEmpty ? [] : binned(p.ebv, ebvBins), withoutZSpec: p.count - labelled.count,
                            unusablePredictions: labelled.count - known.count)
}

extension EvaluationReport {
    /// The report as a text table.
    public var table: String {
        var lines = ["all          \(overall.summary)"]
        if let pdf {
            lines.append(String(format: "PDF: mean CRPS %.4f, median CRPS %.4f, PIT outliers %.2f %%", pdf.meanCRPS, pdf.medianCRPS, 100 * pdf.pitOutlierFraction))
            lines.append("PIT histogram (\(pdf.pitHistogram.count) bins): " + pdf.pitHistogram.map(String.init).joined(separator: " "))
        }
        for (name, rows) in [("z_spec", byZSpec), ("E(B-V)", byEBV)] where !rows.isEmpty {
            lines.append("by \(name):")
            for r in rows where r.metrics.count > 0 {
                lines.append(String(format: "  [%.2f, %.2f)  ", r.lower, r.upper) + r.metrics.summary)
            }
        }
        if withoutZSpec > 0 { lines.append("\(withoutZSpec) objects without z_spec left out") }
        if unusablePredictions > 0 { lines.append("\(unusablePredictions) objects with a non-finite z_phot (or z_spec <= -1) left out") }
        if let pdf, pdf.rowsLeftOut > 0 { lines.append("\(pdf.rowsLeftOut) PDFs that are no distribution (negative, non-finite or all zero) left out of PIT and CRPS") }
        return lines.joined(separator: "\n")
    }
}
