import Testing
@testable import NeuralNet
import CDNNL

/// The hand-written concatenation into 16-channel blocks (`BlockedConcatKernels`), which
/// replaces oneDNN 2.6's reference concat (and the channels-last detour) when the branches'
/// channel counts split the blocks, as Inception block i1's 92-channel branches do.
///
/// Concatenation and its split only move values, so the checks are exact (float32 and bf16
/// alike) against the concatenation computed here from each input's plain values, in PyTorch
/// channel order; the channel padding of the output and of the split gradients must be zero,
/// because oneDNN's convolutions and pooling read padded blocks assuming zeros.
@Suite("Blocked concat")
struct BlockedConcatTests {
    private func values(_ count: Int, _ g: inout SplitMix64) -> [Float] {
        // bf16-representable, so a bf16 tensor holds them exactly.
        (0..<count).map { _ in Float(bitPattern: UInt32(UInt16(rounding: Float(g.uniform(-1, 1)))) << 16) }
    }

    /// Plain (N, ΣC, H, W) concatenation of plain (N, Cᵢ, H, W) arrays.
    private func reference(_ parts: [[Float]], channels: [Int], n: Int, spatial: Int) -> [Float] {
        var out: [Float] = []
        for i in 0..<n {
            for (p, c) in zip(parts, channels) { out += p[(i * c * spatial)..<((i + 1) * c * spatial)] }
        }
        return out
    }

    /// The physical buffer's padding lanes (channels ≥ C in the last block) of an `aBcd16b` tensor.
    private func paddingLanes(_ t: Tensor) -> [Float] {
        let d = t.shape, (n, c, s) = (d[0], d[1], d[2] * d[3]), blocks = (c + 15) / 16
        guard c % 16 != 0 else { return [] }
        var out: [Float] = []
        for i in 0..<n {
            for p in 0..<s {
                for lane in (c % 16)..<16 {
                    let index = ((i * blocks + blocks - 1) * s + p) * 16 + lane
                    out.append(t.descriptor.dataType == dnnl_bf16 ? t.bf16Pointer[index].float : t.pointer[index])
                }
            }
        }
        return out
    }

    @Test("Unaligned branches into 16-channel blocks: forward and gradient split exact, padding zero",
          arguments: [(dnnl_f32, [92, 92, 92, 64]), (dnnl_bf16, [92, 92, 92, 64]), (dnnl_bf16, [7, 20, 16, 5]),
                      (dnnl_f32, [3, 13])])
    func unaligned(type: dnnl_data_type_t, channels: [Int]) throws {
        let engine = try Engine(precision: type == dnnl_bf16 ? .bf16 : .f32)
        var g = SplitMix64(seed: 21)
        let (n, h, w) = (3, 5, 3)   // 15 pixels: one full tile of 8 and a partial one
        let shapes = channels.map { [n, $0, h, w] }
        let xs = shapes.map { values($0.reduce(1, *), &g) }
        let inputs: [Tensor] = zip(shapes, xs).map { shape, x in
            let t = Tensor(MemoryDescriptor(dims: shape, tag: dnnl_aBcd16b, type: type), engine: engine)
            t.write(x)
            return t
        }
        let layer = ChannelConcat(engine: engine)
        let outMD = try layer.prepare(inputs: inputs.map(\.descriptor))
        let total = channels.reduce(0, +)
        #expect(outMD == MemoryDescriptor(dims: [n, total, h, w], tag: dnnl_aBcd16b, type: type),
                "the blocked layout the next convolution reads, got \(outMD)")
        let y = layer.forward(inputs)
        #expect(y.read() == reference(xs, channels: channels, n: n, spatial: h * w))
        #expect(paddingLanes(y).allSatisfy { $0 == 0 })

        let dyValues = values(n * total * h * w, &g)
        let dy = Tensor(outMD, engine: engine)
        dy.write(dyValues)
        // Non-zero padding in the incoming gradient must not leak into the branches' padding.
        let blocks = (total + 15) / 16
        if total % 16 != 0 {
            for i in 0..<n {
                for p in 0..<(h * w) {
                    let index = ((i * blocks + blocks - 1) * h * w + p) * 16 + 15
                    if type == dnnl_bf16 { dy.bf16Pointer[index] = UInt16(rounding: 7) } else { dy.pointer[index] = 7 }
                }
            }
        }
        let parts = layer.backward(dy)
        var offset = 0
        for (i, part) in parts.enumerated() {
            #expect(part.descriptor == inputs[i].descriptor)
            var expected: [Float] = []
            for b in 0..<n {
                let start = (b * total + offset) * h * w
                expected += dyValues[start..<(start + channels[i] * h * w)]
            }
            #expect(part.read() == expected, "gradient of input \(i) (\(channels[i]) channels at offset \(offset))")
            #expect(paddingLanes(part).allSatisfy { $0 == 0 }, "padding of input \(i)'s gradient")
            offset += channels[i]
        }
        // A second pass reuses the buffers and gives the same result.
        #expect(layer.forward(inputs).read() == reference(xs, channels: channels, n: n, spatial: h * w))
    }

    @Test("Aligned branches keep oneDNN's own concat (same values)")
    func aligned() throws {
        let engine = try Engine(precision: .bf16)
        var g = SplitMix64(seed: 22)
        let channels = [64, 48], (n, h, w) = (2, 4, 4)
        let xs = channels.map { values(n * $0 * h * w, &g) }
        let inputs: [Tensor] = zip(channels, xs).map { c, x in
            let t = Tensor(MemoryDescriptor(dims: [n, c, h, w], tag: dnnl_aBcd16b, type: dnnl_bf16), engine: engine)
            t.write(x)
            return t
        }
        let layer = ChannelConcat(engine: engine)
        _ = try layer.prepare(inputs: inputs.map(\.descriptor))
        #expect(layer.forward(inputs).read() == reference(xs, channels: channels, n: n, spatial: h * w))
    }
}
