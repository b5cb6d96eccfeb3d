import NeuralNet

/// A convolution (stride 1, "same" padding, bias) followed by a per-channel PReLU: the unit
/// every convolution of Pasquet et al.'s network uses. Parameters: `weight`, `bias`, `alpha`.
final class ConvPReLU: Layer {
    let conv: Conv2D
    let prelu: PReLU

    init(_ inputChannels: Int, _ outputChannels: Int, kernelSize: Int, engine: Engine, label: String) {
        conv = Conv2D(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize,
                      engine: engine, label: label)
        prelu = PReLU(channels: outputChannels, initialValue: 0, engine: engine, label: "\(label) prelu")
    }

    var parameters: [NamedParameter] {
        conv.parameters + [NamedParameter(path: "alpha", parameter: prelu.alpha)]
    }

    func prepare(input: MemoryDescriptor) throws -> MemoryDescriptor {
        try prelu.prepare(input: conv.prepare(input: input))
    }

    func forward(_ x: Tensor) -> Tensor { prelu.forward(conv.forward(x)) }

    /// The convolution's output before the PReLU, which its consumer applies (`prelu`'s slopes;
    /// `backward` is unchanged: the PReLU keeps this tensor for it).
    func forwardDeferringActivation(_ x: Tensor) -> Tensor {
        let y = conv.forward(x)
        prelu.forwardDeferred(y)
        return y
    }

    func backward(_ dy: Tensor, _ request: GradientRequest) -> Tensor? {
        guard let g = prelu.backward(dy, request.union(.input)) else { return nil }
        return conv.backward(g, request)
    }
}

/// Inception(a, b) of Pasquet et al. 2019: four branches on the same input, concatenated as
/// (1) 1×1 → b; (2) 1×1 → a, 5×5 → b; (3) 1×1 → a, 3×3 → b; (4) 1×1 → a, 2×2 average pool
/// stride 1 padded bottom/right (padding excluded). Without the 5×5 branch (I4) it has three.
/// Parameter paths: `b1.conv.*`, `b2.reduce.*`, `b2.conv.*`, `b3.reduce.*`, `b3.conv.*`, `b4.reduce.*`.
final class InceptionBlock: Layer {
    let branches: [(name: String, layer: Sequential)]
    let outputChannels: Int
    private let concat: ChannelConcat
    private let sum: GradientSum

    init(inputChannels c: Int, a: Int, b: Int, with5x5: Bool = true, engine: Engine, label: String) {
        func unit(_ i: Int, _ o: Int, _ k: Int, _ name: String) -> ConvPReLU {
            ConvPReLU(i, o, kernelSize: k, engine: engine, label: "\(label).\(name)")
        }
        var list: [(String, Sequential)] = [("b1", Sequential([("conv", unit(c, b, 1, "b1.conv"))]))]
        if with5x5 {
            list.append(("b2", Sequential([("reduce", unit(c, a, 1, "b2.reduce")), ("conv", unit(a, b, 5, "b2.conv"))])))
        }
        list.append(("b3", Sequential([("reduce", unit(c, a, 1, "b3.reduce")), ("conv", unit(a, b, 3, "b3.conv"))])))
        list.append(("b4", Sequential([("reduce", unit(c, a, 1, "b4.reduce")),
                                       ("pool", AvgPool2D(kernelSize: 2, stride: 1, paddingHigh: 1, engine: engine,
                                                          label: "\(label).b4.pool"))])))
        branches = list.map { (name: $0.0, layer: $0.1) }
        outputChannels = (with5x5 ? 3 : 2) * b + a
        concat = ChannelConcat(engine: engine, label: "\(label) concat")
        sum = GradientSum(engine: engine, label: "\(label) input gradient")
    }

    var parameters: [NamedParameter] {
        branches.flatMap { $0.layer.parameters.prefixed($0.name) }
    }

    func prepare(input: MemoryDescriptor) throws -> MemoryDescriptor {
        let outs = try branches.map { try $0.layer.prepare(input: input) }
        try sum.prepare(input, count: branches.count)
        return try concat.prepare(inputs: outs)
    }

    func forward(_ x: Tensor) -> Tensor {
        guard concat.appliesPReLU else { return concat.forward(branches.map { $0.layer.forward(x) }) }
        // Branches ending in a convolution + PReLU leave the PReLU to the concatenation, which
        // writes each activation once, into its place in the output (measured in docs/benchmarks.md).
        var outputs: [Tensor] = [], activations: [PReLU?] = []
        for (_, branch) in branches {
            var y = x
            for child in branch.children.dropLast() { y = child.layer.forward(y) }
            if let unit = branch.children.last!.layer as? ConvPReLU {
                outputs.append(unit.forwardDeferringActivation(y))
                activations.append(unit.prelu)
            } else {
                outputs.append(branch.children.last!.layer.forward(y))
                activations.append(nil)
            }
        }
        return concat.forward(outputs, activations: activations)
    }

    func backward(_ dy: Tensor, _ request: GradientRequest) -> Tensor? {
        let parts = concat.backward(dy)
        let grads = zip(branches, parts).map { $0.0.layer.backward($0.1, request) }
        guard request.contains(.input) else { return nil }
        return sum(grads.map { $0! })
    }
}
