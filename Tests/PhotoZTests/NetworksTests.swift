import Testing
import NeuralNet
@testable import PhotoZ

@Suite("Networks")
struct NetworksTests {
    @Test("Inception with the classification head has 27,596,372 parameters, listed by path")
    func inceptionParameterCount() throws {
        let net = try PhotoZNetwork(architecture: .inception, head: .classification)
        #expect(net.parameters.scalarCount == 27_596_372)
        let paths = net.parameters.map(\.path)
        #expect(Set(paths).count == paths.count, "parameter paths are not unique")
        #expect(paths.prefix(3) == ["conv0.weight", "conv0.bias", "conv0.alpha"])
        #expect(paths.contains("i0.b1.conv.weight") && paths.contains("i3.b2.conv.weight"))
        #expect(!paths.contains("i4.b2.conv.weight"), "I4 has no 5x5 branch")
        #expect(paths.suffix(2) == ["out.weight", "out.bias"])
        let fc = net.parameters.filter { $0.path.hasPrefix("fc") || $0.path.hasPrefix("out") }.scalarCount
        #expect(abs(Double(fc) / 27_596_372 - 0.935) < 0.001)
        // Initialisation: biases 0.1, PReLU α 0, Glorot-uniform weights within their bound.
        let named = Dictionary(uniqueKeysWithValues: net.parameters.map { ($0.path, $0.parameter) })
        #expect(named["i0.b3.conv.bias"]!.value.read().allSatisfy { $0 == 0.1 })
        #expect(named["conv0.alpha"]!.value.read().allSatisfy { $0 == 0 })
        let w = named["i0.b2.conv.weight"]!.value.read()
        let bound = Float((6.0 / Double(48 * 25 + 64 * 25)).squareRoot())
        #expect(w.allSatisfy { abs($0) <= bound } && w.contains { abs($0) > bound * 0.9 })
    }

    @Test("Regression heads have one output; the simple CNN matches the reference's size")
    func otherParameterCounts() throws {
        let reg = try PhotoZNetwork(architecture: .inception, head: .regression)
        #expect(reg.parameters.scalarCount == 27_596_372 - 1097 * 179)
        let simple = try PhotoZNetwork(architecture: .simple, head: .classification)
        // conv 5→32, 32→64, 64→128 (3x3), fc 8193→256, out 256→180
        let expected = (5 * 9 + 1) * 32 + (32 * 9 + 1) * 64 + (64 * 9 + 1) * 128 + 8194 * 256 + 257 * 180
        #expect(simple.parameters.scalarCount == expected)
    }

    @Test("bench --section times only the sections asked for; the others are absent from the result")
    func benchmarkSections() throws {
        var bench = NetworkBenchmark(architecture: .simple, head: .classification, batchSize: 2)
        bench.warmup = 0
        bench.repeats = 1
        bench.minTime = 0
        bench.sections = [.inference]
        let r = try bench.run()
        #expect((r.inferenceImagesPerSecond ?? 0) > 0)
        #expect(r.trainImagesPerSecond == nil && r.trainMeanImagesPerSecond == nil && r.inputGradientImagesPerSecond == nil)
        bench.sections = Set(NetworkBenchmarkSection.allCases)
        let all = try bench.run()
        #expect([all.trainImagesPerSecond, all.trainMeanImagesPerSecond, all.inferenceImagesPerSecond,
                 all.inputGradientImagesPerSecond].allSatisfy { ($0 ?? 0) > 0 })
    }

    @Test("Inception runs a batch of one: 180 logits and a PDF that sums to 1")
    func inceptionForward() throws {
        let net = try PhotoZNetwork(architecture: .inception, head: .classification, seed: 3)
        var g = SplitMix64(seed: 9)
        let images = (0..<net.valuesPerImage).map { _ in Float(g.uniform(0, 1)) }
        let y = try net.forward(images: images, ebv: [0.05])
        #expect(y.shape == [1, 180])
        let pdf = net.pdf()
        #expect(abs(pdf.reduce(0, +) - 1) < 1e-4)
        let z = net.pointEstimates()[0]
        #expect(z > 0 && z < 0.4)
    }

    @Test("The simple CNN's input gradient matches finite differences")
    func inputGradient() throws {
        let net = try PhotoZNetwork(architecture: .simple, head: .regression, bands: 2, imageSize: 8, seed: 5)
        var g = SplitMix64(seed: 1)
        var images = (0..<(2 * net.valuesPerImage)).map { _ in Float(g.uniform(-1, 1)) }
        let ebv: [Float] = [0.02, 0.1], z: [Float] = [0.1, 0.3]
        func loss(_ x: [Float]) throws -> Double {
            try net.forward(images: x, ebv: ebv)
            return Double(net.loss(redshifts: z))
        }
        _ = try loss(images)
        let grad = try #require(net.backward(.input))
        #expect(grad.count == images.count)
        let h: Float = 1e-3
        for i in stride(from: 3, to: images.count, by: 29) {
            let saved = images[i]
            images[i] = saved + h
            let up = try loss(images)
            images[i] = saved - h
            let down = try loss(images)
            images[i] = saved
            let fd = (up - down) / Double(2 * h)
            #expect(abs(fd - Double(grad[i])) <= 2e-2 * max(abs(fd), 1e-2), "∂L/∂x[\(i)]: \(grad[i]) vs \(fd)")
        }
    }

    @Test("A few hundred Adam steps drive the loss down on a synthetic problem", arguments: Head.allCases)
    func training(head: Head) throws {
        let net = try PhotoZNetwork(architecture: .simple, head: head, bins: RedshiftBins(count: 8, zMin: 0, zMax: 0.4),
                                    bands: 2, imageSize: 16, seed: 11)
        let adam = Adam(parameters: net.parameters, learningRate: 1e-3)
        var g = SplitMix64(seed: 2)
        // Brightness of band 0 and colour (band 1 / band 0) encode z.
        func batch() -> ([Float], [Float], [Float]) {
            var images: [Float] = [], ebv: [Float] = [], z: [Float] = []
            for _ in 0..<16 {
                let zi = Float(g.uniform(0, 0.4))
                for b in 0..<2 {
                    for _ in 0..<256 { images.append((b == 0 ? 1 - zi : 2 * zi) + Float(g.uniform(-0.1, 0.1))) }
                }
                ebv.append(Float(g.uniform(0, 0.1)))
                z.append(zi)
            }
            return (images, ebv, z)
        }
        var first = 0.0, last = 0.0
        for step in 0..<300 {
            let (x, e, z) = batch()
            try net.forward(images: x, ebv: e)
            let l = Double(net.loss(redshifts: z))
            net.backward(.parameters)
            adam.update()
            if step < 20 { first += l / 20 }
            if step >= 280 { last += l / 20 }
        }
        #expect(last < 0.5 * first, "\(head): mean loss \(first) over the first 20 steps, \(last) over the last 20")
    }
}
