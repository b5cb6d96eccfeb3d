/// The function an attack ascends, and its gradient with respect to the network input.
///
/// Untargeted, the objective is the loss against z_spec: J = L(x, z_spec), with L the model's
/// own loss (mean cross-entropy to the true bin, or mean squared error) or, for `.zmean`,
/// mean (ẑ − z_spec)² with ẑ the PDF mean (or the regression output). Targeted, the objective
/// is −L(x, z_target) with z_target = z_spec + Δ·(1 + z_spec): ascending it pulls the estimate
/// towards the target.
struct AttackObjective {
    let loss: AttackLoss
    let targetDeltaZ: Float?

    init(_ configuration: AttackConfiguration) {
        loss = configuration.loss
        targetDeltaZ = configuration.targetDeltaZ
    }

    /// The redshifts the loss is measured against.
    func targets(for zSpec: [Float]) -> [Float] {
        guard let d = targetDeltaZ else { return zSpec }
        return zSpec.map { $0 + d * (1 + $0) }
    }

    /// The objective at network input `x` (forward pass only).
    func value(_ network: PhotoZNetwork, input x: [Float], ebv: [Float], targets: [Float]) throws -> Float {
        try network.forward(images: x, ebv: ebv)
        let sign: Float = targetDeltaZ == nil ? 1 : -1
        switch loss {
        case .model:
            return sign * network.loss(redshifts: targets)
        case .zmean:
            let estimates = network.pointEstimates()
            let total = zip(estimates, targets).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
            return sign * Float(total / Double(max(targets.count, 1)))
        }
    }

    /// The objective at network input `x` (n images), its gradient ∂J/∂x (n·bands·S·S values)
    /// and the point estimates at `x`.
    func evaluate(_ network: PhotoZNetwork, input x: [Float], ebv: [Float], targets: [Float]) throws
        -> (value: Float, gradient: [Float], estimates: [Float])
    {
        try network.forward(images: x, ebv: ebv)
        let estimates = network.pointEstimates()
        let sign: Float = targetDeltaZ == nil ? 1 : -1
        switch loss {
        case .model:
            let value = network.loss(redshifts: targets)
            guard var g = network.backward(.input) else { preconditionFailure("backward(.input) returned no input gradient") }
            if sign < 0 { for i in g.indices { g[i] = -g[i] } }
            return (sign * value, g, estimates)
        case .zmean:
            let n = targets.count
            var value = 0.0
            var dEstimate = [Float](repeating: 0, count: n)   // ∂J/∂ẑ_i
            for i in 0..<n {
                let r = estimates[i] - targets[i]
                value += Double(r * r) / Double(n)
                dEstimate[i] = sign * 2 * r / Float(n)
            }
            var dOutput: [Float]
            switch network.head {
            case .regression:
                dOutput = dEstimate
            case .classification:
                dOutput = network.pointEstimateGradient()
                let k = network.outputCount
                for i in 0..<n { for j in 0..<k { dOutput[i * k + j] *= dEstimate[i] } }
            }
            guard let g = network.backward(outputGradient: dOutput, .input) else { preconditionFailure("backward(.input) returned no input gradient") }
            return (sign * Float(value), g, estimates)
        }
    }
}
