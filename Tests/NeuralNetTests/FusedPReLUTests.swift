import Testing
@testable import NeuralNet
import CDNNL

/// The AVX-512 PReLU kernels (`CNeuralKernels`) and the Inception concatenation that applies the
/// branches' last PReLU while it copies (`ChannelConcat.forward(_:activations:)`).
///
/// Both only change where and how the same float32 operations run, so every check is bit for
/// bit: the C kernels against the Swift SIMD16 loops they replace (which remain the path for
/// CPUs without AVX-512), and the fused concatenation against a PReLU pass followed by the
/// concatenation, padding lanes included (oneDNN's convolutions read padded blocks as zeros).
@Suite("Fused PReLU", .enabled(if: PReLUKernels.useAVX512, "needs a CPU with AVX-512"))
struct FusedPReLUTests {
    /// Values with both signs, zeros of both signs, and (for float32) values bf16 cannot hold.
    private func values(_ count: Int, _ g: inout SplitMix64) -> [Float] {
        (0..<count).map { i in
            switch i % 37 {
            case 0: return 0
            case 1: return -0.0
            default: return Float(g.uniform(-2, 2))
            }
        }
    }

    private func bytes(_ t: Tensor) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: t.rawPointer, count: t.descriptor.byteCount))
    }

    private func blocked(_ shape: [Int], _ type: dnnl_data_type_t, _ values: [Float], _ engine: Engine) -> Tensor {
        let t = Tensor(MemoryDescriptor(dims: shape, tag: dnnl_aBcd16b, type: type), engine: engine)
        t.write(values)
        return t
    }

    @Test("AVX-512 PReLU kernels: forward, dx and dα bit for bit the Swift kernels'",
          arguments: [(dnnl_f32, 92), (dnnl_bf16, 92), (dnnl_bf16, 20), (dnnl_f32, 16), (dnnl_bf16, 64)])
    func kernels(type: dnnl_data_type_t, channels: Int) throws {
        let engine = try Engine(precision: type == dnnl_bf16 ? .bf16 : .f32)
        var g = SplitMix64(seed: 31)
        let shape = [3, channels, 5, 3]
        let count = shape.reduce(1, *)
        let x = blocked(shape, type, values(count, &g), engine), dy = blocked(shape, type, values(count, &g), engine)
        let alpha = (0..<channels).map { c in c % 5 == 0 ? 0 : Float(g.uniform(-0.5, 1.5)) }
        let kernels = try #require(PReLUKernels(x.descriptor))
        var results: [[UInt8]] = []
        var slopeGradients: [[Float]] = []
        for avx512 in [false, true] {
            let y = Tensor(x.descriptor, engine: engine), dx = Tensor(x.descriptor, engine: engine)
            var dAlpha = [Float](repeating: .nan, count: channels)
            alpha.withUnsafeBufferPointer { a in
                kernels.forward(x: x.rawPointer, alpha: a.baseAddress!, y: y.rawPointer, avx512: avx512)
                dAlpha.withUnsafeMutableBufferPointer { d in
                    kernels.backward(x: x.rawPointer, alpha: a.baseAddress!, dy: dy.rawPointer, dx: dx.rawPointer,
                                     dAlpha: d.baseAddress!, avx512: avx512)
                }
            }
            results.append(bytes(y) + bytes(dx))
            slopeGradients.append(dAlpha)
        }
        #expect(results[0] == results[1], "y and dx differ between the Swift and the AVX-512 kernels")
        #expect(slopeGradients[0].map(\.bitPattern) == slopeGradients[1].map(\.bitPattern))
        #expect(slopeGradients[1].contains { $0 != 0 }, "dα should not be trivially zero")
    }

    @Test("Concatenation applying the branches' PReLU: bit for bit PReLU then concat, and the same backward",
          arguments: [(dnnl_bf16, [32, 16, 20, 48]), (dnnl_f32, [64, 48, 64, 48]), (dnnl_bf16, [92, 92, 92, 64]),
                      (dnnl_f32, [92, 92, 92, 64]), (dnnl_bf16, [7, 20, 16, 5])])
    func fusedConcat(type: dnnl_data_type_t, channels: [Int]) throws {
        let engine = try Engine(precision: type == dnnl_bf16 ? .bf16 : .f32)
        var g = SplitMix64(seed: 32)
        let (n, h, w) = (3, 5, 3)   // 15 pixels: one full tile of 8 and a partial one
        let xs = channels.map { blocked([n, $0, h, w], type, values(n * $0 * h * w, &g), engine) }
        // Branches 0, 1 and 3 end in a PReLU; branch 2 (like the pool branch) is copied as it is.
        let activations: [PReLU?] = channels.enumerated().map { i, c in
            guard i != 2 else { return nil }
            let p = PReLU(channels: c, engine: engine)
            p.alpha.value.write((0..<c).map { k in k % 7 == 0 ? 0 : Float(g.uniform(-0.5, 1.5)) })
            return p
        }
        for (p, x) in zip(activations, xs) { _ = try p?.prepare(input: x.descriptor) }
        let concat = ChannelConcat(engine: engine)
        let outMD = try concat.prepare(inputs: xs.map(\.descriptor))
        #expect(concat.appliesPReLU)

        let separate = bytes(concat.forward(zip(activations, xs).map { p, x in p?.forward(x) ?? x }))
        for (p, x) in zip(activations, xs) { p?.forwardDeferred(x) }
        let fusedOutput = concat.forward(xs, activations: activations)
        #expect(fusedOutput.descriptor == outMD)
        #expect(bytes(fusedOutput) == separate, "fused output differs from PReLU then concat")

        // Backward after the fused forward sees the pre-activation it needs.
        let total = channels.reduce(0, +)
        let dy = Tensor(outMD, engine: engine)
        dy.write(values(n * total * h * w, &g))
        let parts = concat.backward(dy)
        let p0 = try #require(activations[0])
        let fusedDx = bytes(try #require(p0.backward(parts[0], .all))), fusedDAlpha = p0.alpha.gradient.read()
        _ = p0.forward(xs[0])
        #expect(bytes(try #require(p0.backward(parts[0], .all))) == fusedDx)
        #expect(p0.alpha.gradient.read() == fusedDAlpha)
    }
}
