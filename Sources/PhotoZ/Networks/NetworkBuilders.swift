import NeuralNet

/// The three stages every photo-z network has: convolutional features, flatten + E(B−V),
/// dense layers ending in the head's outputs.
struct NetworkStages {
    let features: Sequential
    let dense: Sequential
}

extension NetworkStages {
    /// Pasquet et al. 2019 (SCIENCE.md §1): conv0 5×5 64 + PReLU, pool, I0(48, 64), I1(64, 92),
    /// pool, I2(92, 128), I3(92, 128), pool, I4(92, 128, no 5×5), flatten ++ E(B−V),
    /// fc0 1096 + ReLU, fc1 1096 + ReLU, out. Glorot-uniform weights, biases 0.1, PReLU α 0.
    static func inception(outputs: Int, imageSize: Int, bands: Int, engine: Engine) -> NetworkStages {
        func pool(_ name: String) -> AvgPool2D { AvgPool2D(kernelSize: 2, stride: 2, engine: engine, label: name) }
        let i0 = InceptionBlock(inputChannels: 64, a: 48, b: 64, engine: engine, label: "i0")
        let i1 = InceptionBlock(inputChannels: i0.outputChannels, a: 64, b: 92, engine: engine, label: "i1")
        let i2 = InceptionBlock(inputChannels: i1.outputChannels, a: 92, b: 128, engine: engine, label: "i2")
        let i3 = InceptionBlock(inputChannels: i2.outputChannels, a: 92, b: 128, engine: engine, label: "i3")
        let i4 = InceptionBlock(inputChannels: i3.outputChannels, a: 92, b: 128, with5x5: false, engine: engine, label: "i4")
        let features = Sequential([
            ("conv0", ConvPReLU(bands, 64, kernelSize: 5, engine: engine, label: "conv0")),
            ("pool0", pool("pool0")), ("i0", i0), ("i1", i1), ("pool1", pool("pool1")),
            ("i2", i2), ("i3", i3), ("pool2", pool("pool2")), ("i4", i4),
        ])
        let flat = i4.outputChannels * (imageSize / 8) * (imageSize / 8) + 1
        let dense = Sequential([
            ("fc0", Linear(inputFeatures: flat, outputFeatures: 1096, engine: engine, label: "fc0")),
            ("relu0", ReLU(engine: engine, label: "relu0")),
            ("fc1", Linear(inputFeatures: 1096, outputFeatures: 1096, engine: engine, label: "fc1")),
            ("relu1", ReLU(engine: engine, label: "relu1")),
            ("out", Linear(inputFeatures: 1096, outputFeatures: outputs, engine: engine, label: "out")),
        ])
        return NetworkStages(features: features, dense: dense)
    }

    /// The reference's SimpleCNN: 3 × (conv 3×3 + ReLU + max-pool 2) with 32-64-128 channels,
    /// flatten ++ E(B−V), dense 256 + ReLU, out. PyTorch's default initialisation
    /// (U(±1/√fan_in) for weights and biases).
    static func simple(outputs: Int, imageSize: Int, bands: Int, engine: Engine) -> NetworkStages {
        var layers: [(name: String, layer: Layer)] = []
        var c = bands
        for (i, width) in [32, 64, 128].enumerated() {
            let bound = 1 / Float(c * 9).squareRoot()
            layers.append(("conv\(i + 1)", Conv2D(inputChannels: c, outputChannels: width, kernelSize: 3,
                                                  weightInitializer: .uniform(bound: bound), biasInitializer: .uniform(bound: bound),
                                                  engine: engine, label: "conv\(i + 1)")))
            layers.append(("relu\(i + 1)", ReLU(engine: engine, label: "relu\(i + 1)")))
            layers.append(("pool\(i + 1)", MaxPool2D(kernelSize: 2, stride: 2, engine: engine, label: "pool\(i + 1)")))
            c = width
        }
        let flat = c * (imageSize / 8) * (imageSize / 8) + 1
        func linear(_ i: Int, _ o: Int, _ name: String) -> Linear {
            let bound = 1 / Float(i).squareRoot()
            return Linear(inputFeatures: i, outputFeatures: o, weightInitializer: .uniform(bound: bound),
                          biasInitializer: .uniform(bound: bound), engine: engine, label: name)
        }
        let dense = Sequential([
            ("fc", linear(flat, 256, "fc")),
            ("relu", ReLU(engine: engine, label: "relu")),
            ("out", linear(256, outputs, "out")),
        ])
        return NetworkStages(features: Sequential(layers), dense: dense)
    }
}
