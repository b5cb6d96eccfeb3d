import Foundation
import WCS

/// Resamples a frame onto a stamp grid with a separable, normalised Lanczos-3 kernel, scaled
/// by the ratio of pixel areas so that flux is conserved — SWarp's LANCZOS3 resampling.
///
/// Each stamp pixel's centre is mapped to the frame with the frame's own WCS (wcslib). The
/// mapping is computed exactly at nodes every `nodeSpacing` stamp pixels and interpolated
/// bilinearly in between: across a 64-pixel (25″) stamp the TAN mapping departs from a plane
/// by far less than 10⁻⁴ pixel (tested), and one wcslib call per pixel would cost more than
/// the resampling itself. The value is Σ w(x)·w(y)·frame / (Σw(x)·Σw(y)) × |det J|, with J
/// the Jacobian of stamp → frame pixel coordinates (frame pixels per stamp pixel).
///
/// A stamp pixel whose 6×6 kernel footprint leaves the frame is set to NaN and counted as
/// masked; never a silent zero. NaN frame pixels in the footprint also give NaN.
public struct LanczosResampler: Sendable {
    /// Stamp pixels between exact WCS evaluations.
    public var nodeSpacing = 8

    public init() {}

    /// The frame pixel positions (0-based, x then y for each stamp pixel, row by row) of every
    /// stamp pixel centre, and the per-pixel area ratio |det J|.
    public func framePositions(grid: StampGrid, wcs: WCS) throws -> (positions: [Double], areaRatio: [Double]) {
        let n = grid.size
        var nodes = Array(stride(from: 0, to: n - 1, by: nodeSpacing))
        nodes.append(n - 1)
        if n == 1 { nodes = [0] }
        let m = nodes.count
        var sky = [Double]()
        sky.reserveCapacity(2 * m * m)
        for j in nodes { for i in nodes {
            let p = grid.sky(x: Double(i), y: Double(j))
            sky += [p.ra, p.dec]
        } }
        let exact = try wcs.pixels(sky: sky)   // (m·m) (x, y) pairs, FITS 1-based
        // Position of every stamp coordinate within its node cell.
        var cell = [Int](repeating: 0, count: n), fraction = [Double](repeating: 0, count: n)
        var c = 0
        for i in 0..<n {
            while c + 2 < m && nodes[c + 1] <= i { c += 1 }
            cell[i] = m == 1 ? 0 : c
            fraction[i] = m == 1 ? 0 : Double(i - nodes[c]) / Double(nodes[c + 1] - nodes[c])
        }
        func node(_ a: Int, _ b: Int) -> (Double, Double) { (exact[2 * (b * m + a)] - 1, exact[2 * (b * m + a) + 1] - 1) }
        var positions = [Double](repeating: .nan, count: 2 * n * n)
        var area = [Double](repeating: .nan, count: n * n)
        for j in 0..<n { for i in 0..<n {
            let a = cell[i], b = cell[j]
            if m == 1 { (positions[2 * (j * n + i)], positions[2 * (j * n + i) + 1]) = node(0, 0); continue }
            let u = fraction[i], v = fraction[j]
            let p00 = node(a, b), p10 = node(a + 1, b), p01 = node(a, b + 1), p11 = node(a + 1, b + 1)
            let x = (1 - v) * ((1 - u) * p00.0 + u * p10.0) + v * ((1 - u) * p01.0 + u * p11.0)
            let y = (1 - v) * ((1 - u) * p00.1 + u * p10.1) + v * ((1 - u) * p01.1 + u * p11.1)
            positions[2 * (j * n + i)] = x
            positions[2 * (j * n + i) + 1] = y
            // The bilinear map's derivatives at this point, per stamp pixel.
            let di = Double(nodes[a + 1] - nodes[a]), dj = Double(nodes[b + 1] - nodes[b])
            let dxdi = ((1 - v) * (p10.0 - p00.0) + v * (p11.0 - p01.0)) / di
            let dydi = ((1 - v) * (p10.1 - p00.1) + v * (p11.1 - p01.1)) / di
            let dxdj = ((1 - u) * (p01.0 - p00.0) + u * (p11.0 - p10.0)) / dj
            let dydj = ((1 - u) * (p01.1 - p00.1) + u * (p11.1 - p10.1)) / dj
            area[j * n + i] = abs(dxdi * dydj - dxdj * dydi)
        } }
        return (positions, area)
    }

    /// Resamples `image` (width × height, x fastest) onto `grid` into `output` (size × size,
    /// x fastest); returns the number of masked (NaN) pixels.
    @discardableResult
    public func resample(image: UnsafeBufferPointer<Float>, width: Int, height: Int, wcs: WCS, grid: StampGrid,
                         into output: UnsafeMutableBufferPointer<Float>) throws -> Int {
        precondition(image.count == width * height, "image buffer must hold width × height pixels")
        precondition(output.count == grid.size * grid.size, "output buffer must hold size × size pixels")
        let (positions, area) = try framePositions(grid: grid, wcs: wcs)
        var masked = 0
        guard let pixels = image.baseAddress else { return 0 }
        positions.withUnsafeBufferPointer { positions in
            area.withUnsafeBufferPointer { area in
                for k in 0..<output.count {
                    let x = positions[2 * k], y = positions[2 * k + 1]
                    guard x.isFinite, y.isFinite else { output[k] = .nan; masked += 1; continue }
                    var ix = Int(x.rounded(.down)), iy = Int(y.rounded(.down))
                    var fx = x - Double(ix), fy = y - Double(iy)
                    // Within a millionth of a pixel of a centre is on it (far below float precision):
                    // a grid equal to the frame's reproduces its pixels exactly.
                    if fx > 1 - 1e-6 { ix += 1; fx = 0 } else if fx < 1e-6 { fx = 0 }
                    if fy > 1 - 1e-6 { iy += 1; fy = 0 } else if fy < 1e-6 { fy = 0 }
                    guard ix - 2 >= 0, ix + 3 < width, iy - 2 >= 0, iy + 3 < height else {
                        output[k] = .nan
                        masked += 1
                        continue
                    }
                    let (a0, a1, a2, a3, a4, a5) = Self.tabulated(fx)
                    let (b0, b1, b2, b3, b4, b5) = Self.tabulated(fy)
                    var p = pixels + (iy - 2) * width + ix - 2
                    @inline(__always) func line(_ p: UnsafePointer<Float>) -> Double {
                        a0 * Double(p[0]) + a1 * Double(p[1]) + a2 * Double(p[2]) + a3 * Double(p[3]) + a4 * Double(p[4]) + a5 * Double(p[5])
                    }
                    var sum = b0 * line(p)
                    p += width; sum += b1 * line(p)
                    p += width; sum += b2 * line(p)
                    p += width; sum += b3 * line(p)
                    p += width; sum += b4 * line(p)
                    p += width; sum += b5 * line(p)
                    output[k] = Float(sum * area[k])
                }
            }
        }
        return masked
    }

    /// Steps per pixel of the weight table.
    static let tableSteps = 2048

    /// Normalised weights at fractions k / tableSteps, k = 0…tableSteps, six per entry.
    private static let table: [Double] = (0...tableSteps).flatMap { k -> [Double] in
        if k == tableSteps { return [0, 0, 0, 1, 0, 0] }   // f = 1: on the next tap
        let w = weights(Double(k) / Double(tableSteps))
        return [w.0, w.1, w.2, w.3, w.4, w.5]
    }

    /// The weights for `fraction`, interpolated linearly in the table: off from `weights` by
    /// about 10⁻⁷ (h²/8 · max|L″| with h = 1/2048), still summing to 1, exact at 0. The
    /// sines were a fifth of the run time with many objects per frame.
    @inline(__always)
    static func tabulated(_ fraction: Double) -> (Double, Double, Double, Double, Double, Double) {
        let position = fraction * Double(tableSteps)
        let k = min(Int(position), tableSteps - 1)
        let t = position - Double(k), u = 1 - t
        return table.withUnsafeBufferPointer { table in
            let a = table.baseAddress! + 6 * k, b = a + 6
            return (u * a[0] + t * b[0], u * a[1] + t * b[1], u * a[2] + t * b[2],
                    u * a[3] + t * b[3], u * a[4] + t * b[4], u * a[5] + t * b[5])
        }
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
