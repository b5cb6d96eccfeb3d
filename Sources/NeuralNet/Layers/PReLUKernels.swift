import CDNNL
import CNeuralKernels
import Foundation

/// Hand-written PReLU kernels for the layouts the networks use (channel-blocked by 16, plain),
/// float32 or bf16.
///
/// oneDNN 2.6's PReLU primitive runs far below memory bandwidth on per-channel slopes in
/// blocked layouts (measured ~10× slower than a ReLU of the same size), so the forward and
/// backward passes are done here with 16-wide SIMD over the channel blocks. Other layouts use
/// the oneDNN primitive. bf16 tensors are widened to float32 exactly, computed in float32 and
/// rounded to nearest even once (as oneDNN rounds), so y = x and dx = dy exactly where x > 0;
/// dα is accumulated in float32.
struct PReLUKernels {
    /// How channels are laid out in memory.
    enum Layout {
        /// (N, C/16, spatial, 16): `aBcd16b` (or `aBc16b` for 3-D tensors).
        case blocked16(batch: Int, channels: Int, spatial: Int)
        /// (N, C, spatial) row-major.
        case plain(batch: Int, channels: Int, spatial: Int)
    }

    let layout: Layout
    /// True for bf16 tensors (x, y, dy, dx); α and dα are float32 either way.
    let bf16: Bool

    /// Whether the blocked layout runs the AVX-512 C kernels (`CNeuralKernels`) rather than the
    /// Swift SIMD16 loops, which the x86-64 baseline build compiles to SSE: true when the CPU and
    /// OS run AVX-512. Results are bit for bit the same either way (tested with `avx512: false`).
    static let useAVX512 = photoz_kernels_have_avx512() != 0

    /// The kernel layout for `descriptor`, or nil when it is neither plain nor blocked by 16 on C,
    /// or its element type is neither float32 nor bf16.
    init?(_ descriptor: MemoryDescriptor) {
        let d = descriptor.dims
        guard d.count >= 2 else { return nil }
        switch descriptor.dataType {
        case dnnl_f32: bf16 = false
        case dnnl_bf16: bf16 = true
        default: return nil
        }
        let spatial = d.dropFirst(2).reduce(1, *)
        if descriptor.hasPlainLayout {
            layout = .plain(batch: d[0], channels: d[1], spatial: spatial)
            return
        }
        let tags: [dnnl_format_tag_t] = [dnnl_aBc16b, dnnl_aBcd16b]
        guard d.count >= 3, d.count - 3 < tags.count, descriptor.hasLayout(tags[d.count - 3]) else { return nil }
        layout = .blocked16(batch: d[0], channels: d[1], spatial: spatial)
    }

    /// y = x > 0 ? x : α_c·x.
    /// `avx512`: the C kernels for the blocked layout (only where `useAVX512`), or the Swift loops.
    func forward(x: UnsafeRawPointer, alpha: UnsafePointer<Float>, y: UnsafeMutableRawPointer, avx512: Bool = useAVX512) {
        precondition(!avx512 || Self.useAVX512, "AVX-512 kernels requested on a CPU without AVX-512")
        if bf16 {
            forward(x: x.assumingMemoryBound(to: UInt16.self), alpha: alpha, y: y.assumingMemoryBound(to: UInt16.self), avx512: avx512)
        } else {
            forward(x: x.assumingMemoryBound(to: Float.self), alpha: alpha, y: y.assumingMemoryBound(to: Float.self), avx512: avx512)
        }
    }

    /// dx = x > 0 ? dy : α_c·dy and dα_c = Σ dy·x over x < 0 (written into `dAlpha`).
    func backward(x: UnsafeRawPointer, alpha: UnsafePointer<Float>, dy: UnsafeRawPointer,
                  dx: UnsafeMutableRawPointer, dAlpha: UnsafeMutablePointer<Float>, avx512: Bool = useAVX512) {
        precondition(!avx512 || Self.useAVX512, "AVX-512 kernels requested on a CPU without AVX-512")
        if bf16 {
            backward(x: x.assumingMemoryBound(to: UInt16.self), alpha: alpha, dy: dy.assumingMemoryBound(to: UInt16.self),
                     dx: dx.assumingMemoryBound(to: UInt16.self), dAlpha: dAlpha, avx512: avx512)
        } else {
            backward(x: x.assumingMemoryBound(to: Float.self), alpha: alpha, dy: dy.assumingMemoryBound(to: Float.self),
                     dx: dx.assumingMemoryBound(to: Float.self), dAlpha: dAlpha, avx512: avx512)
        }
    }

    private func forward<E: PReLUElement>(x: UnsafePointer<E>, alpha: UnsafePointer<Float>, y: UnsafeMutablePointer<E>, avx512: Bool) {
        nonisolated(unsafe) let (x, y) = (x, y)
        switch layout {
        case let .blocked16(n, c, s) where avx512:
            let blocks = (c + 15) / 16
            let a = Self.paddedAlpha(alpha, channels: c)
            parallelFor(n * blocks) { job in
                let base = job * s * 16, slope = a.values + (job % blocks) * 16
                if E.self == UInt16.self {
                    photoz_prelu_forward_b16_bf16(UnsafeRawPointer(x + base).assumingMemoryBound(to: UInt16.self), slope,
                                                  UnsafeMutableRawPointer(y + base).assumingMemoryBound(to: UInt16.self), s)
                } else {
                    photoz_prelu_forward_b16_f32(UnsafeRawPointer(x + base).assumingMemoryBound(to: Float.self), slope,
                                                 UnsafeMutableRawPointer(y + base).assumingMemoryBound(to: Float.self), s)
                }
            }
        case let .blocked16(n, c, s):
            let blocks = (c + 15) / 16
            let a = Self.alphaBlocks(alpha, channels: c, E.self)
            parallelFor(n * blocks) { job in
                let slope = a[job % blocks]
                let base = job * s * 16
                for i in 0..<s {
                    let v = E.load16(x + base + i * 16)
                    E.store16(v.replacing(with: v * slope, where: v .< 0), y + base + i * 16)
                }
            }
        case let .plain(n, c, s):
            nonisolated(unsafe) let alpha = alpha
            parallelFor(n * c) { job in
                let slope = alpha[job % c], base = job * s
                for i in base..<(base + s) {
                    let v = x[i].float
                    y[i] = v < 0 ? E(rounding: v * slope) : x[i]
                }
            }
        }
    }

    private func backward<E: PReLUElement>(x: UnsafePointer<E>, alpha: UnsafePointer<Float>, dy: UnsafePointer<E>,
                                           dx: UnsafeMutablePointer<E>, dAlpha: UnsafeMutablePointer<Float>, avx512: Bool) {
        nonisolated(unsafe) let (x, dy, dx) = (x, dy, dx)
        switch layout {
        case let .blocked16(n, c, s) where avx512:
            let blocks = (c + 15) / 16
            let a = Self.paddedAlpha(alpha, channels: c)
            let partial = PartialSums(jobs: n * blocks, width: 16)
            parallelFor(n * blocks) { job in
                let base = job * s * 16, slope = a.values + (job % blocks) * 16, sums = partial.values + job * 16
                if E.self == UInt16.self {
                    photoz_prelu_backward_b16_bf16(UnsafeRawPointer(x + base).assumingMemoryBound(to: UInt16.self), slope,
                                                   UnsafeRawPointer(dy + base).assumingMemoryBound(to: UInt16.self),
                                                   UnsafeMutableRawPointer(dx + base).assumingMemoryBound(to: UInt16.self), sums, s)
                } else {
                    photoz_prelu_backward_b16_f32(UnsafeRawPointer(x + base).assumingMemoryBound(to: Float.self), slope,
                                                  UnsafeRawPointer(dy + base).assumingMemoryBound(to: Float.self),
                                                  UnsafeMutableRawPointer(dx + base).assumingMemoryBound(to: Float.self), sums, s)
                }
            }
            for ch in 0..<c {
                let (b, k) = (ch / 16, ch % 16)
                var total: Float = 0
                for i in 0..<n { total += partial.values[(i * blocks + b) * 16 + k] }
                dAlpha[ch] = total
            }
        case let .blocked16(n, c, s):
            let blocks = (c + 15) / 16
            let a = Self.alphaBlocks(alpha, channels: c, E.self)
            let partial = PartialSums(jobs: n * blocks, width: 16)
            parallelFor(n * blocks) { job in
                let slope = a[job % blocks]
                let base = job * s * 16
                var acc = SIMD16<Float>()
                for i in 0..<s {
                    let v = E.load16(x + base + i * 16), g = E.load16(dy + base + i * 16)
                    let negative = v .< 0
                    E.store16(g.replacing(with: g * slope, where: negative), dx + base + i * 16)
                    acc += (g * v).replacing(with: 0, where: .!negative)
                }
                for k in 0..<16 { partial.values[job * 16 + E.channel(ofLane: k)] = acc[k] }
            }
            for ch in 0..<c {
                let (b, k) = (ch / 16, ch % 16)
                var total: Float = 0
                for i in 0..<n { total += partial.values[(i * blocks + b) * 16 + k] }
                dAlpha[ch] = total
            }
        case let .plain(n, c, s):
            nonisolated(unsafe) let alpha = alpha
            let partial = PartialSums(jobs: n * c, width: 1)
            parallelFor(n * c) { job in
                let slope = alpha[job % c], base = job * s
                var acc: Float = 0
                for i in base..<(base + s) {
                    let v = x[i].float, g = dy[i].float
                    if v < 0 {
                        dx[i] = E(rounding: g * slope)
                        acc += g * v
                    } else {
                        dx[i] = dy[i]
                    }
                }
                partial.values[job] = acc
            }
            for ch in 0..<c {
                var total: Float = 0
                for i in 0..<n { total += partial.values[i * c + ch] }
                dAlpha[ch] = total
            }
        }
    }

    /// y = x > 0 ? x : α_c·x over one 16-channel block of `pixels` pixels (`alpha16`: that
    /// block's 16 slopes in channel order), with the AVX-512 kernel; for consumers that write
    /// the activation straight into their own output (`ChannelConcat`). Needs `useAVX512`.
    static func forwardBlock(_ x: UnsafeRawPointer, alpha16: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer,
                             pixels: Int, bf16: Bool) {
        precondition(useAVX512, "the single-block PReLU kernel needs AVX-512")
        if bf16 {
            photoz_prelu_forward_b16_bf16(x.assumingMemoryBound(to: UInt16.self), alpha16,
                                          y.assumingMemoryBound(to: UInt16.self), pixels)
        } else {
            photoz_prelu_forward_b16_f32(x.assumingMemoryBound(to: Float.self), alpha16,
                                         y.assumingMemoryBound(to: Float.self), pixels)
        }
    }

    /// α in channel order, zero-padded to whole blocks of 16 (for the C kernels).
    private static func paddedAlpha(_ alpha: UnsafePointer<Float>, channels c: Int) -> PartialSums {
        let padded = PartialSums(jobs: (c + 15) / 16, width: 16)
        padded.values.update(from: alpha, count: c)
        return padded
    }

    /// α as 16-wide blocks in `E`'s lane order, zero-padded.
    private static func alphaBlocks<E: PReLUElement>(_ alpha: UnsafePointer<Float>, channels c: Int, _: E.Type) -> [SIMD16<Float>] {
        (0..<((c + 15) / 16)).map { b in
            var v = SIMD16<Float>()
            for k in 0..<16 where b * 16 + E.channel(ofLane: k) < c { v[k] = alpha[b * 16 + E.channel(ofLane: k)] }
            return v
        }
    }
}

/// An element type the hand-written kernels read and write: float32 as is, bf16 widened to and
/// rounded from float32. `load16` may return the 16 values in another lane order (the same for
/// every load, undone by `store16`); `channel(ofLane:)` says which of the 16 each lane holds.
protocol PReLUElement {
    var float: Float { get }
    init(rounding value: Float)
    static func load16(_ p: UnsafePointer<Self>) -> SIMD16<Float>
    static func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Self>)
    static func channel(ofLane k: Int) -> Int
}

extension Float: PReLUElement {
    @inline(__always) var float: Float { self }
    @inline(__always) init(rounding value: Float) { self = value }
    @inline(__always) static func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }
    @inline(__always) static func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
    }
    @inline(__always) static func channel(ofLane k: Int) -> Int { k }
}

/// bf16 as its 16 bits: the upper half of the float32 with the same sign, exponent and the 7
/// leading mantissa bits. Sixteen values are loaded as eight 32-bit pairs, which widen with one
/// shift (even elements) and one mask (odd ones): lanes 0–7 hold elements 0, 2, …, 14 and lanes
/// 8–15 elements 1, 3, …, 15. (Swift's generic lane-by-lane integer conversions of SIMD16 were
/// not inlined: 2 % of a bf16 training step in `perf`.)
extension UInt16: PReLUElement {
    @inline(__always) var float: Float { Float(bitPattern: UInt32(self) << 16) }
    @inline(__always) init(rounding value: Float) { self = BF16.round(value) }
    @inline(__always) static func load16(_ p: UnsafePointer<UInt16>) -> SIMD16<Float> {
        let pairs = UnsafeRawPointer(p).loadUnaligned(as: SIMD8<UInt32>.self)
        return SIMD16(lowHalf: unsafeBitCast(pairs &<< 16, to: SIMD8<Float>.self),
                      highHalf: unsafeBitCast(pairs & 0xFFFF_0000, to: SIMD8<Float>.self))
    }
    @inline(__always) static func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<UInt16>) {
        let even = BF16.roundedHigh(v.lowHalf) &>> 16, odd = BF16.roundedHigh(v.highHalf)
        UnsafeMutableRawPointer(p).storeBytes(of: even | odd, as: SIMD8<UInt32>.self)
    }
    @inline(__always) static func channel(ofLane k: Int) -> Int { k < 8 ? 2 * k : 2 * (k - 8) + 1 }
}

/// Conversions between float32 and bf16 bit patterns, rounding to nearest, ties to even (as
/// `vcvtneps2bf16` and oneDNN's reorders); NaN stays NaN.
enum BF16 {
    /// The bf16 rounding of each value, in the upper 16 bits (the lower 16 are zero).
    @inline(__always) static func roundedHigh(_ f: SIMD8<Float>) -> SIMD8<UInt32> {
        let bits = unsafeBitCast(f, to: SIMD8<UInt32>.self)
        var r = (bits &+ 0x7FFF &+ ((bits &>> 16) & 1)) & 0xFFFF_0000
        r.replace(with: 0x7FC0_0000, where: f .!= f)
        return r
    }

    /// The scalar rounding.
    @inline(__always) static func round(_ f: Float) -> UInt16 {
        if f.isNaN { return 0x7FC0 }
        let bits = f.bitPattern
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }
}

/// Per-job partial sums written from parallel jobs (each job its own slots).
private final class PartialSums: @unchecked Sendable {
    let values: UnsafeMutablePointer<Float>
    init(jobs: Int, width: Int) {
        values = .allocate(capacity: jobs * width)
        values.initialize(repeating: 0, count: jobs * width)
    }
    deinit { values.deallocate() }
}

/// Runs `body(job)` for every job in `0..<count`, split over two threads when it is worth it.
func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count < 2 {
        for j in 0..<count { body(j) }
        return
    }
    withoutActuallyEscaping(body) { escaping in
        nonisolated(unsafe) let work = escaping
        let threads = min(count, ProcessInfo.processInfo.activeProcessorCount)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var j = t
            while j < count {
                work(j)
                j += threads
            }
        }
    }
}
