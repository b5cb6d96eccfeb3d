/// Point estimates of several networks and of their ensemble on flux images.
///
/// Each network sees the images through its own pixel transform. The ensemble averages the
/// PDFs (classification; its estimate is the mean of the averaged PDF, as `Predictor` does) or
/// the outputs (regression); it exists when there are several networks of one head and bins.
struct EnsembleEvaluator {
    let networks: [PhotoZNetwork]
    let hasEnsemble: Bool

    init(networks: [PhotoZNetwork]) {
        self.networks = networks
        let first = networks[0]
        hasEnsemble = networks.count > 1 && networks.allSatisfy { $0.head == first.head && $0.bins == first.bins }
    }

    /// Networks, then the ensemble if any.
    var targetCount: Int { networks.count + (hasEnsemble ? 1 : 0) }

    /// One array of n point estimates per target.
    func estimates(flux: [Float], ebv: [Float]) throws -> [[Float]] {
        var out: [[Float]] = []
        var average: [Float] = []
        for network in networks {
            var x = flux
            network.pixelTransform.apply(&x)
            try network.forward(images: x, ebv: ebv)
            out.append(network.pointEstimates())
            guard hasEnsemble else { continue }
            let values = network.head == .classification ? network.pdf() : network.output
            if average.isEmpty { average = [Float](repeating: 0, count: values.count) }
            for i in values.indices { average[i] += values[i] / Float(networks.count) }
        }
        if hasEnsemble {
            let first = networks[0]
            out.append(first.head == .classification ? PDFSummary(pdfs: average, bins: first.bins).mean : average)
        }
        return out
    }
}
