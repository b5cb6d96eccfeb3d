import Foundation
import SafeOutput

extension RobustnessReport {
    /// The ε index of the transfer table: that of `epsilon`, or the largest ε.
    public func epsilonIndex(_ epsilon: Float?) -> Int {
        let e = configuration.epsilons
        guard let epsilon else { return e.indices.max { e[$0] < e[$1] }! }
        return e.indices.min { abs(e[$0] - epsilon) < abs(e[$1] - epsilon) }!
    }

    /// The white-box curves and the transfer matrix at one ε, as text.
    public func table(transferEpsilon: Float? = nil) -> String {
        let c = configuration
        var lines = ["robustness on \(data) (split \(c.split?.rawValue ?? "all"), N = \(rows)): \(c.attack.summary.replacingOccurrences(of: "ε=\(c.attack.epsilon) ", with: ""))"]
        lines.append("white-box (attack made on the model evaluated); epsilon in --space \(c.attack.space.rawValue)")
        let width = max(12, models.map(\.label.count).max()! + 2)
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
        lines.append(pad("model", width) + "epsilon      N   bias e-4  sigma_MAD e-3   eta %")
        func row(_ label: String, _ e: Float, _ m: PhotoZMetrics) -> String {
            pad(label, width) + String(format: "%-9g %6d  %+9.2f  %13.2f  %6.2f", Double(e), m.count, m.bias * 1e4, m.sigmaMAD * 1e3, m.outlierPercent)
        }
        for (s, model) in models.enumerated() {
            lines.append(row(model.label, 0, clean[s]))
            for (e, epsilon) in c.epsilons.enumerated() { lines.append(row(model.label, epsilon, attacked[s][e][s])) }
        }
        let e = epsilonIndex(transferEpsilon)
        lines.append("")
        lines.append("transfer at epsilon \(c.epsilons[e]): rows = model attacked, columns = model evaluated; sigma_MAD e-3 / eta %")
        let cell = max(16, targets.map(\.count).max()! + 2)
        lines.append(pad("attacked \\ evaluated", max(width, 22)) + targets.map { pad($0, cell) }.joined())
        lines.append(pad("(clean images)", max(width, 22)) + clean.map { pad(String(format: "%.2f / %.2f", $0.sigmaMAD * 1e3, $0.outlierPercent), cell) }.joined())
        for (s, model) in models.enumerated() {
            lines.append(pad(model.label, max(width, 22)) + attacked[s][e].map { pad(String(format: "%.2f / %.2f", $0.sigmaMAD * 1e3, $0.outlierPercent), cell) }.joined())
        }
        return lines.joined(separator: "\n")
    }

    /// Writes `STEM.json` (the report with its provenance: configuration, models and data with
    /// their checksums) and the SVG plots (`writePlots`); returns the paths. An existing
    /// `STEM.json` is replaced only with `overwrite`, and only if it is a robustness report.
    public func write(stem: String, transferEpsilon: Float? = nil, overwrite: Bool = false) throws -> [String] {
        let json = stem + ".json"
        let provenance = Provenance.photoz(schema: "photoz.robustness", version: 1, stage: "robustness", configuration: configuration,
                                           inputs: models.map { Provenance.Input(role: "model", path: $0.path, sha256: $0.sha256) }
                                               + [Provenance.Input(role: "data", path: data, sha256: dataChecksum)])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard var object = try JSONSerialization.jsonObject(with: try encoder.encode(self)) as? [String: Any] else {
            preconditionFailure("a robustness report encodes as a JSON object")
        }
        object["provenance"] = try JSONSerialization.jsonObject(with: try encoder.encode(provenance))
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try AtomicFile.write(data, to: json, replacing: .overwrite(overwrite, recognise: PhotoZOutputs.isRobustnessReport))
        return [json] + (try writePlots(stem: stem, transferEpsilon: transferEpsilon))
    }

    /// Writes `STEM.bias.svg`, `STEM.sigma-mad.svg`, `STEM.eta.svg` (white-box metric vs ε, one
    /// line per model) and `STEM.transfer.svg` (the transfer matrix at one ε); returns the paths.
    public func writePlots(stem: String, transferEpsilon: Float? = nil) throws -> [String] {
        var written: [String] = []
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
        // ε on the x axis in units of 10^-k, so that the figure's two-decimal ticks stay readable.
        let largest = Double(configuration.epsilons.max() ?? 1)
        let exponent = largest < 1 ? Int((-log10(largest) - 1e-6).rounded(.up)) : 0
        let scale = pow(10, Double(exponent))
        let eps = [0] + configuration.epsilons.map { Double($0) * scale }
        let order = eps.indices.sorted { eps[$0] < eps[$1] }
        let kinds: [(suffix: String, label: String, value: (PhotoZMetrics) -> Double)] = [
            ("bias", "bias ×10⁻⁴", { $0.bias * 1e4 }), ("sigma-mad", "σ_MAD ×10⁻³", { $0.sigmaMAD * 1e3 }), ("eta", "η (%)", { $0.outlierPercent }),
        ]
        for kind in kinds {
            let curves = models.indices.map { s in order.map { k in (eps[k], kind.value(metrics(source: s, epsilon: k - 1, target: s))) } }
            let values = curves.flatMap { $0.map(\.1) }.filter(\.isFinite)
            var low = min(values.min() ?? 0, kind.suffix == "bias" ? (values.min() ?? 0) : 0), high = max(values.max() ?? 1, low + 1e-9)
            let margin = (high - low) * 0.08
            low -= kind.suffix == "bias" ? margin : 0
            high += margin
            var figure = Figure(title: "\(kind.label) under \(configuration.attack.method.rawValue.uppercased()) (white-box)",
                                xLabel: "ε" + (exponent > 0 ? " ×10⁻\(superscript(exponent))" : "") + " (\(configuration.attack.space.rawValue), \(configuration.attack.norm.rawValue))", yLabel: kind.label,
                                x: 0...(eps.max()! > 0 ? eps.max()! : 1), y: low...high, caption: "N = \(rows), split \(configuration.split?.rawValue ?? "all")")
            for (s, curve) in curves.enumerated() {
                figure.line(curve, color: colors[s % colors.count])
                figure.markers(curve, color: colors[s % colors.count])
            }
            figure.legend(models.enumerated().map { ($1.label, colors[$0 % colors.count]) })
            let path = stem + ".\(kind.suffix).svg"
            try AtomicFile.write(Data(figure.svg.utf8), to: path)
            written.append(path)
        }
        let path = stem + ".transfer.svg"
        try AtomicFile.write(Data(transferSVG(epsilonIndex(transferEpsilon)).utf8), to: path)
        written.append(path)
        return written
    }

    /// The transfer matrix as a heat map of σ_MAD (with η in each cell).
    func transferSVG(_ e: Int) -> String {
        let labelWidth = Double(models.map { $0.label.count + 10 }.max() ?? 12) * 7.5
        let cellW = max(120.0, Double(targets.map(\.count).max() ?? 0) * 7.5 + 16), cellH = 48.0, left = max(150.0, labelWidth + 20), top = 80.0
        let width = left + cellW * Double(targets.count) + 20, height = top + cellH * Double(models.count + 1) + 50
        let values = [clean] + models.indices.map { attacked[$0][e] }
        let sigmas = values.flatMap { $0.map(\.sigmaMAD) }.filter(\.isFinite)
        let low = sigmas.min() ?? 0, high = max(sigmas.max() ?? 1, low + 1e-12)
        var s = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">",
                 "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
                 "<text x=\"\(width / 2)\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">transfer at ε = \(configuration.epsilons[e]) (\(configuration.attack.method.rawValue), \(configuration.attack.space.rawValue)): σ_MAD ×10⁻³ / η %</text>",
                 "<text x=\"\(left + cellW * Double(targets.count) / 2)\" y=\"48\" text-anchor=\"middle\">evaluated on</text>"]
        for (t, name) in targets.enumerated() {
            s.append("<text x=\"\(left + cellW * (Double(t) + 0.5))\" y=\"\(top - 8)\" text-anchor=\"middle\">\(xmlEscape(name))</text>")
        }
        for (r, row) in values.enumerated() {
            let y = top + cellH * Double(r)
            s.append("<text x=\"\(left - 8)\" y=\"\(y + cellH / 2 + 4)\" text-anchor=\"end\">\(xmlEscape(r == 0 ? "clean images" : "attack on " + models[r - 1].label))</text>")
            for (t, m) in row.enumerated() {
                let f = m.sigmaMAD.isFinite ? (m.sigmaMAD - low) / (high - low) : 0
                let shade = Int(245 - 150 * f)
                s.append(String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"rgb(255,%d,%d)\" stroke=\"white\"/>", left + cellW * Double(t), y, cellW, cellH, shade, shade))
                s.append(String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.2f / %.2f</text>", left + cellW * (Double(t) + 0.5), y + cellH / 2 + 4, m.sigmaMAD * 1e3, m.outlierPercent))
            }
        }
        s.append("<text x=\"\(width / 2)\" y=\"\(height - 14)\" text-anchor=\"middle\">N = \(rows); darker: larger σ_MAD</text>")
        s.append("</svg>")
        return s.joined(separator: "\n")
    }
}

extension Figure {
    /// Small circles at the points.
    mutating func markers(_ points: [(Double, Double)], color: String) {
        for (a, b) in points where b.isFinite {
            body.append(String(format: "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" ", px(a), py(b)) + "fill=\"\(color)\"/>")
        }
    }

    /// A legend in the top-left corner of the plot.
    mutating func legend(_ entries: [(label: String, color: String)]) {
        for (k, entry) in entries.enumerated() {
            let h = px(self.x.lowerBound) + 10, v = py(self.y.upperBound) + 16 + 16 * Double(k)
            body.append(String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" ", h, v - 4, h + 18, v - 4) + "stroke=\"\(entry.color)\" stroke-width=\"2\"/>")
            body.append(String(format: "<text x=\"%.1f\" y=\"%.1f\">", h + 24, v) + xmlEscape(entry.label) + "</text>")
        }
    }
}

/// Digits as Unicode superscripts (for axis labels).
func superscript(_ n: Int) -> String {
    let digits = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
    return String(n).compactMap { $0.wholeNumberValue.map { digits[$0] } }.joined()
}

/// Escapes text for SVG.
func xmlEscape(_ t: String) -> String {
    t.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
}
