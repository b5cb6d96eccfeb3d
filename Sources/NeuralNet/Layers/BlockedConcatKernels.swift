import CDNNL
import CNeuralKernels

/// Channel concatenation and its gradient split for tensors blocked by 16 channels
/// (`aBcd16b`, i.e. `nChw16c`), float32 or bf16, whatever the channel counts.
///
/// oneDNN 2.6 concatenates blocked inputs only when every input's channel count is a multiple
/// of the block; the Inception blocks' 92-channel branches (i1, i2–i4's pool branch) made it
/// fall back to its reference concat, into a channels-last output that each consumer then
/// reordered back to blocks (three identical reorders after i1's pool, one per branch). Here
/// each input's 16-channel blocks are copied, per tile of pixels, into a channels-last row at
/// the input's channel offset, and the row is stored as the output's 16-channel blocks (the
/// inverse for the split), so every concatenation writes the blocked layout the next
/// convolutions read. Values are moved bit for bit; channel padding of the output and of the
/// split gradients is written as zeros (oneDNN primitives rely on zero padding).
struct BlockedConcatKernels {
    let batch: Int
    /// H·W.
    let spatial: Int
    /// Channels of each input, in concatenation order.
    let channels: [Int]
    /// First output channel of each input.
    let offsets: [Int]
    let total: Int
    /// True for bf16 tensors (2-byte elements), false for float32.
    let bf16: Bool

    /// Pixels per tile: the row stores of a tile retire before its loads (which straddle them).
    private static let tile = 8

    /// The kernels for `inputs` concatenated into `output`, or nil unless all are `aBcd16b` of one
    /// element type (float32 or bf16) and the same N, H, W, and the output has ΣCᵢ channels.
    init?(inputs: [MemoryDescriptor], output: MemoryDescriptor) {
        guard let first = inputs.first, first.dims.count == 4 else { return nil }
        let type = first.dataType
        guard type == dnnl_f32 || type == dnnl_bf16 else { return nil }
        let d = first.dims
        for x in inputs {
            let e = x.dims
            guard x.dataType == type, e.count == 4, e[0] == d[0], e[2] == d[2], e[3] == d[3], x.hasLayout(dnnl_aBcd16b)
            else { return nil }
        }
        channels = inputs.map { $0.dims[1] }
        total = channels.reduce(0, +)
        guard output.dataType == type, output.dims == [d[0], total, d[2], d[3]], output.hasLayout(dnnl_aBcd16b) else { return nil }
        var offset = 0
        offsets = channels.map { c in defer { offset += c }; return offset }
        batch = d[0]
        spatial = d[2] * d[3]
        bf16 = type == dnnl_bf16
    }

    /// Writes the concatenation of `inputs` into `output` (all in their prepared layouts).
    func concat(_ inputs: [UnsafeRawPointer], into output: UnsafeMutableRawPointer) {
        if bf16 { concat(inputs, output, UInt16.self) } else { concat(inputs, output, UInt32.self) }
    }

    /// Writes the concatenation of PReLU(inputᵢ) into `output`, with `slopes[i]` (channel order,
    /// zero-padded to whole blocks of 16) or the input itself where nil, in one pass with the
    /// AVX-512 kernel (`PReLUKernels.useAVX512` must be true): bit for bit a PReLU pass, then
    /// `concat`.
    func concat(_ inputs: [UnsafeRawPointer], slopes: [UnsafePointer<Float>?], into output: UnsafeMutableRawPointer) {
        precondition(PReLUKernels.useAVX512 && slopes.count == inputs.count, "the fused concat needs AVX-512 and one slope entry per input")
        let element = bf16 ? 2 : 4
        let (s, total, count) = (spatial, total, inputs.count)
        let inputBlocks = channels.map { ($0 + 15) / 16 }
        let (channelList, offsetList) = (channels, offsets)
        nonisolated(unsafe) let (sources, alphas, out) = (inputs, slopes, output)
        let bf16 = self.bf16, rowLength = rowLength
        parallelFor(batch) { n in
            let images = (0..<count).map { sources[$0] + n * inputBlocks[$0] * 16 * s * element }
            let outImage = out + n * ((total + 15) / 16) * 16 * s * element
            channelList.withUnsafeBufferPointer { ch in
                offsetList.withUnsafeBufferPointer { off in
                    alphas.withUnsafeBufferPointer { a in
                        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: Self.tile * rowLength) { row in
                            if bf16 {
                                let from = images.map { Optional($0.assumingMemoryBound(to: UInt16.self)) }
                                from.withUnsafeBufferPointer { f in
                                    photoz_concat_prelu_b16_bf16(count, f.baseAddress!, ch.baseAddress!, off.baseAddress!, a.baseAddress!,
                                                                 outImage.assumingMemoryBound(to: UInt16.self), total, s,
                                                                 UnsafeMutableRawPointer(row.baseAddress!).assumingMemoryBound(to: UInt16.self))
                                }
                            } else {
                                let from = images.map { Optional($0.assumingMemoryBound(to: Float.self)) }
                                from.withUnsafeBufferPointer { f in
                                    photoz_concat_prelu_b16_f32(count, f.baseAddress!, ch.baseAddress!, off.baseAddress!, a.baseAddress!,
                                                                outImage.assumingMemoryBound(to: Float.self), total, s,
                                                                UnsafeMutableRawPointer(row.baseAddress!).assumingMemoryBound(to: Float.self))
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Splits `gradient` (the output's layout) into one gradient per input (each input's layout).
    func split(_ gradient: UnsafeRawPointer, into parts: [UnsafeMutableRawPointer]) {
        if bf16 { split(gradient, parts, UInt16.self) } else { split(gradient, parts, UInt32.self) }
    }

    private var outputBlocks: Int { (total + 15) / 16 }
    /// Elements of one pixel's row: the output's blocks, plus one block of slack for the
    /// last input's unaligned final block.
    private var rowLength: Int { outputBlocks * 16 + 16 }

    private func concat<T: FixedWidthInteger & SIMDScalar>(_ inputs: [UnsafeRawPointer], _ output: UnsafeMutableRawPointer, _: T.Type) {
        nonisolated(unsafe) let sources = inputs.map { $0.assumingMemoryBound(to: T.self) }
        nonisolated(unsafe) let out = output.assumingMemoryBound(to: T.self)
        let (s, outBlocks, rowLength, total, channels, offsets) = (spatial, outputBlocks, rowLength, total, channels, offsets)
        let tile = Self.tile
        parallelFor(batch) { n in
            withUnsafeTemporaryAllocation(of: T.self, capacity: tile * rowLength) { rows in
                let row = rows.baseAddress!
                var p0 = 0
                while p0 < s {
                    let pixels = min(tile, s - p0)
                    for (i, src) in sources.enumerated() {
                        let blocks = (channels[i] + 15) / 16
                        for b in 0..<blocks {
                            let plane = src + ((n * blocks + b) * s + p0) * 16
                            for t in 0..<pixels {
                                let v = UnsafeRawPointer(plane + t * 16).loadUnaligned(as: SIMD16<T>.self)
                                UnsafeMutableRawPointer(row + t * rowLength + offsets[i] + b * 16).storeBytes(of: v, as: SIMD16<T>.self)
                            }
                        }
                    }
                    for t in 0..<pixels {   // the output's channel padding is zero
                        for c in total..<(outBlocks * 16) { row[t * rowLength + c] = 0 }
                    }
                    for k in 0..<outBlocks {
                        let plane = out + ((n * outBlocks + k) * s + p0) * 16
                        for t in 0..<pixels {
                            let v = UnsafeRawPointer(row + t * rowLength + k * 16).loadUnaligned(as: SIMD16<T>.self)
                            UnsafeMutableRawPointer(plane + t * 16).storeBytes(of: v, as: SIMD16<T>.self)
                        }
                    }
                    p0 += pixels
                }
            }
        }
    }

    private func split<T: FixedWidthInteger & SIMDScalar>(_ gradient: UnsafeRawPointer, _ parts: [UnsafeMutableRawPointer], _: T.Type) {
        nonisolated(unsafe) let source = gradient.assumingMemoryBound(to: T.self)
        nonisolated(unsafe) let destinations = parts.map { $0.assumingMemoryBound(to: T.self) }
        let (s, outBlocks, rowLength, channels, offsets) = (spatial, outputBlocks, rowLength, channels, offsets)
        let tile = Self.tile
        parallelFor(batch) { n in
            withUnsafeTemporaryAllocation(of: T.self, capacity: tile * rowLength) { rows in
                let row = rows.baseAddress!
                var p0 = 0
                while p0 < s {
                    let pixels = min(tile, s - p0)
                    for k in 0..<outBlocks {
                        let plane = source + ((n * outBlocks + k) * s + p0) * 16
                        for t in 0..<pixels {
                            let v = UnsafeRawPointer(plane + t * 16).loadUnaligned(as: SIMD16<T>.self)
                            UnsafeMutableRawPointer(row + t * rowLength + k * 16).storeBytes(of: v, as: SIMD16<T>.self)
                        }
                    }
                    for (i, dst) in destinations.enumerated() {
                        let blocks = (channels[i] + 15) / 16
                        for b in 0..<blocks {
                            let plane = dst + ((n * blocks + b) * s + p0) * 16
                            // Lanes past the input's last channel are its padding: zero.
                            let valid = min(16, channels[i] - b * 16)
                            var keep = SIMDMask<SIMD16<T>.MaskStorage>(repeating: true)
                            if valid < 16 { for l in valid..<16 { keep[l] = false } }
                            for t in 0..<pixels {
                                var v = UnsafeRawPointer(row + t * rowLength + offsets[i] + b * 16).loadUnaligned(as: SIMD16<T>.self)
                                if valid < 16 { v.replace(with: 0, where: .!keep) }
                                UnsafeMutableRawPointer(plane + t * 16).storeBytes(of: v, as: SIMD16<T>.self)
                            }
                        }
                    }
                    p0 += pixels
                }
            }
        }
    }
}
