/// The two-pass path of `LanczosResampler`, for stamps whose frame x position barely changes
/// along one stamp axis: frames aligned with the stamp, or turned by a quarter turn as SDSS
/// frames are (their columns run along Dec), up to a small skew.
///
/// The general path evaluates, at every stamp pixel, Σₙ wy_n(y) · G_{iy+n}(x), where
/// G_r(x) = Σₘ wx_m(x) · frame[r][ix+m] is the Lanczos interpolant of frame row r at x: six
/// row sums of six taps, 36 products per pixel. Along a stamp line (a row for SDSS, where the
/// stamp's x axis runs along the frame's y) x changes by 10⁻⁴–3·10⁻⁴ px per pixel on the real
/// frames (their CD matrices are skewed and the stamp's north turns across the frame), while y
/// steps through the frame rows. So each line is cut into segments over which x stays within
/// `twoPassReach` of its midrange x_c, and for each frame row the segment touches, G_r(x_c)
/// and its derivative G′_r(x_c) are computed once (first pass, one set of weights per
/// segment). Each pixel then takes Σₙ wy_n(y) · (G_r(x_c) + (x − x_c) · G′_r(x_c)) (second
/// pass): 12 products per pixel plus 12 per frame row and segment instead of 36.
///
/// Exactness: G_r is continuously differentiable (the kernel and its slope vanish at ±3), so
/// the first-order expansion is off by at most ½ (x − x_c)² max|G″| ≤ 5·10⁻⁵ max|G″| with
/// `twoPassReach` = 0.01 px: below 10⁻⁵ of the peak for a star of σ = 1.5 px, where
/// max|G″| ≈ peak/σ². Everything else — y per pixel, the area ratio, the weight table, the
/// snapping of positions within 10⁻⁶ px of a pixel centre — is the general path's, so a grid
/// equal to the frame's still reproduces its pixels bit for bit (the expansion term is then 0).
/// Measured against the general path on skewed SDSS-like frames: see `ResamplingTests`.
///
/// The general path is used instead — with its per-pixel masking — when the segments of a line
/// would average fewer than `twoPassMinimumSegment` pixels (a mapping turned away from the
/// frame's axes: beyond about 1.2·10⁻³ px of x per pixel along the line, 0.07°),
/// when a segment's footprint, one column wider on each side, leaves the frame, when that
/// footprint holds a non-finite pixel (the general path decides exactly which stamp pixels
/// it reaches), or when the stamp is much coarser than the frame.
extension LanczosResampler {
    /// The largest |x − x_c| allowed within a segment, frame pixels.
    static let twoPassReach = 0.01
    /// The shortest average segment along a line worth a first pass, stamp pixels.
    static let twoPassMinimumSegment = 8

    /// Resamples by the two-pass path if the mapping allows it (see above); false, with
    /// `out` partly written, when the general path must be used.
    func resampleTwoPass(_ pixels: UnsafePointer<Float>, width: Int, height: Int, mapping: StampMapping,
                         into out: UnsafeMutablePointer<Float>) -> Bool {
        let n = mapping.size, count = n * n
        let positions = UnsafeMutablePointer<Double>.allocate(capacity: 3 * count)
        defer { positions.deallocate() }
        let xs = positions, ys = positions + count, areas = positions + 2 * count
        for j in 0..<n { mapping.row(j, x: xs + j * n, y: ys + j * n, area: areas + j * n) }
        for k in 0..<count where !(abs(xs[k]) < 1e9 && abs(ys[k]) < 1e9) { return false }   // NaN included

        // Lines along stamp rows (SDSS) or along stamp columns, whichever keeps x steadier, judged
        // at the corners (the map is close to affine; the segments below check every pixel).
        let last = n - 1
        let alongRows = max(abs(xs[last] - xs[0]), abs(xs[last * n + last] - xs[last * n]))
        let alongColumns = max(abs(xs[last * n] - xs[0]), abs(xs[last * n + last] - xs[last]))
        let (lineStride, step) = alongRows <= alongColumns ? (n, 1) : (1, n)

        // Segments: maximal runs along each line whose x stays within 2 × reach.
        var segments: [(first: Int, end: Int)] = []   // pixel offsets along the line, per line in order
        var lineStarts: [Int] = []
        for line in 0..<n {
            lineStarts.append(segments.count)
            var first = 0
            while first < n {
                var low = xs[line * lineStride + first * step], high = low, end = first + 1
                while end < n {
                    let x = xs[line * lineStride + end * step]
                    guard max(high, x) - min(low, x) <= 2 * Self.twoPassReach else { break }
                    low = min(low, x); high = max(high, x); end += 1
                }
                segments.append((first, end))
                first = end
            }
            // Segments averaging fewer pixels than the minimum: the mapping turns too fast.
            guard (segments.count - lineStarts[line]) * Self.twoPassMinimumSegment <= max(n, Self.twoPassMinimumSegment) else { return false }
        }
        lineStarts.append(segments.count)

        // Per segment: the interpolant and its slope at x_c for every frame row it reaches.
        let capacity = 3 * n + 16
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: 2 * capacity + 8)
        defer { rows.deallocate() }
        let values = rows, slopes = rows + capacity + 4
        let iys = UnsafeMutablePointer<Int>.allocate(capacity: n)
        defer { iys.deallocate() }
        let fys = UnsafeMutablePointer<Double>.allocate(capacity: n)
        defer { fys.deallocate() }

        return Self.table.withUnsafeBufferPointer { table -> Bool in
            let weights = table.baseAddress!
            for line in 0..<n {
                for s in lineStarts[line]..<lineStarts[line + 1] {
                    let (first, end) = segments[s]
                    var low = Double.infinity, high = -Double.infinity
                    var rowLow = Int.max, rowHigh = Int.min
                    for k in first..<end {
                        let p = line * lineStride + k * step
                        low = min(low, xs[p]); high = max(high, xs[p])
                        let (iy, fy) = Self.split(ys[p])
                        iys[k - first] = iy
                        fys[k - first] = fy
                        rowLow = min(rowLow, iy); rowHigh = max(rowHigh, iy)
                    }
                    let (ix, fx) = Self.split((low + high) / 2)
                    let centre = Double(ix) + fx
                    // Rows r − 2 … r + 3 of every pixel; columns ix − 3 … ix + 4: each pixel's own
                    // x is within 0.01 px of x_c, so its own taps lie among these.
                    let top = rowLow - 2, bottom = rowHigh + 3
                    guard ix - 3 >= 0, ix + 4 < width, top >= 0, bottom < height, bottom - top + 1 <= capacity else { return false }
                    let (w4, w2, d4, d2) = Self.tabulatedWithSlope(fx, weights)
                    let wLow = SIMD4<Float>(0, w4[0], w4[1], w4[2]), wHigh = SIMD4<Float>(w4[3], w2[0], w2[1], 0)
                    let dLow = SIMD4<Float>(0, d4[0], d4[1], d4[2]), dHigh = SIMD4<Float>(d4[3], d2[0], d2[1], 0)
                    // Eight columns, the outer two with weight 0: a non-finite pixel there still
                    // makes the sums NaN (0 × ∞ too), which `check` collects (checked once per
                    // segment, not per row) and which sends the stamp to the general path.
                    var check: Float = 0
                    for r in top...bottom {
                        let p = UnsafeRawPointer(pixels + r * width + ix - 3)
                        let a = p.loadUnaligned(as: SIMD4<Float>.self), b = p.loadUnaligned(fromByteOffset: 16, as: SIMD4<Float>.self)
                        let v = a * wLow + b * wHigh, s = a * dLow + b * dHigh
                        // Both horizontal sums at once: (v0 + v2, v1 + v3, s0 + s2, s1 + s3).
                        let pairs = SIMD4(lowHalf: v.lowHalf, highHalf: s.lowHalf) + SIMD4(lowHalf: v.highHalf, highHalf: s.highHalf)
                        let value = pairs[0] + pairs[1], slope = pairs[2] + pairs[3]
                        check += value * 0 + slope * 0   // 0 while both are finite, NaN otherwise
                        values[r - top] = value
                        slopes[r - top] = slope
                    }
                    guard check == 0 else { return false }
                    let v = UnsafeRawPointer(values), d = UnsafeRawPointer(slopes)
                    for k in first..<end {
                        let p = line * lineStride + k * step
                        var offset = xs[p] - centre
                        if abs(offset) < 1e-6 { offset = 0 }   // on x_c, as the general path snaps
                        let delta = Float(offset)
                        let (wy4, wy2) = Self.tabulated(fys[k - first], weights)
                        let at = (iys[k - first] - 2 - top) * MemoryLayout<Float>.size
                        let four = v.loadUnaligned(fromByteOffset: at, as: SIMD4<Float>.self) + delta * d.loadUnaligned(fromByteOffset: at, as: SIMD4<Float>.self)
                        let two = v.loadUnaligned(fromByteOffset: at + 16, as: SIMD2<Float>.self) + delta * d.loadUnaligned(fromByteOffset: at + 16, as: SIMD2<Float>.self)
                        let value = (four * wy4).sum() + (two * wy2).sum()
                        out[p] = Float(Double(value) * areas[p])
                    }
                }
            }
            return true
        }
    }

    /// A frame position split into its pixel and the fraction past it, a position within a
    /// millionth of a pixel of a centre snapped onto it (as the general path does); |position| < 10⁹.
    @inline(__always)
    static func split(_ position: Double) -> (Int, Double) {
        // Truncation corrected for negatives: `rounded(.down)` is a libm call without SSE4.1.
        var i = Int(position)
        if Double(i) > position { i -= 1 }
        var f = position - Double(i)
        if f > 1 - 1e-6 { i += 1; f = 0 } else if f < 1e-6 { f = 0 }
        return (i, f)
    }

    /// `tabulated`, with the weights' slopes d/d(fraction): those of the table's linear
    /// interpolation, so the expansion follows the very weights the general path uses.
    @inline(__always)
    static func tabulatedWithSlope(_ fraction: Double, _ table: UnsafePointer<(SIMD4<Float>, SIMD2<Float>)>)
        -> (SIMD4<Float>, SIMD2<Float>, SIMD4<Float>, SIMD2<Float>) {
        let position = fraction * Double(tableSteps)
        let k = min(Int(position), tableSteps - 1)
        let t = Float(position - Double(k))
        let a = table[k], b = table[k + 1], steps = Float(tableSteps)
        return (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1), (b.0 - a.0) * steps, (b.1 - a.1) * steps)
    }
}
