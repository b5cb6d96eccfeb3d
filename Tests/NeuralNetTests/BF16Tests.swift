import Foundation
import Testing
@testable import NeuralNet

/// bf16 convolutions and dense layers against the float32 path.
///
/// Tolerance, derived rather than tuned: bf16 keeps 8 significant bits, so rounding an operand
/// changes it by a relative δ with |δ| ≤ 2⁻⁹ (round to nearest). A product of two rounded
/// operands is then off by at most (2·2⁻⁹ + 2⁻¹⁸)·|a·b| ≤ 2⁻⁸·|a·b|, and oneDNN accumulates in
/// float32 (its own error ~2⁻²⁴ per term). So each output Σₖ aₖbₖ differs from the float32
/// result by at most 2⁻⁸·Σₖ|aₖbₖ|, plus float32 rounding of both results. The bound Σ|aₖbₖ| is
/// computed exactly by the float32 layer itself run on |a| and |b| (and zero bias). Each check
/// also requires some difference: a bf16 engine that silently computed in float32 would fail.
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

    /// Checks |bf16 − f32| ≤ 2⁻⁸·bound + 1e-5·max(bound) elementwise; returns the largest
    /// difference relative to the bound (for the message) and whether any value differed.
    private func compare(_ name: String, bf16: [Float], f32: [Float], bound: [Float],
                         sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(bf16.count == f32.count && f32.count == bound.count, "\(name): sizes", sourceLocation: sourceLocation)
        let slack = 1e-5 * Double(bound.map { abs($0) }.max() ?? 0)
        var worst = 0.0, differs = false, failures = 0
        for i in f32.indices {
            let d = abs(Double(bf16[i]) - Double(f32[i]))
            if d > 0 { differs = true }
            let allowed = Double(abs(bound[i])) / 256 + slack
            worst = max(worst, d / max(allowed, 1e-30))
            if d > allowed { failures += 1 }
        }
        #expect(failures == 0, "\(name): \(failures) of \(f32.count) values beyond 2^-8·Σ|a·b| (worst at \(worst)× the bound)",
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
        compare("conv \(inC)->\(outC) k\(k) s\(stride) output", bf16: y16, f32: y32, bound: yB)
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
}
