import Foundation
import Testing
@testable import NeuralNet
import CDNNL

/// bf16 convolutions and dense layers against the float32 path.
///
/// Tolerance, derived rather than tuned: bf16 keeps 8 significant bits, so rounding to nearest
/// changes a value by a relative δ with |δ| ≤ u = 2⁻⁸ (half the spacing 2⁻⁷ of [1, 2)). A product
/// of two rounded operands is then off by at most (2u + u²)·|a·b| = (2⁻⁷ + 2⁻¹⁶)·|a·b|, and oneDNN
/// accumulates in float32 (its own error ~2⁻²⁴ per term). So each output Σₖ aₖbₖ differs from the
/// float32 result by at most (2⁻⁷ + 2⁻¹⁶)·Σₖ|aₖbₖ|, plus float32 rounding of both results (the
/// 1e-5·max slack). The bound Σ|aₖbₖ| is computed exactly by the float32 layer itself run on |a|
/// and |b| (and zero bias). Each check also requires some difference: a bf16 engine that
/// silently computed in float32 would fail. (An earlier version took u = 2⁻⁹ and allowed half
/// this; the observed differences stayed within that too, the worst-case derivation does not.)
///
/// Results a bf16 layer writes in bf16 (a convolution's output, the input gradient of a layer
/// whose input is bf16) are rounded once more: by at most u = 2⁻⁸ of the unrounded value, itself
/// within |f32| + (2⁻⁷ + 2⁻¹⁶)·Σ|aₖbₖ| of zero by the bound above, so those checks allow
/// 2⁻⁸·(|f32| + that) on top. Layers between convolutions (PReLU, pooling, concat, the gradient
/// sum) are compared on bf16-representable inputs, where their only error is that one rounding
/// of a float32 result, at most 2⁻⁸·|result|.
@Suite("bf16 layers")
struct BF16Tests {
    /// True when this CPU has native bf16 dot products (else oneDNN emulates bf16 or refuses).
    static let hasNativeBF16: Bool = {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        return info.contains("avx512_bf16") || info.contains("amx_bf16")
    }()

    private func values(_ count: Int, _ g: inout SplitMix64) -> [Float] {
        (0..<count).map { _ in Float(g.uniform(-1, 1)) }
    }

    /// Checks |bf16 − f32| ≤ (2⁻⁷ + 2⁻¹⁶)·bound + 1e-5·max(bound) elementwise (plus
    /// 2⁻⁸·(|f32| + (2⁻⁷ + 2⁻¹⁶)·bound) when `roundedResult`: the bf16 layer wrote a bf16 result);
    /// reports the largest difference relative to the allowance and requires that some value differed.
    private func compare(_ name: String, bf16: [Float], f32: [Float], bound: [Float], roundedResult: Bool = false,
                         sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(bf16.count == f32.count && f32.count == bound.count, "\(name): sizes", sourceLocation: sourceLocation)
        let slack = 1e-5 * Double(bound.map { abs($0) }.max() ?? 0)
        var worst = 0.0, differs = false, failures = 0
        for i in f32.indices {
            let d = abs(Double(bf16[i]) - Double(f32[i]))
            if d > 0 { differs = true }
            let operands = Double(abs(bound[i])) * (0x1p-7 + 0x1p-16)
            let allowed = operands + slack + (roundedResult ? (Double(abs(f32[i])) + operands) * 0x1p-8 : 0)
            worst = max(worst, d / max(allowed, 1e-30))
            if d > allowed { failures += 1 }
        }
        #expect(failures == 0, "\(name): \(failures) of \(f32.count) values beyond the bound (worst at \(worst)× the bound)",
                sourceLocation: sourceLocation)
        #expect(differs, "\(name): bf16 results equal float32 exactly: the bf16 path was not taken", sourceLocation: sourceLocation)
    }

    @Test("Conv2D: output, input gradient and weight gradient within the bf16 rounding bound",
          arguments: [(5, 64, 5, 1), (64, 48, 3, 1), (48, 32, 1, 1), (16, 16, 3, 2)])
    func conv(inC: Int, outC: Int, k: Int, stride: Int) throws {
        try #require(Self.hasNativeBF16, "no AVX512-BF16 on this CPU")
        let f32 = try Engine(precision: .f32), bf16 = try Engine(precision: .bf16)
        var g = SplitMix64(seed: 7)
        let shape = [4, inC, 12, 12]
        let x = values(shape.reduce(1, *), &g)
        let w = values(outC * inC * k * k, &g).map { $0 * 0.2 }
        let b = values(outC, &g)
        func run(_ engine: Engine, x: [Float], w: [Float], b: [Float], dy: [Float]?) throws -> ([Float], [Float], [Float], String) {
            let conv = Conv2D(inputChannels: inC, outputChannels: outC, kernelSize: k, stride: stride, engine: engine)
            conv.weight.set(w)
            conv.bias.set(b)
            let input = Tensor(shape: shape, engine: engine)
            input.write(x)
            let outMD = try conv.prepare(input: input.descriptor)
            let y = conv.forward(input)
            let gradient = Tensor(outMD, engine: engine)
            gradient.write(dy ?? [Float](repeating: 1, count: y.count))
            let dx = conv.backward(gradient, .all)!.read()
            return (y.read(), dx, conv.weight.gradient.read(), conv.implementations)
        }
        let outCount = 4 * outC * ((12 + stride - 1) / stride) * ((12 + stride - 1) / stride)
        let dy = values(outCount, &g)
        let (y32, dx32, dw32, _) = try run(f32, x: x, w: w, b: b, dy: dy)
        let (y16, dx16, dw16, impl) = try run(bf16, x: x, w: w, b: b, dy: dy)
        // The bounds: the same layer in float32 on |x|, |w|, |dy| with zero bias.
        let (yB, dxB, dwB, _) = try run(f32, x: x.map(abs), w: w.map(abs), b: [Float](repeating: 0, count: outC), dy: dy.map(abs))
        // The output is bf16 (rounded once); the input gradient has the float32 input's type.
        compare("conv \(inC)->\(outC) k\(k) s\(stride) output", bf16: y16, f32: y32, bound: yB, roundedResult: true)
        compare("conv \(inC)->\(outC) k\(k) s\(stride) input gradient", bf16: dx16, f32: dx32, bound: dxB)
        compare("conv \(inC)->\(outC) k\(k) s\(stride) weight gradient", bf16: dw16, f32: dw32, bound: dwB)
        #expect(impl.contains("bf16"), "conv \(inC)->\(outC) k\(k): oneDNN picked \(impl)")
    }

    @Test("Linear: output, input gradient and weight gradient within the bf16 rounding bound")
    func linear() throws {
        try #require(Self.hasNativeBF16, "no AVX512-BF16 on this CPU")
        let f32 = try Engine(precision: .f32), bf16 = try Engine(precision: .bf16)
        var g = SplitMix64(seed: 8)
        let (n, i, o) = (8, 300, 40)
        let x = values(n * i, &g), w = values(o * i, &g).map { $0 * 0.1 }, b = values(o, &g), dy = values(n * o, &g)
        func run(_ engine: Engine, x: [Float], w: [Float], b: [Float], dy: [Float]) throws -> ([Float], [Float], [Float]) {
            let layer = Linear(inputFeatures: i, outputFeatures: o, engine: engine)
            layer.weight.set(w)
            layer.bias.set(b)
            let input = Tensor(shape: [n, i], engine: engine)
            input.write(x)
            let outMD = try layer.prepare(input: input.descriptor)
            let y = layer.forward(input).read()
            let gradient = Tensor(outMD, engine: engine)
            gradient.write(dy)
            let dx = layer.backward(gradient, .all)!.read()
            return (y, dx, layer.weight.gradient.read())
        }
        let (y32, dx32, dw32) = try run(f32, x: x, w: w, b: b, dy: dy)
        let (y16, dx16, dw16) = try run(bf16, x: x, w: w, b: b, dy: dy)
        let (yB, dxB, dwB) = try run(f32, x: x.map(abs), w: w.map(abs), b: [Float](repeating: 0, count: o), dy: dy.map(abs))
        compare("linear output", bf16: y16, f32: y32, bound: yB)
        compare("linear input gradient", bf16: dx16, f32: dx32, bound: dxB)
        compare("linear weight gradient", bf16: dw16, f32: dw32, bound: dwB)
    }

    @Test("The master weights stay float32: a bf16 layer reads new values after an update")
    func masterWeightsStayFloat32() throws {
        try #require(Self.hasNativeBF16, "no AVX512-BF16 on this CPU")
        let engine = try Engine(precision: .bf16)
        let layer = Linear(inputFeatures: 4, outputFeatures: 1, biasInitializer: .constant(0), engine: engine)
        // 1 + 2⁻¹² is not representable in bf16: the parameter keeps it, only the copy is rounded.
        let fine: Float = 1 + 0x1p-12
        layer.weight.set([fine, 0, 0, 0])
        #expect(layer.weight.value.read()[0] == fine)
        let x = Tensor(shape: [1, 4], engine: engine)
        x.write([1, 0, 0, 0])
        _ = try layer.prepare(input: x.descriptor)
        #expect(layer.forward(x).read() == [1])          // rounded to bf16 for the product
        layer.weight.set([2, 0, 0, 0])                       // an optimizer step: the copy is refreshed
        #expect(layer.forward(x).read() == [2])
        #expect(layer.weight.value.read()[0] == 2)
    }

    /// `values` rounded to bf16 (so that float32 and bf16 layers see the same inputs).
    private func bf16Representable(_ values: [Float]) -> [Float] {
        values.map { Float(bitPattern: UInt32(UInt16(rounding: $0)) << 16) }
    }

    /// A bf16 tensor with `tag`'s layout holding `values` (bf16-representable).
    private func bf16Tensor(_ shape: [Int], tag: dnnl_format_tag_t, _ values: [Float], _ engine: Engine) -> Tensor {
        let t = Tensor(MemoryDescriptor(dims: shape, tag: tag, type: dnnl_bf16), engine: engine)
        t.write(values)
        #expect(t.read() == values, "bf16 tensor round trip")
        return t
    }

    /// A float32 tensor with `tag`'s layout holding `values`.
    private func f32Tensor(_ shape: [Int], tag: dnnl_format_tag_t, _ values: [Float], _ engine: Engine) -> Tensor {
        let t = Tensor(MemoryDescriptor(dims: shape, tag: tag), engine: engine)
        t.write(values)
        return t
    }

    @Test("A convolution writes bf16 activations and takes them: bf16 input, output and input gradient",
          arguments: [(32, 48, 3), (48, 20, 1), (20, 16, 5)])
    func convOnBF16Activations(inC: Int, outC: Int, k: Int) throws {
        try #require(Self.hasNativeBF16, "no AVX512-BF16 on this CPU")
        let f32 = try Engine(precision: .f32), bf16 = try Engine(precision: .bf16)
        var g = SplitMix64(seed: 11)
        let shape = [4, inC, 10, 10]
        let x = bf16Representable(values(shape.reduce(1, *), &g))
        let w = values(outC * inC * k * k, &g).map { $0 * 0.2 }, b = values(outC, &g)
        let dy = bf16Representable(values(4 * outC * 100, &g))
        func run(_ engine: Engine, x: [Float], w: [Float], b: [Float], dy: [Float]) throws -> ([Float], [Float], [Float], MemoryDescriptor) {
            let conv = Conv2D(inputChannels: inC, outputChannels: outC, kernelSize: k, engine: engine)
            conv.weight.set(w)
            conv.bias.set(b)
            let input = engine.precision == .bf16 ? bf16Tensor(shape, tag: dnnl_aBcd16b, x, engine)
                                                  : f32Tensor(shape, tag: dnnl_aBcd16b, x, engine)
            let outMD = try conv.prepare(input: input.descriptor)
            let y = conv.forward(input)
            let gradient = Tensor(outMD, engine: engine)
            gradient.write(dy)
            let dx = conv.backward(gradient, .all)!
            #expect(dx.descriptor == input.descriptor, "the input gradient has the input's layout and type")
            return (y.read(), dx.read(), conv.weight.gradient.read(), outMD)
        }
        let (y32, dx32, dw32, _) = try run(f32, x: x, w: w, b: b, dy: dy)
        let (y16, dx16, dw16, md16) = try run(bf16, x: x, w: w, b: b, dy: dy)
        #expect(md16.dataType == dnnl_bf16, "the output of a bf16 convolution is bf16: \(md16)")
        let (yB, dxB, dwB, _) = try run(f32, x: x.map(abs), w: w.map(abs), b: [Float](repeating: 0, count: outC), dy: dy.map(abs))
        compare("conv \(inC)->\(outC) k\(k) on bf16 output", bf16: y16, f32: y32, bound: yB, roundedResult: true)
        compare("conv \(inC)->\(outC) k\(k) on bf16 input gradient", bf16: dx16, f32: dx32, bound: dxB, roundedResult: true)
        compare("conv \(inC)->\(outC) k\(k) on bf16 weight gradient", bf16: dw16, f32: dw32, bound: dwB)
    }

    /// Checks |bf16 − f32| ≤ 2⁻⁸·|f32| + 10⁻⁶·max|f32| elementwise (one rounding of an otherwise float32
    /// computation on the same values) and, with `exactWhere`, equality there.
    private func compareRounded(_ name: String, bf16: [Float], f32: [Float], exactWhere exact: ((Int) -> Bool)? = nil,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(bf16.count == f32.count, "\(name): sizes", sourceLocation: sourceLocation)
        var failures = 0, differs = false, worst = 0.0
        let slack = 1e-6 * Double(f32.map { abs($0) }.max() ?? 0)   // float32 rounding in either computation
        for i in f32.indices {
            let d = abs(Double(bf16[i]) - Double(f32[i]))
            if d > 0 { differs = true }
            let allowed = exact?(i) == true ? 0 : Double(abs(f32[i])) * 0x1p-8 + slack
            worst = max(worst, d / max(allowed, 1e-30))
            if d > allowed { failures += 1 }
        }
        #expect(failures == 0, "\(name): \(failures) of \(f32.count) values beyond one bf16 rounding (worst \(worst)× the allowance)",
                sourceLocation: sourceLocation)
        #expect(differs || exact != nil, "\(name): no value was rounded: the bf16 path was not taken", sourceLocation: sourceLocation)
    }

    @Test("PReLU on bf16: one rounding of y and dx where x < 0, exact elsewhere; the same float32 dα",
          arguments: [dnnl_aBcd16b, dnnl_abcd])
    func preluOnBF16(tag: dnnl_format_tag_t) throws {
        let engine = try Engine(precision: .bf16)
        var g = SplitMix64(seed: 12)
        let shape = [3, 20, 5, 5]   // 20 channels: a padded second block
        let x = bf16Representable(values(shape.reduce(1, *), &g)), dy = bf16Representable(values(x.count, &g))
        let alpha = values(20, &g).map { 0.3 * $0 + 0.1 }
        func run(_ make: ([Int], dnnl_format_tag_t, [Float], Engine) -> Tensor) throws -> ([Float], [Float], [Float]) {
            let layer = PReLU(channels: 20, engine: engine)
            layer.alpha.set(alpha)
            let input = make(shape, tag, x, engine)
            _ = try layer.prepare(input: input.descriptor)
            let y = layer.forward(input)
            #expect(y.descriptor == input.descriptor)
            let gradient = make(shape, tag, dy, engine)
            let dx = layer.backward(gradient, .all)!
            return (y.read(), dx.read(), layer.alpha.gradient.read())
        }
        let (y32, dx32, da32) = try run(f32Tensor)
        let (y16, dx16, da16) = try run(bf16Tensor)
        compareRounded("prelu output", bf16: y16, f32: y32, exactWhere: { x[$0] >= 0 })
        compareRounded("prelu input gradient", bf16: dx16, f32: dx32, exactWhere: { x[$0] >= 0 })
        #expect(da16 == da32, "dα from the same bf16-representable x and dy, accumulated in float32 in the same order")
        #expect(zip(y16, y32).contains { $0 != $1 }, "some α·x was rounded to bf16")
    }

    /// The stride-1 average pool's windows overlap: oneDNN 2.6 would accumulate its input
    /// gradient in bf16 (hundreds of roundings off here), so `Pool2D` runs that backward pass in
    /// float32; this checks it is one rounding away from float32.
    @Test("Average and max pooling on bf16: one rounding of the float32 result",
          arguments: [(Pool2D.Kind.average, 1), (.average, 2), (.max, 2)])
    func poolingOnBF16(kind: Pool2D.Kind, stride: Int) throws {
        let engine = try Engine(precision: .bf16)
        var g = SplitMix64(seed: 13)
        let shape = [2, 20, 6, 6]
        let x = bf16Representable(values(shape.reduce(1, *), &g))
        do {
            func run(_ make: ([Int], dnnl_format_tag_t, [Float], Engine) -> Tensor) throws -> ([Float], [Float]) {
                let pool = kind == .max ? MaxPool2D(kernelSize: 2, stride: stride, engine: engine) as Pool2D
                                        : AvgPool2D(kernelSize: 2, stride: stride, paddingHigh: stride == 1 ? 1 : 0, engine: engine)
                let input = make(shape, dnnl_aBcd16b, x, engine)
                let outMD = try pool.prepare(input: input.descriptor)
                #expect(outMD.dataType == input.descriptor.dataType)
                let y = pool.forward(input)
                var gg = SplitMix64(seed: 14)
                let dy = Tensor(outMD, engine: engine)
                dy.write(bf16Representable(values(y.count, &gg)))
                return (y.read(), pool.backward(dy, .input)!.read())
            }
            let (y32, dx32) = try run(f32Tensor), (y16, dx16) = try run(bf16Tensor)
            if kind == .max {
                #expect(y16 == y32 && dx16 == dx32, "max pooling moves values: exact")
            } else {
                compareRounded("avg pool stride \(stride) output", bf16: y16, f32: y32)
                if stride == 1 {
                    compareRounded("avg pool stride 1 input gradient", bf16: dx16, f32: dx32)
                } else {
                    #expect(dx16 == dx32, "non-overlapping 2×2 windows: dx = dy/4, exact in bf16")
                }
            }
        }
    }

    @Test("Concat of bf16 branches with channel counts off the blocks (92 + 64 style), and the bf16 gradient sum",
          arguments: [(12, 20), (16, 32)])
    func concatAndSumOnBF16(a: Int, b: Int) throws {
        let engine = try Engine(precision: .bf16), engine32 = try Engine(precision: .f32)
        var g = SplitMix64(seed: 15)
        let shapeA = [2, a, 4, 4], shapeB = [2, b, 4, 4]
        let xa = bf16Representable(values(shapeA.reduce(1, *), &g)), xb = bf16Representable(values(shapeB.reduce(1, *), &g))
        // Concatenation moves values: bf16 and float32 agree exactly, in PyTorch channel order.
        func concat(_ e: Engine, _ make: ([Int], dnnl_format_tag_t, [Float], Engine) -> Tensor) throws -> ([Float], [[Float]], MemoryDescriptor) {
            let layer = ChannelConcat(engine: e)
            let ta = make(shapeA, dnnl_aBcd16b, xa, e), tb = make(shapeB, dnnl_aBcd16b, xb, e)
            let outMD = try layer.prepare(inputs: [ta.descriptor, tb.descriptor])
            let y = layer.forward([ta, tb]).read()
            let dy = Tensor(outMD, engine: e)
            dy.write(y.map { $0 * 2 })   // exact in bf16
            let parts = layer.backward(dy)
            #expect(parts[0].descriptor == ta.descriptor && parts[1].descriptor == tb.descriptor)
            return (y, parts.map { $0.read() }, outMD)
        }
        let (y32, d32, _) = try concat(engine32, f32Tensor), (y16, d16, md16) = try concat(engine, bf16Tensor)
        #expect(md16.dataType == dnnl_bf16)
        #expect(y16 == y32 && d16 == d32)
        for i in 0..<2 {   // image i: a channels of the first input, then b of the second
            #expect(Array(y16[(i * (a + b) * 16)..<((i * (a + b) + a) * 16)]) == Array(xa[(i * a * 16)..<((i + 1) * a * 16)]))
        }
        #expect(d16[0] == xa.map { $0 * 2 } && d16[1] == xb.map { $0 * 2 })
        // Unaligned channel counts: written straight into 16-channel blocks (BlockedConcatKernels).
        if a % 16 != 0 { #expect(md16.hasLayout(dnnl_aBcd16b), "unaligned branches: 16-channel blocks, got \(md16)") }

        // The sum of three bf16 gradients in a channel-padded layout: one rounding of the float32 sum.
        let terms = (0..<3).map { _ in bf16Representable(values(shapeA.reduce(1, *), &g)) }
        func sum(_ e: Engine, _ make: ([Int], dnnl_format_tag_t, [Float], Engine) -> Tensor) throws -> [Float] {
            let layer = GradientSum(engine: e)
            let tensors = terms.map { make(shapeA, dnnl_aBcd16b, $0, e) }
            try layer.prepare(tensors[0].descriptor, count: 3)
            return layer(tensors).read()
        }
        compareRounded("bf16 gradient sum", bf16: try sum(engine, bf16Tensor), f32: try sum(engine32, f32Tensor))
    }
}
