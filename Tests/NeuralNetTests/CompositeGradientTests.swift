import Testing
@testable import NeuralNet

/// Gradient checks for the multi-input pieces (concat, sum of branch gradients, flatten with
/// a scalar) and for the two losses.
@Suite("Composite and loss gradients")
struct CompositeGradientTests {
    let engine: Engine
    init() throws { engine = try Engine() }

    @Test("Two branches concatenated along channels, their input gradients summed",
          arguments: [(16, 16), (5, 7)])
    func concatAndSum(a: Int, b: Int) throws {
        var c = GradientChecker(engine: engine)
        let left = Conv2D(inputChannels: 16, outputChannels: a, kernelSize: 1, engine: engine)
        let right = Conv2D(inputChannels: 16, outputChannels: b, kernelSize: 3, engine: engine)
        let concat = ChannelConcat(engine: engine), sum = GradientSum(engine: engine)
        let params = left.parameters.prefixed("left") + right.parameters.prefixed("right")
        for p in params { p.parameter.set(c.values(p.parameter.count).map { $0 * 0.5 }) }
        let x = Tensor(shape: [2, 16, 4, 4], engine: engine)
        x.write(c.values(x.count))
        let outMD = try concat.prepare(inputs: [left.prepare(input: x.descriptor), right.prepare(input: x.descriptor)])
        #expect(outMD.dims == [2, a + b, 4, 4])
        try sum.prepare(x.descriptor, count: 2)
        c.check(name: "concat \(a)+\(b)", input: x, parameters: params,
                forward: { concat.forward([left.forward($0), right.forward($0)]) },
                backward: { dy in
                    let parts = concat.backward(dy)
                    return sum([left.backward(parts[0], .all)!, right.backward(parts[1], .all)!])
                })
        // The concatenation itself: channels of the left branch first, in PyTorch order.
        let y = concat.forward([left.forward(x), right.forward(x)]).read()
        let l = left.forward(x).read()
        #expect(Array(y[0..<(a * 16)]) == Array(l[0..<(a * 16)]))
    }

    @Test("Flatten in PyTorch order with an appended scalar")
    func flattenAppend() throws {
        var c = GradientChecker(engine: engine)
        let conv = Conv2D(inputChannels: 3, outputChannels: 17, kernelSize: 3, engine: engine)
        for p in conv.parameters { p.parameter.set(c.values(p.parameter.count)) }
        let flat = FlattenAppend(engine: engine)
        let x = Tensor(shape: [2, 3, 3, 3], engine: engine)
        x.write(c.values(x.count))
        let outMD = try flat.prepare(input: conv.prepare(input: x.descriptor))
        #expect(outMD.dims == [2, 17 * 9 + 1])
        let scalars: [Float] = [0.25, -0.5]
        c.check(name: "flatten", input: x, parameters: conv.parameters,
                forward: { flat.forward(conv.forward($0), scalars: scalars) },
                backward: { conv.backward(flat.backward($0), .all) })
        let y = flat.forward(conv.forward(x), scalars: scalars).read()
        let convOut = conv.forward(x).read()
        #expect(Array(y[0..<153]) == Array(convOut[0..<153]))
        #expect(y[153] == 0.25 && y[307] == -0.5)
    }

    @Test("Softmax cross-entropy: value and gradient")
    func crossEntropy() throws {
        var c = GradientChecker(engine: engine)
        let logits = Tensor(shape: [3, 6], engine: engine)
        logits.write(c.values(18).map { $0 * 3 })
        let loss = SoftmaxCrossEntropyLoss(engine: engine)
        let targets = [0, 5, 2]
        let value = loss(logits, targets: targets)
        let p = SoftmaxCrossEntropyLoss.softmax(logits)
        let expected = -targets.enumerated().map { i, t in Double(p[i * 6 + t]).logValue }.reduce(0, +) / 3
        #expect(abs(Double(value) - expected) < 1e-5)
        let analytic = loss.gradient!.read()
        c.compare("cross-entropy", analytic: analytic, samples: 18, sourceLocation: #_sourceLocation) { i, delta in
            var v = logits.read()
            v[i] += Float(delta)
            let t = Tensor(shape: [3, 6], engine: engine)
            t.write(v)
            return Double(SoftmaxCrossEntropyLoss(engine: engine)(t, targets: targets))
        }
    }

    @Test("Mean squared error: value and gradient")
    func meanSquaredError() throws {
        var c = GradientChecker(engine: engine)
        let y = Tensor(shape: [4, 1], engine: engine)
        y.write([0.1, 0.2, 0.3, 0.4])
        let loss = MeanSquaredErrorLoss(engine: engine)
        let targets: [Float] = [0, 0.2, 0.5, 0.1]
        let value = loss(y, targets: targets)
        #expect(abs(value - (0.01 + 0 + 0.04 + 0.09) / 4) < 1e-7)
        c.compare("mse", analytic: loss.gradient!.read(), samples: 4, sourceLocation: #_sourceLocation) { i, delta in
            var v = y.read()
            v[i] += Float(delta)
            let t = Tensor(shape: [4, 1], engine: engine)
            t.write(v)
            return Double(MeanSquaredErrorLoss(engine: engine)(t, targets: targets))
        }
    }
}

private extension Double {
    var logValue: Double { log(self) }
}

import Foundation
