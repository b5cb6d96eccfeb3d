import NeuralNet

extension PhotoZNetwork {
    /// The PDF over bins for each image of the last forward pass (N·bins floats, row-major).
    /// Classification head only.
    public func pdf() -> [Float] {
        precondition(head == .classification, "a PDF needs the classification head")
        return SoftmaxCrossEntropyLoss.softmax(outputTensor)
    }

    /// The point estimate of each image of the last forward pass: the PDF mean over bin
    /// centres (classification) or the output itself (regression).
    public func pointEstimates() -> [Float] {
        switch head {
        case .regression:
            return output
        case .classification:
            let p = pdf(), c = bins.centers, k = bins.count
            return (0..<(p.count / k)).map { i in
                var m = 0.0
                for j in 0..<k { m += Double(p[i * k + j]) * c[j] }
                return Float(m)
            }
        }
    }

    /// ∂(PDF mean)/∂logits for each image of the last forward pass: p_j·(c_j − mean).
    /// Pass it (scaled as wanted) to `backward(outputGradient:)` to attack the point estimate.
    public func pointEstimateGradient() -> [Float] {
        precondition(head == .classification, "the PDF mean gradient needs the classification head")
        let p = pdf(), c = bins.centers, k = bins.count, means = pointEstimates()
        var g = [Float](repeating: 0, count: p.count)
        for i in 0..<(p.count / k) {
            for j in 0..<k { g[i * k + j] = Float(Double(p[i * k + j]) * (c[j] - Double(means[i]))) }
        }
        return g
    }

    private var outputTensor: Tensor {
        guard let t = lastOutputTensor else { preconditionFailure("prediction requested before forward") }
        return t
    }
}
