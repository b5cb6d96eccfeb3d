import Foundation
import WCS

/// Resamples a frame onto a stamp grid with a separable, normalised Lanczos-3 kernel, scaled
/// by the ratio of pixel areas so that flux is conserved — SWarp's LANCZOS3 resampling.
///
/// Each stamp pixel's centre is mapped to the frame with the frame's own WCS (wcslib). The
/// mapping is computed exactly at the nodes of a coarse grid and interpolated bilinearly in
/// between (`StampMapping`): across a 64-pixel (25″) stamp a TAN mapping departs from a plane
/// by far less than 10⁻⁴ pixel, and one wcslib call per pixel would cost more than the
/// resampling itself. The value is Σ w(x)·w(y)·frame / (Σw(x)·Σw(y)) × |det J|, with J the
/// Jacobian of stamp → frame pixel coordinates (frame pixels per stamp pixel).
///
/// A stamp pixel whose 6×6 kernel footprint leaves the frame is set to NaN and counted as
/// masked; never a silent zero. NaN frame pixels in the footprint also give NaN.
///
/// Stamps whose frame x barely moves along one stamp axis (frames aligned with the stamp or a
/// quarter turn away, as SDSS's are) take a separable path that computes the same sum to first
/// order in the small skew: in SIMD blocks when the stamp's scale is the frame's
/// (`LanczosResampler+Blocks.swift`), else line by line (`LanczosResampler+TwoPass.swift`); the
/// rest, and stamps on an edge or touching a non-finite pixel, take the general path below.
public struct LanczosResampler: Sendable {
    /// The largest error allowed for the interpolated mapping, in frame pixels (see `StampMapping`).
    public var mappingTolerance = 2e-5
    /// Whether stamps whose mapping allows it are resampled in two passes (see
    /// `resampleTwoPass`); false forces the general path everywhere (tests compare the two).
    public var allowsTwoPass = true
    /// Whether the blocked path (`resampleBlocks`) is tried before the per-line two-pass path;
    /// false leaves the latter (tests compare the three).
    public var allowsBlocks = true
    /// Whether the blocked path runs as the AVX2 C kernel where the CPU has AVX2 (bit for bit
    /// the same stamps); false keeps it in Swift (tests compare the two).
    public var allowsVectorKernel = true

    public init() {}

    /// The resampler `photoz cutout` uses: every path, unless the environment variable
    /// `PHOTOZ_RESAMPLING` says `general` (the general path only), `lines` (no blocked path) or
    /// `swift` (the blocked path without its C kernel), for comparing the paths on real frames
    /// (docs/benchmarks.md); any other value is ignored.
    static let forCutout: LanczosResampler = {
        var resampler = LanczosResampler()
        switch ProcessInfo.processInfo.environment["PHOTOZ_RESAMPLING"] {
        case "general": resampler.allowsTwoPass = false
        case "lines": resampler.allowsBlocks = false
        case "swift": resampler.allowsVectorKernel = false
        default: break
        }
        return resampler
    }()

    /// The frame pixel positions (0-based, x then y for each stamp pixel, row by row) of every
    /// stamp pixel centre, and the per-pixel area ratio |det J|: what `resample` uses.
    public func framePositions(grid: StampGrid, wcs: WCS) throws -> (positions: [Double], areaRatio: [Double]) {
        let mapping = try StampMapping(grid: grid, wcs: wcs, tolerance: mappingTolerance)
        let n = grid.size
        var positions = [Double](repeating: .nan, count: 2 * n * n), area = [Double](repeating: .nan, count: n * n)
        var xs = [Double](repeating: 0, count: n), ys = xs, areas = xs
        for j in 0..<n {
            mapping.row(j, x: &xs, y: &ys, area: &areas)
            for i in 0..<n {
                positions[2 * (j * n + i)] = xs[i]
                positions[2 * (j * n + i) + 1] = ys[i]
                area[j * n + i] = areas[i]
            }
        }
        return (positions, area)
    }

    /// Resamples `image` (width × height, x fastest) onto `grid` into `output` (size × size,
    /// x fastest); returns the number of masked (NaN) pixels. `scratch`: working memory reused
    /// from call to call (one per thread); a fresh one when not given.
    @discardableResult
    public func resample(image: UnsafeBufferPointer<Float>, width: Int, height: Int, wcs: WCS, grid: StampGrid,
                         into output: UnsafeMutableBufferPointer<Float>, scratch: LanczosScratch? = nil) throws -> Int {
        try resampleReportingPath(image: image, width: width, height: height, wcs: wcs, grid: grid, into: output, scratch: scratch).masked
    }

    /// The paths a stamp can take, fastest first.
    enum Path { case blocks, twoPass, general }

    /// `resample`, also saying which path was taken (for tests): `twoPass` is true for both
    /// separable paths (blocks and per-line two-pass).
    func resampleReportingPath(image: UnsafeBufferPointer<Float>, width: Int, height: Int, wcs: WCS, grid: StampGrid,
                               into output: UnsafeMutableBufferPointer<Float>, scratch: LanczosScratch? = nil)
        throws -> (masked: Int, twoPass: Bool, path: Path) {
        precondition(image.count == width * height, "image buffer must hold width × height pixels")
        precondition(output.count == grid.size * grid.size, "output buffer must hold size × size pixels")
        let mapping = try StampMapping(grid: grid, wcs: wcs, tolerance: mappingTolerance)
        guard let pixels = image.baseAddress, let out = output.baseAddress else { return (0, false, .general) }
        if allowsTwoPass {
            if allowsBlocks, resampleBlocks(pixels, width: width, height: height, mapping: mapping, into: out, scratch: scratch ?? LanczosScratch()) {
                return (0, true, .blocks)
            }
            if resampleTwoPass(pixels, width: width, height: height, mapping: mapping, into: out) { return (0, true, .twoPass) }
        }
        return (resampleDirect(pixels, width: width, height: height, mapping: mapping, into: out), false, .general)
    }

    /// The general path: the 6 × 6 kernel evaluated at every stamp pixel's own frame position.
    func resampleDirect(_ pixels: UnsafePointer<Float>, width: Int, height: Int, mapping: StampMapping,
                        into out: UnsafeMutablePointer<Float>) -> Int {
        let n = mapping.size
        var masked = 0
        // One stamp row's frame positions and area ratios at a time.
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: 3 * n)
        defer { scratch.deallocate() }
        let xs = scratch, ys = scratch + n, areas = scratch + 2 * n
        Self.table.withUnsafeBufferPointer { table in
            let weights = table.baseAddress!
            for j in 0..<n {
                let row = out + j * n
                mapping.row(j, x: xs, y: ys, area: areas)
                for i in 0..<n {
                    let x = xs[i], y = ys[i], area = areas[i]
                    // Off the projection (NaN) or absurdly far from the frame: outside it (and
                    // never converted to an integer that cannot hold it).
                    guard abs(x) < 1e9, abs(y) < 1e9 else { row[i] = .nan; masked += 1; continue }
                    var ix = Int(x.rounded(.down)), iy = Int(y.rounded(.down))
                    var fx = x - Double(ix), fy = y - Double(iy)
                    // Within a millionth of a pixel of a centre is on it (far below float precision):
                    // a grid equal to the frame's reproduces its pixels exactly.
                    if fx > 1 - 1e-6 { ix += 1; fx = 0 } else if fx < 1e-6 { fx = 0 }
                    if fy > 1 - 1e-6 { iy += 1; fy = 0 } else if fy < 1e-6 { fy = 0 }
                    guard ix - 2 >= 0, ix + 3 < width, iy - 2 >= 0, iy + 3 < height else {
                        row[i] = .nan
                        masked += 1
                        continue
                    }
                    let (wx4, wx2) = Self.tabulated(fx, weights)
                    let (wy4, wy2) = Self.tabulated(fy, weights)
                    // The six frame rows, each weighted by its y weight, summed lane-wise (four
                    // lanes and two: exactly the footprint, so a NaN beside it cannot leak in
                    // through a zero weight); then the x weights.
                    let p = UnsafeRawPointer(pixels + (iy - 2) * width + ix - 2)
                    let stride = width * MemoryLayout<Float>.size
                    @inline(__always) func four(_ r: Int) -> SIMD4<Float> { p.loadUnaligned(fromByteOffset: r * stride, as: SIMD4<Float>.self) }
                    @inline(__always) func two(_ r: Int) -> SIMD2<Float> { p.loadUnaligned(fromByteOffset: r * stride + 16, as: SIMD2<Float>.self) }
                    // Written out row by row: a loop over the six rows kept the weights in memory (measured).
                    var sum4: SIMD4<Float> = wy4[0] * four(0)
                    sum4 += wy4[1] * four(1)
                    sum4 += wy4[2] * four(2)
                    sum4 += wy4[3] * four(3)
                    sum4 += wy2[0] * four(4)
                    sum4 += wy2[1] * four(5)
                    var sum2: SIMD2<Float> = wy4[0] * two(0)
                    sum2 += wy4[1] * two(1)
                    sum2 += wy4[2] * two(2)
                    sum2 += wy4[3] * two(3)
                    sum2 += wy2[0] * two(4)
                    sum2 += wy2[1] * two(5)
                    let value = (sum4 * wx4).sum() + (sum2 * wx2).sum()
                    row[i] = Float(Double(value) * area)
                }
            }
        }
        return masked
    }

    /// Steps per pixel of the weight table.
    static let tableSteps = 2048

    /// Normalised weights at fractions k / tableSteps, k = 0…tableSteps, as four lanes (taps
    /// −2…1) and two (taps 2, 3) per entry, in single precision like the pixels.
    static let table: [(SIMD4<Float>, SIMD2<Float>)] = (0...tableSteps).map { k in
        if k == tableSteps { return (SIMD4(0, 0, 0, 1), SIMD2(0, 0)) }   // f = 1: on the next tap
        let w = weights(Double(k) / Double(tableSteps))
        return (SIMD4(Float(w.0), Float(w.1), Float(w.2), Float(w.3)), SIMD2(Float(w.4), Float(w.5)))
    }

    /// The weights for `fraction`, interpolated linearly in the table: off from `weights` by
    /// about 10⁻⁷ (h²/8 · max|L″| with h = 1/2048), summing to 1 within float rounding, exact
    /// at 0 (a grid equal to the frame's reproduces its pixels). The sines were a fifth of the
    /// run time with many objects per frame.
    @inline(__always)
    static func tabulated(_ fraction: Double, _ table: UnsafePointer<(SIMD4<Float>, SIMD2<Float>)>) -> (SIMD4<Float>, SIMD2<Float>) {
        let position = fraction * Double(tableSteps)
        let k = min(Int(position), tableSteps - 1)
        let t = Float(position - Double(k))
        let a = table[k], b = table[k + 1]
        return (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
    }

    /// `tabulated` as six weights, for tests.
    static func tabulated(_ fraction: Double) -> (Double, Double, Double, Double, Double, Double) {
        let (w4, w2) = table.withUnsafeBufferPointer { tabulated(fraction, $0.baseAddress!) }
        return (Double(w4[0]), Double(w4[1]), Double(w4[2]), Double(w4[3]), Double(w2[0]), Double(w2[1]))
    }

    /// The six normalised Lanczos-3 weights of taps −2…3 for a sample `fraction` ∈ [0, 1) past
    /// the tap at 0. L(t) = sinc(t)·sinc(t/3); with t = f − k, sin(πt) = (−1)ᵏ sin(πf) and
    /// sin(πt/3) follows from sin and cos of πf/3, so one sine gives all six.
    static func weights(_ fraction: Double) -> (Double, Double, Double, Double, Double, Double) {
        if fraction == 0 { return (0, 0, 1, 0, 0, 0) }
        // One sine per axis: a = πf/3 ∈ [0, π/3), so cos a = √(1 − sin²a) and
        // sin(πf) = sin 3a = 3 sin a − 4 sin³a (the trigonometric calls were most of the time).
        let a = Double.pi * fraction / 3
        let sa = sin(a), ca = (1 - sa * sa).squareRoot()
        let s = sa * (3 - 4 * sa * sa)
        let root3 = 0.8660254037844386   // sin(π/3)
        // sin(a − kπ/3) for k = −2…3, by the angle-difference formula.
        let t0 = -0.5 * sa + root3 * ca, t1 = 0.5 * sa + root3 * ca, t2 = sa
        let t3 = 0.5 * sa - root3 * ca, t4 = -0.5 * sa - root3 * ca, t5 = -sa
        let f = fraction
        let c = 3 * s / (Double.pi * Double.pi)
        // (−1)ᵏ for k = −2…3: + − + − + −.
        let w0 = c * t0 / ((f + 2) * (f + 2)), w1 = -c * t1 / ((f + 1) * (f + 1)), w2 = c * t2 / (f * f)
        let w3 = -c * t3 / ((f - 1) * (f - 1)), w4 = c * t4 / ((f - 2) * (f - 2)), w5 = -c * t5 / ((f - 3) * (f - 3))
        let total = w0 + w1 + w2 + w3 + w4 + w5
        return (w0 / total, w1 / total, w2 / total, w3 / total, w4 / total, w5 / total)
    }
}
