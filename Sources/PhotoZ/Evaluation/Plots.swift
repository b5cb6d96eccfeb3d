import Foundation
import SafeOutput

/// Small, dependency-free SVG figures of predictions: photo-z vs spec-z (density), Δz vs z_spec,
/// and the PIT histogram. Written beside the predictions file.
public enum PredictionPlots {
    /// Writes the figures next to `predictionsPath` and returns their paths.
    public static func write(_ p: Predictions, report: EvaluationReport, beside predictionsPath: String) throws -> [String] {
        let stem = predictionsPath.hasSuffix(".h5") ? String(predictionsPath.dropLast(3))
            : predictionsPath.hasSuffix(".hdf5") ? String(predictionsPath.dropLast(5)) : predictionsPath
        let known = p.zSpec.indices.filter { p.zSpec[$0].isFinite }
        let zs = known.map { Double(p.zSpec[$0]) }, zp = known.map { Double(p.zPhot[$0]) }
        let zMax = 0.4
        var written: [String] = []
        func save(_ svg: String, _ suffix: String) throws {
            let path = stem + suffix
            try AtomicFile.write(Data(svg.utf8), to: path)
            written.append(path)
        }
        let m = report.overall
        let caption = String(format: "N = %d, bias = %+.1e, σ_MAD = %.4f, η = %.2f %%", m.count, m.bias, m.sigmaMAD, m.outlierPercent)
        var density = Figure(title: "photo-z vs spec-z", xLabel: "z_spec", yLabel: "z_phot", x: 0...zMax, y: 0...zMax, caption: caption)
        density.density(zs, zp, bins: 80)
        density.line([(0, 0), (zMax, zMax)], color: "#d62728")
        density.line([(0, 0.05), (zMax, zMax + 0.05 * (1 + zMax))], color: "#d62728", dashed: true)
        density.line([(0, -0.05), (zMax, zMax - 0.05 * (1 + zMax))], color: "#d62728", dashed: true)
        try save(density.svg, ".zphot-zspec.svg")

        let dz = zip(zp, zs).map { ($0 - $1) / (1 + $1) }
        var residuals = Figure(title: "Δz = (z_phot − z_spec)/(1 + z_spec)", xLabel: "z_spec", yLabel: "Δz", x: 0...zMax, y: -0.15...0.15, caption: caption)
        residuals.density(zs, dz, bins: 80)
        residuals.line([(0, 0), (zMax, 0)], color: "#d62728")
        residuals.line([(0, 0.05), (zMax, 0.05)], color: "#d62728", dashed: true)
        residuals.line([(0, -0.05), (zMax, -0.05)], color: "#d62728", dashed: true)
        try save(residuals.svg, ".dz-zspec.svg")

        if let pdf = report.pdf {
            let counts = pdf.pitHistogram.map(Double.init)
            let expected = counts.reduce(0, +) / Double(max(counts.count, 1))
            var pit = Figure(title: "PIT histogram", xLabel: "PIT", yLabel: "objects", x: 0...1, y: 0...(max(counts.max() ?? 1, expected) * 1.15),
                             caption: String(format: "mean CRPS %.4f; a calibrated PDF gives a flat histogram", pdf.meanCRPS))
            pit.bars(counts)
            pit.line([(0, expected), (1, expected)], color: "#d62728", dashed: true)
            try save(pit.svg, ".pit.svg")
        }
        return written
    }
}

/// A minimal SVG plotting canvas with axes.
struct Figure {
    let title: String, xLabel: String, yLabel: String
    let x: ClosedRange<Double>, y: ClosedRange<Double>
    let caption: String
    var body: [String] = []   // internal: attack plots (RobustnessPlots.swift) add their own elements
    private let width = 560.0, height = 480.0, left = 70.0, right = 20.0, top = 40.0, bottom = 70.0

    init(title: String, xLabel: String, yLabel: String, x: ClosedRange<Double>, y: ClosedRange<Double>, caption: String) {
        (self.title, self.xLabel, self.yLabel, self.x, self.y, self.caption) = (title, xLabel, yLabel, x, y, caption)
    }

    private var plotWidth: Double { width - left - right }
    private var plotHeight: Double { height - top - bottom }
    func px(_ v: Double) -> Double { left + (v - x.lowerBound) / (x.upperBound - x.lowerBound) * plotWidth }
    func py(_ v: Double) -> Double { top + (1 - (v - y.lowerBound) / (y.upperBound - y.lowerBound)) * plotHeight }

    /// A 2-D histogram drawn as grey-to-blue cells, darker where more objects fall.
    mutating func density(_ xs: [Double], _ ys: [Double], bins: Int) {
        var counts = [Int](repeating: 0, count: bins * bins)
        for (a, b) in zip(xs, ys) {
            // Cells are checked as doubles first: Int() of NaN or ±Inf (a NaN prediction, or
            // z_spec = −1 in Δz) traps.
            let u = (a - x.lowerBound) / (x.upperBound - x.lowerBound) * Double(bins)
            let v = (b - y.lowerBound) / (y.upperBound - y.lowerBound) * Double(bins)
            guard u >= 0, u < Double(bins), v >= 0, v < Double(bins) else { continue }
            let i = Int(u), j = Int(v)
            counts[j * bins + i] += 1
        }
        let peak = Double(max(counts.max() ?? 1, 1))
        let w = plotWidth / Double(bins), h = plotHeight / Double(bins)
        for j in 0..<bins { for i in 0..<bins where counts[j * bins + i] > 0 {
            let t = log(1 + Double(counts[j * bins + i])) / log(1 + peak)
            let shade = Int(235 - 200 * t)
            body.append(String(format: "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"rgb(%d,%d,255)\"/>",
                               left + Double(i) * w, top + plotHeight - Double(j + 1) * h, w + 0.3, h + 0.3, shade, shade))
        } }
    }

    mutating func bars(_ counts: [Double]) {
        let w = plotWidth / Double(counts.count)
        for (i, c) in counts.enumerated() {
            body.append(String(format: "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#4c72b0\" stroke=\"white\"/>",
                               left + Double(i) * w, py(c), w, py(y.lowerBound) - py(c)))
        }
    }

    mutating func line(_ points: [(Double, Double)], color: String, dashed: Bool = false) {
        // Drawn as given and clipped to the plot frame (clamping the ends would bend the line).
        let path = points.map { String(format: "%.2f,%.2f", px($0.0), py($0.1)) }.joined(separator: " ")
        body.append("<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" clip-path=\"url(#frame)\"\(dashed ? " stroke-dasharray=\"6,4\"" : "")/>")
    }

    var svg: String {
        var s = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"13\">",
                 "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
                 String(format: "<defs><clipPath id=\"frame\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/></clipPath></defs>",
                        left, top, plotWidth, plotHeight)]
        s += body
        s.append(String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>", left, top, plotWidth, plotHeight))
        for k in 0...4 {
            let vx = x.lowerBound + Double(k) / 4 * (x.upperBound - x.lowerBound)
            let vy = y.lowerBound + Double(k) / 4 * (y.upperBound - y.lowerBound)
            s.append(String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", px(vx), top + plotHeight + 18) + tick(vx) + "</text>")
            s.append(String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", left - 6, py(vy) + 4) + tick(vy) + "</text>")
        }
        s.append("<text x=\"\(left + plotWidth / 2)\" y=\"\(top + plotHeight + 40)\" text-anchor=\"middle\">\(escape(xLabel))</text>")
        s.append("<text x=\"18\" y=\"\(top + plotHeight / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(top + plotHeight / 2))\">\(escape(yLabel))</text>")
        s.append("<text x=\"\(left + plotWidth / 2)\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">\(escape(title))</text>")
        s.append("<text x=\"\(left + plotWidth / 2)\" y=\"\(height - 10)\" text-anchor=\"middle\" font-size=\"12\">\(escape(caption))</text>")
        s.append("</svg>")
        return s.joined(separator: "\n")
    }

    private func tick(_ v: Double) -> String {
        let text = abs(v) < 1e-12 ? "0" : String(format: abs(v) >= 10 ? "%.0f" : "%.2f", v)
        return escape(text)
    }
    private func escape(_ t: String) -> String {
        t.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
