import Testing
@testable import NeuralNet
import CDNNL

/// Finite-difference checks of every layer's input and parameter gradients.
@Suite("Layer gradients")
struct LayerGradientTests {
    let engine: Engine
    init() throws { engine = try Engine() }

    private func randomize(_ params: [NamedParameter], _ checker: inout GradientChecker, scale: Float = 0.5) {
        for p in params { p.parameter.set(checker.values(p.parameter.count).map { $0 * scale }) }
    }

    private func input(_ shape: [Int], _ checker: inout GradientChecker) -> Tensor {
        let x = Tensor(shape: shape, engine: engine)
        x.write(checker.values(x.count))
        return x
    }

    @Test("Conv2D 3x3, 5x5, 1x1 and stride 2, plain and blocked inputs",
          arguments: [(5, 4, 3, 1), (3, 6, 5, 1), (16, 32, 1, 1), (4, 3, 3, 2), (32, 16, 3, 1)])
    func conv(inC: Int, outC: Int, k: Int, stride: Int) throws {
        var c = GradientChecker(engine: engine)
        let conv = Conv2D(inputChannels: inC, outputChannels: outC, kernelSize: k, stride: stride, engine: engine)
        randomize(conv.parameters, &c)
        let x = input([2, inC, 6, 6], &c)
        _ = try conv.prepare(input: x.descriptor)
        c.check(name: "conv\(k)x\(k)", input: x, parameters: conv.parameters,
                forward: { conv.forward($0) }, backward: { conv.backward($0, .all) })
    }

    @Test("PReLU per-channel slopes, 4-D and 2-D")
    func prelu() throws {
        var c = GradientChecker(engine: engine)
        for shape in [[2, 3, 4, 4], [3, 5]] {
            let layer = PReLU(channels: shape[1], engine: engine)
            layer.alpha.set(c.values(shape[1]))
            let x = input(shape, &c)
            _ = try layer.prepare(input: x.descriptor)
            c.check(name: "prelu \(shape)", input: x, parameters: layer.parameters,
                    forward: { layer.forward($0) }, backward: { layer.backward($0, .all) })
        }
    }

    @Test("PReLU on a channel-blocked layout with padded channels; α gradient only when asked")
    func preluBlocked() throws {
        var c = GradientChecker(engine: engine)
        let layer = PReLU(channels: 20, engine: engine)
        layer.alpha.set(c.values(20))
        let md = MemoryDescriptor(dims: [2, 20, 3, 3], tag: dnnl_aBcd16b)
        let x = Tensor(md, engine: engine)
        x.write(c.values(x.count))
        _ = try layer.prepare(input: md)
        c.check(name: "prelu blocked", input: x, parameters: layer.parameters,
                forward: { layer.forward($0) }, backward: { layer.backward($0, .all) }, samples: 30)
        let before = layer.alpha.gradient.read()
        let dy = Tensor(md, engine: engine)
        dy.write(c.values(dy.count))
        _ = layer.forward(x)
        #expect(layer.backward(dy, .input) != nil)
        #expect(layer.alpha.gradient.read() == before, "an input-only pass changed α's gradient")
    }

    @Test("ReLU")
    func relu() throws {
        var c = GradientChecker(engine: engine)
        let layer = ReLU(engine: engine)
        let x = input([2, 3, 3, 3], &c)
        _ = try layer.prepare(input: x.descriptor)
        c.check(name: "relu", input: x, parameters: [], forward: { layer.forward($0) }, backward: { layer.backward($0, .all) })
    }

    @Test("Average pooling 2x2 stride 2, and stride 1 padded bottom/right with padding excluded")
    func averagePooling() throws {
        var c = GradientChecker(engine: engine)
        for pool in [AvgPool2D(kernelSize: 2, stride: 2, engine: engine),
                     AvgPool2D(kernelSize: 2, stride: 1, paddingHigh: 1, engine: engine)] {
            let x = input([2, 3, 4, 4], &c)
            let out = try pool.prepare(input: x.descriptor)
            #expect(out.dims == (pool.stride == 2 ? [2, 3, 2, 2] : [2, 3, 4, 4]))
            c.check(name: "avgpool s\(pool.stride)", input: x, parameters: [],
                    forward: { pool.forward($0) }, backward: { pool.backward($0, .all) })
        }
    }

    @Test("Stride-1 average pool values: the last row and column average only real pixels")
    func averagePoolingValues() throws {
        let pool = AvgPool2D(kernelSize: 2, stride: 1, paddingHigh: 1, engine: engine)
        let x = Tensor(shape: [1, 1, 2, 2], engine: engine)
        x.write([1, 2, 3, 4])
        _ = try pool.prepare(input: x.descriptor)
        #expect(pool.forward(x).read() == [2.5, 3, 3.5, 4])
    }

    @Test("Max pooling 2x2 stride 2")
    func maxPooling() throws {
        var c = GradientChecker(engine: engine)
        c.step = 1e-3
        let pool = MaxPool2D(kernelSize: 2, stride: 2, engine: engine)
        let x = input([2, 3, 4, 4], &c)
        _ = try pool.prepare(input: x.descriptor)
        c.check(name: "maxpool", input: x, parameters: [], forward: { pool.forward($0) }, backward: { pool.backward($0, .all) })
    }

    @Test("Linear")
    func linear() throws {
        var c = GradientChecker(engine: engine)
        let layer = Linear(inputFeatures: 7, outputFeatures: 5, engine: engine)
        randomize(layer.parameters, &c)
        let x = input([3, 7], &c)
        _ = try layer.prepare(input: x.descriptor)
        c.check(name: "linear", input: x, parameters: layer.parameters,
                forward: { layer.forward($0) }, backward: { layer.backward($0, .all) })
    }
}
