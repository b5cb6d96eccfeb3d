import CResampleKernels

/// The blocked separable path of `LanczosResampler`: the two-pass path's first-order expansion
/// applied along both frame axes, so that each pass runs over contiguous memory in SIMD lanes.
///
/// Notation: along a stamp row (index i) the frame coordinate that steps by about one pixel per
/// stamp pixel is v (frame y for SDSS, whose frames are a quarter turn from the stamp; frame x
/// for aligned frames); the other, u, barely moves along the row and steps along the stamp
/// column (index j). The stamp is cut into rectangular blocks small enough that u stays within
/// `blockReach` of its line's midrange u_c(j) along the block's part of each line, and v within
/// `blockReach` of its column's midrange v_c(i) along the block's part of each column. Then, with
/// G_r(u) the Lanczos interpolant of frame line r (constant v = r) at u, and w_n(v) the weights
/// along v,
///
///     value(i, j) = Σₙ [w_n(v_c) + δv · w′_n(v_c)] · [G_{r+n}(u_c) + δu · G′_{r+n}(u_c)],
///
/// δu = u − u_c(j), δv = v − v_c(i): the general path's Σₙ w_n(v) G_{r+n}(u) to first order in δu
/// and δv (each off by ≤ ½ δ² times the image's second derivative; `blockReach` = 0.005 px keeps
/// that below 10⁻⁵ of the peak of an SDSS star). The weights of a line depend on u_c(j) only,
/// those of a column on v_c(i) only: each is computed once per block, not per pixel.
///
/// First pass, per line j: H_j and H′_j (the interpolant and its slope at u_c(j)) for every frame
/// line the block reaches, in SIMD lanes over those lines, from a copy of the block's frame
/// patch laid out with v contiguous (transposed for SDSS). Second pass, per line j: in SIMD
/// lanes over the stamp pixels i of the block, whose frame lines are consecutive (v steps by one
/// pixel per stamp pixel to within the block's drift), the 6 taps placed in a window of up to 8
/// slots shared by the lanes. Weights, their slopes, the area ratio and the snapping of
/// positions within 10⁻⁶ px of a pixel are the general path's, so a grid equal to the frame's
/// reproduces its pixels bit for bit.
///
/// Not taken (false, and the caller tries the per-line two-pass path, then the general one):
/// when v does not step by one frame pixel per stamp pixel (a stamp scale other than the
/// frame's), when the blocks would be narrower than `blockMinimumSide` (a mapping turned away
/// from the frame axes), or when a block's patch leaves the frame or holds a non-finite pixel.
///
/// Where the CPU has AVX2 the same steps run in C on 8 lanes (`Sources/CResampleKernels`, chosen
/// at run time; the same operations in the same order, so the same stamps bit for bit): the
/// Swift code below is the reference and the path of other CPUs (`allowsVectorKernel`).
extension LanczosResampler {
    /// The largest |δu| and |δv| allowed within a block, frame pixels.
    static let blockReach = 0.005
    /// The narrowest block worth its two passes, stamp pixels.
    static let blockMinimumSide = 8
    /// Whether this CPU runs the C kernel of this path (AVX2, checked once at run time).
    static let vectorKernelAvailable = photoz_resample_have_avx2() != 0
    /// `table` as the C kernel reads it: 8 floats per entry (the six weights, then two zeros).
    static let flatTable: [Float] = table.flatMap { w4, w2 in [w4[0], w4[1], w4[2], w4[3], w2[0], w2[1], 0, 0] }

    /// Resamples by the blocked path if the mapping allows it (see above); false, with `out`
    /// partly written, when another path must be used.
    func resampleBlocks(_ pixels: UnsafePointer<Float>, width: Int, height: Int, mapping: StampMapping,
                        into out: UnsafeMutablePointer<Float>, scratch: LanczosScratch) -> Bool {
        let n = mapping.size, count = n * n
        guard n >= 2 else { return false }
        // Lanes are processed four at a time: every per-lane array is padded to a multiple of 4
        // (plus 4), and the positions beyond the stamp's last pixel are zero.
        let lanes = (n + 3) / 4 * 4
        let positions = scratch.doubles(3 * count + 8)
        let xs = positions, ys = positions + count, areas = positions + 2 * count
        (areas + count).initialize(repeating: 0, count: 8)
        let vectorKernel = allowsVectorKernel && Self.vectorKernelAvailable
        mapping.rows(x: xs, y: ys, area: areas, vectorKernel: vectorKernel)
        if vectorKernel {
            // The same steps in C on 8 lanes (CResampleKernels), bit for bit this path's result.
            var floatCount = 0, doubleCount = 0
            photoz_lanczos_blocks_scratch(n, &floatCount, &doubleCount)
            let floats = scratch.floats(floatCount), doubles = scratch.moreDoubles(doubleCount)
            return Self.flatTable.withUnsafeBufferPointer { table in
                photoz_lanczos_blocks(pixels, width, height, xs, ys, areas, n, table.baseAddress, Self.tableSteps,
                                      Self.blockReach, Self.blockMinimumSide, out, floats, doubles) != 0
            }
        }
        // Off the projection (NaN) or absurdly far: not here (a reduction, not an early exit, so it vectorises).
        var inside = true
        for k in 0..<2 * count { inside = inside && abs(positions[k]) < 1e9 }
        guard inside else { return false }

        // v: the frame axis that steps along a stamp row.
        let last = n - 1
        let transposed = abs(ys[last] - ys[0]) > abs(xs[last] - xs[0])
        let us = UnsafePointer(transposed ? xs : ys), vs = UnsafePointer(transposed ? ys : xs)
        let vExtent = transposed ? height : width, uExtent = transposed ? width : height
        let sign = vs[last] >= vs[0] ? 1 : -1
        // Drift of u along a row and of v along a column, judged at the edges (checked per pixel below).
        let uDrift = max(abs(us[last] - us[0]), abs(us[last * n + last] - us[last * n]))
        let vDrift = max(abs(vs[last * n] - vs[0]), abs(vs[last * n + last] - vs[last]))
        let blocksI = max(1, Int((uDrift / (2 * Self.blockReach)).rounded(.up)))
        let blocksJ = max(1, Int((vDrift / (2 * Self.blockReach)).rounded(.up)))
        guard n / blocksI >= Self.blockMinimumSide || blocksI == 1, n / blocksJ >= Self.blockMinimumSide || blocksJ == 1 else { return false }
        let widest = (n + blocksI - 1) / blocksI + 4

        // Per-block scratch (floats): the window's weights and slopes per lane, the column
        // midranges, the patch, the line's H and H′ and output.
        let slotsMax = 8
        let patchLength = (widest + slotsMax + 3) / 4 * 4 + 4
        let floats = scratch.floats(2 * slotsMax * lanes + patchLength * (2 * n + 16) + 3 * patchLength + lanes + 8)
        let windowWeights = floats, windowSlopes = floats + slotsMax * lanes
        let patch = windowSlopes + slotsMax * lanes
        let lineValues = patch + patchLength * (2 * n + 16), lineSlopes = lineValues + patchLength, lineOut = lineSlopes + patchLength
        let vCentres = scratch.moreDoubles(4 * lanes + 8 + n), uCentres = vCentres + 3 * lanes + 8

        return Self.table.withUnsafeBufferPointer { table -> Bool in
            let weights = table.baseAddress!
            for bj in 0..<blocksJ {
                let j0 = bj * n / blocksJ, j1 = (bj + 1) * n / blocksJ
                for bi in 0..<blocksI {
                    let i0 = bi * n / blocksI, i1 = (bi + 1) * n / blocksI, bw = i1 - i0
                    let blockLanes = (bw + 3) / 4 * 4

                    // Columns: v_c(i), the midrange over the block's lines (line by line: contiguous).
                    let vLows = vCentres + lanes + 4, vHighs = vLows + lanes
                    vLows.update(from: vs + j0 * n + i0, count: bw)
                    vHighs.update(from: vs + j0 * n + i0, count: bw)
                    for j in j0 + 1..<max(j1, j0 + 1) {
                        let line = vs + j * n + i0
                        for c in 0..<bw { vLows[c] = min(vLows[c], line[c]); vHighs[c] = max(vHighs[c], line[c]) }
                    }
                    var vSpread = 0.0
                    for c in 0..<bw {
                        let (iv, fv) = Self.split((vLows[c] + vHighs[c]) / 2)
                        vCentres[c] = Double(iv) + fv   // snapped as the weights are
                        vSpread = max(vSpread, vHighs[c] - vLows[c])
                    }
                    for c in bw..<blockLanes + 4 { vCentres[c] = 0 }
                    guard vSpread <= 3 * Self.blockReach else { return false }
                    // The window: tap m of column c sits at oriented index o = sign·(iv − 2 + m), slot
                    // o − c − low; the window spans every column's six taps.
                    var low = Int.max, high = Int.min
                    for c in 0..<bw {
                        let (iv, _) = Self.split(vCentres[c])
                        let first = (sign > 0 ? iv - 2 : -(iv + 3)) - c
                        low = min(low, first); high = max(high, first)
                    }
                    let slots = high - low + 6
                    guard slots <= slotsMax else { return false }
                    // Oriented frame lines low … low + patchCount − 1 (frame v = sign · o).
                    let patchCount = bw - 1 + slots
                    let vFirst = sign > 0 ? low : -(low + patchCount - 1), vLast = sign > 0 ? low + patchCount - 1 : -low
                    guard vFirst >= 0, vLast < vExtent else { return false }
                    windowWeights.initialize(repeating: 0, count: 2 * slotsMax * lanes)
                    for c in 0..<bw {
                        let (iv, fv) = Self.split(vCentres[c])
                        let (w4, w2, d4, d2) = Self.tabulatedWithSlope(fv, weights)
                        let w = SIMD8(lowHalf: w4, highHalf: SIMD4(lowHalf: w2, highHalf: .zero)), d = SIMD8(lowHalf: d4, highHalf: SIMD4(lowHalf: d2, highHalf: .zero))
                        for m in 0..<6 {
                            let t = (sign > 0 ? iv - 2 + m : -(iv - 2 + m)) - c - low
                            windowWeights[t * lanes + c] = w[m]
                            windowSlopes[t * lanes + c] = d[m]
                        }
                    }

                    // Lines: u_c(j), the midrange over the block's columns; the frame lines u reaches.
                    var uLow = Int.max, uHigh = Int.min
                    for j in j0..<j1 {
                        let line = us + j * n + i0
                        var lo = line[0], hi = lo
                        for c in 1..<max(bw, 1) { lo = min(lo, line[c]); hi = max(hi, line[c]) }
                        guard hi - lo <= 3 * Self.blockReach else { return false }
                        let (iu, fu) = Self.split((lo + hi) / 2)
                        uCentres[j] = Double(iu) + fu
                        uLow = min(uLow, iu - 2); uHigh = max(uHigh, iu + 3)
                    }
                    guard uLow >= 0, uHigh < uExtent, uHigh - uLow + 1 <= 2 * n + 16 else { return false }

                    // The patch: patch[(u − uLow) · patchLength + k] = frame at u, v = sign · (low + k);
                    // zero beyond patchCount (lanes past the block read it with weight 0).
                    // Every value passes through `check` (lane-wise, 0 × a non-finite value is NaN).
                    var check = SIMD4<Float>()
                    let columns = uHigh - uLow + 1
                    if transposed {
                        // Four frame lines at a time, each column's four values stored as one vector
                        // (the last group repeats the last line; the zeros below overwrite it).
                        var k = 0
                        while k < patchCount {
                            let r0 = pixels + (sign * (low + k)) * width + uLow
                            let r1 = pixels + (sign * (low + min(k + 1, patchCount - 1))) * width + uLow
                            let r2 = pixels + (sign * (low + min(k + 2, patchCount - 1))) * width + uLow
                            let r3 = pixels + (sign * (low + min(k + 3, patchCount - 1))) * width + uLow
                            let target = UnsafeMutableRawPointer(patch + k)
                            for a in 0..<columns {
                                let value = SIMD4(r0[a], r1[a], r2[a], r3[a])
                                check += value * 0
                                target.storeBytes(of: value, toByteOffset: a * patchLength * 4, as: SIMD4<Float>.self)
                            }
                            k += 4
                        }
                    } else {
                        for a in 0..<columns {
                            let source = pixels + (uLow + a) * width, target = patch + a * patchLength
                            var lane = SIMD4<Float>()
                            if sign > 0 {
                                let from = source + low
                                for k in 0..<patchCount { lane[k & 3] += from[k] * 0; target[k] = from[k] }
                            } else {
                                let from = source - low
                                for k in 0..<patchCount { lane[k & 3] += from[-k] * 0; target[k] = from[-k] }
                            }
                            check += lane
                        }
                    }
                    guard check == .zero else { return false }   // a non-finite pixel
                    for a in 0..<columns {
                        (patch + a * patchLength + patchCount).update(repeating: 0, count: patchLength - patchCount)
                    }

                    let rawPatch = UnsafeRawPointer(patch)
                    let h = UnsafeMutableRawPointer(lineValues), hSlope = UnsafeMutableRawPointer(lineSlopes)
                    let ww = UnsafeRawPointer(windowWeights), wd = UnsafeRawPointer(windowSlopes)
                    let vc = UnsafeRawPointer(vCentres)
                    let size = MemoryLayout<Float>.size
                    for j in j0..<j1 {
                        let uCentre = uCentres[j]
                        let (iu, fu) = Self.split(uCentre)
                        let (w4, w2, d4, d2) = Self.tabulatedWithSlope(fu, weights)
                        // First pass: H_j and H′_j over the patch's lines, four at a time.
                        let rowOffset = (iu - 2 - uLow) * patchLength * size, stride = patchLength * size
                        // As far as the second pass reads: lane c + slot t + 3 < blockLanes + slots.
                        let reach = (blockLanes + slots + 3) / 4 * 4
                        var k = 0
                        while k < reach {
                            let at = rowOffset + k * size
                            let p0 = rawPatch.loadUnaligned(fromByteOffset: at, as: SIMD4<Float>.self)
                            let p1 = rawPatch.loadUnaligned(fromByteOffset: at + stride, as: SIMD4<Float>.self)
                            let p2 = rawPatch.loadUnaligned(fromByteOffset: at + 2 * stride, as: SIMD4<Float>.self)
                            let p3 = rawPatch.loadUnaligned(fromByteOffset: at + 3 * stride, as: SIMD4<Float>.self)
                            let p4 = rawPatch.loadUnaligned(fromByteOffset: at + 4 * stride, as: SIMD4<Float>.self)
                            let p5 = rawPatch.loadUnaligned(fromByteOffset: at + 5 * stride, as: SIMD4<Float>.self)
                            var value = w4[0] * p0
                            value += w4[1] * p1
                            value += w4[2] * p2
                            value += w4[3] * p3
                            value += w2[0] * p4
                            value += w2[1] * p5
                            var slope = d4[0] * p0
                            slope += d4[1] * p1
                            slope += d4[2] * p2
                            slope += d4[3] * p3
                            slope += d2[0] * p4
                            slope += d2[1] * p5
                            h.storeBytes(of: value, toByteOffset: k * size, as: SIMD4<Float>.self)
                            hSlope.storeBytes(of: slope, toByteOffset: k * size, as: SIMD4<Float>.self)
                            k += 4
                        }
                        // Second pass: four stamp pixels of the line at a time.
                        let rowU = UnsafeRawPointer(us + j * n + i0), rowV = UnsafeRawPointer(vs + j * n + i0)
                        let rowArea = UnsafeRawPointer(areas + j * n + i0)
                        let tiny = SIMD4<Float>(repeating: 1e-6)
                        var c = 0
                        while c < bw {
                            let du = SIMD4<Float>(rowU.loadUnaligned(fromByteOffset: c * 8, as: SIMD4<Double>.self) - SIMD4(repeating: uCentre))
                            let dv = SIMD4<Float>(rowV.loadUnaligned(fromByteOffset: c * 8, as: SIMD4<Double>.self)
                                                  - vc.loadUnaligned(fromByteOffset: c * 8, as: SIMD4<Double>.self))
                            // On u_c or v_c within 10⁻⁶ px: exactly on it, as the general path snaps.
                            let deltaU = du.replacing(with: 0, where: (du .< tiny) .& (du .> -tiny))
                            let deltaV = dv.replacing(with: 0, where: (dv .< tiny) .& (dv .> -tiny))
                            var sum = SIMD4<Float>()
                            for t in 0..<slots {
                                let at = (c + t) * size, lane = (t * lanes + c) * size
                                let g = h.loadUnaligned(fromByteOffset: at, as: SIMD4<Float>.self)
                                    + deltaU * hSlope.loadUnaligned(fromByteOffset: at, as: SIMD4<Float>.self)
                                let w = ww.loadUnaligned(fromByteOffset: lane, as: SIMD4<Float>.self)
                                    + deltaV * wd.loadUnaligned(fromByteOffset: lane, as: SIMD4<Float>.self)
                                sum += w * g
                            }
                            let area = SIMD4<Float>(rowArea.loadUnaligned(fromByteOffset: c * 8, as: SIMD4<Double>.self))
                            UnsafeMutableRawPointer(lineOut).storeBytes(of: sum * area, toByteOffset: c * size, as: SIMD4<Float>.self)
                            c += 4
                        }
                        (out + j * n + i0).update(from: lineOut, count: bw)
                    }
                }
            }
            return true
        }
    }
}

/// Reusable working memory for `LanczosResampler`: one per thread, so that resampling a stamp
/// allocates nothing.
public final class LanczosScratch {
    private var doubleBuffer = UnsafeMutablePointer<Double>.allocate(capacity: 0)
    private var doubleCapacity = 0
    private var extraDoubles = UnsafeMutablePointer<Double>.allocate(capacity: 0)
    private var extraCapacity = 0
    private var floatBuffer = UnsafeMutablePointer<Float>.allocate(capacity: 0)
    private var floatCapacity = 0

    public init() {}

    deinit {
        doubleBuffer.deallocate()
        extraDoubles.deallocate()
        floatBuffer.deallocate()
    }

    /// At least `count` doubles (contents undefined; the same memory on every call).
    func doubles(_ count: Int) -> UnsafeMutablePointer<Double> { Self.grow(&doubleBuffer, &doubleCapacity, to: count) }

    /// At least `count` doubles apart from `doubles`.
    func moreDoubles(_ count: Int) -> UnsafeMutablePointer<Double> { Self.grow(&extraDoubles, &extraCapacity, to: count) }

    /// At least `count` floats apart from the doubles.
    func floats(_ count: Int) -> UnsafeMutablePointer<Float> { Self.grow(&floatBuffer, &floatCapacity, to: count) }

    /// `buffer`, replaced by a larger one when it holds fewer than `count` elements.
    private static func grow<T>(_ buffer: inout UnsafeMutablePointer<T>, _ capacity: inout Int, to count: Int) -> UnsafeMutablePointer<T> {
        if count > capacity {
            buffer.deallocate()
            buffer = .allocate(capacity: count)
            capacity = count
        }
        return buffer
    }
}
