import Foundation
import Testing
import WCS
@testable import PhotoZData

/// Lanczos-3 resampling onto stamp grids, on synthetic frames whose answer is known.
@Suite struct ResamplingTests {
    /// A TAN frame WCS centred on (ra, dec): `scale` arcsec pixels rotated by `rotation` degrees,
    /// north up and east left when the rotation is 0.
    static func frameWCS(ra: Double = 150, dec: Double = 2, crpix: (Double, Double), scale: Double = 0.396, rotation: Double = 0) throws -> WCS {
        let s = scale / 3600, c = cos(rotation * .pi / 180), r = sin(rotation * .pi / 180)
        return try WCS(keywords: [
            ("NAXIS", "2"), ("CTYPE1", "'RA---TAN'"), ("CTYPE2", "'DEC--TAN'"),
            ("CRPIX1", "\(crpix.0)"), ("CRPIX2", "\(crpix.1)"), ("CRVAL1", "\(ra)"), ("CRVAL2", "\(dec)"),
            ("CD1_1", "\(-s * c)"), ("CD1_2", "\(s * r)"), ("CD2_1", "\(s * r)"), ("CD2_2", "\(s * c)"),
        ], source: "synthetic frame")
    }

    /// Resamples a (width × height) image onto a stamp grid centred on (150, 2).
    static func stamp(_ image: [Float], width: Int, height: Int, wcs: WCS, size: Int, scale: Double = 0.396) throws -> ([Float], Int) {
        var out = [Float](repeating: 0, count: size * size)
        let grid = StampGrid(ra: 150, dec: 2, size: size, pixelScale: scale)
        let masked = try image.withUnsafeBufferPointer { image in
            try out.withUnsafeMutableBufferPointer { out in
                try LanczosResampler().resample(image: image, width: width, height: height, wcs: wcs, grid: grid, into: out)
            }
        }
        return (out, masked)
    }

    @Test func gridEqualToTheFramesReproducesItsPixelsExactly() throws {
        let width = 90, height = 80, size = 32
        var rng = SplitMix(seed: 7)
        let image = (0..<width * height).map { _ in Float(rng.next(in: -1...20)) }
        // Stamp reference pixel 16.5 sits on frame pixel 40.5: stamp pixel i is frame pixel i + 24.
        let wcs = try Self.frameWCS(crpix: (40.5, 40.5))
        let (out, masked) = try Self.stamp(image, width: width, height: height, wcs: wcs, size: size)
        #expect(masked == 0)
        var differing = 0
        for j in 0..<size { for i in 0..<size where out[j * size + i] != image[(j + 24) * width + i + 24] { differing += 1 } }
        #expect(differing == 0, "\(differing) of \(size * size) pixels differ from the frame's")
    }

    @Test func quarterPixelShiftMatchesTheAnalyticShift() throws {
        let width = 90, height = 90, size = 32
        // A smooth image: a σ = 3 px Gaussian on a gentle slope, sampled at pixel centres.
        func f(_ x: Double, _ y: Double) -> Double {
            100 * exp(-((x - 44) * (x - 44) + (y - 46) * (y - 46)) / (2 * 9)) + 0.05 * x - 0.03 * y
        }
        let image = (0..<width * height).map { Float(f(Double($0 % width), Double($0 / width))) }
        // CRPIX1 40.75: stamp pixel i lies at frame x = i + 24.25, a quarter pixel off the grid.
        let wcs = try Self.frameWCS(crpix: (40.75, 40.5))
        let (out, _) = try Self.stamp(image, width: width, height: height, wcs: wcs, size: size)
        var worst = 0.0
        for j in 0..<size { for i in 0..<size {
            worst = max(worst, abs(Double(out[j * size + i]) - f(Double(i) + 24.25, Double(j + 24))))
        } }
        // Lanczos-3 on a σ = 3 px Gaussian: interpolation error well under 0.5 % of the peak.
        #expect(worst < 0.5, "worst error \(worst) for a peak of 100")
        // Nearest-pixel cutting (what Cutout2D does) would be off by the quarter pixel: much worse.
        var nearest = 0.0
        for j in 0..<size { for i in 0..<size {
            nearest = max(nearest, abs(f(Double(i + 24), Double(j + 24)) - f(Double(i) + 24.25, Double(j + 24))))
        } }
        #expect(worst < nearest / 10, "Lanczos \(worst) vs nearest pixel \(nearest)")
    }

    @Test(arguments: [(30.0, 0.6), (-75.0, 0.3), (0.0, 0.396), (145.0, 0.5)])
    func fluxIsConservedUnderRotationAndScale(rotation: Double, scale: Double) throws {
        let width = 160, height = 160
        // Two Gaussian sources (σ 2.5 and 3.5 frame pixels) with a known total flux.
        let sources: [(x: Double, y: Double, sigma: Double, flux: Double)] = [(79.3, 80.1, 2.5, 1000), (83.7, 74.2, 3.5, 400)]
        var image = [Float](repeating: 0, count: width * height)
        for y in 0..<height { for x in 0..<width {
            var v = 0.0
            for s in sources {
                let d2 = (Double(x) - s.x) * (Double(x) - s.x) + (Double(y) - s.y) * (Double(y) - s.y)
                v += s.flux / (2 * .pi * s.sigma * s.sigma) * exp(-d2 / (2 * s.sigma * s.sigma))
            }
            image[y * width + x] = Float(v)
        } }
        let frameTotal = image.reduce(0.0) { $0 + Double($1) }
        let wcs = try Self.frameWCS(crpix: (80.5, 80.5), rotation: rotation)
        let (out, masked) = try Self.stamp(image, width: width, height: height, wcs: wcs, size: 64, scale: scale)
        #expect(masked == 0)
        let stampTotal = out.reduce(0.0) { $0 + Double($1) }
        #expect(abs(stampTotal / frameTotal - 1) < 2e-3, "rotation \(rotation)°, scale \(scale)″: stamp \(stampTotal) vs frame \(frameTotal)")
    }

    @Test func pixelsWhoseKernelLeavesTheFrameAreMaskedAndOnlyThose() throws {
        let width = 60, height = 60, size = 32
        let image = [Float](repeating: 1, count: width * height)
        // Stamp pixel i is frame pixel i − 10 (CRPIX 6.5 vs 16.5): columns and rows 0…11 need
        // frame pixels below 0 (the kernel reaches 2 pixels left), the rest are inside.
        let wcs = try Self.frameWCS(crpix: (6.5, 6.5))
        let (out, masked) = try Self.stamp(image, width: width, height: height, wcs: wcs, size: size)
        var expected = 0
        for j in 0..<size { for i in 0..<size {
            let outside = i - 10 - 2 < 0 || j - 10 - 2 < 0
            if outside { expected += 1 }
            #expect(out[j * size + i].isNaN == outside, "pixel (\(i), \(j))")
            if !outside { #expect(abs(out[j * size + i] - 1) < 1e-6) }
        } }
        #expect(masked == expected && expected == 32 * 32 - 20 * 20)
    }

    /// An SDSS-like frame: columns along Dec, rows along RA (a quarter turn), with the skew and
    /// scale mismatch of the real frames (their CD matrices: up to 3·10⁻⁴ off-axis, 0.04 % in
    /// scale); Gaussian stars of σ = 1.5 px (SDSS seeing) and peak 100 on noise of ±1.
    static func skewedQuarterTurnedFrame(width: Int = 220, height: Int = 200, skew: Double = 3e-4) throws -> (image: [Float], wcs: WCS, peak: Float) {
        let s = 0.396 / 3600
        let wcs = try WCS(keywords: [
            ("NAXIS", "2"), ("CTYPE1", "'RA---TAN'"), ("CTYPE2", "'DEC--TAN'"),
            ("CRPIX1", "103.2"), ("CRPIX2", "96.7"), ("CRVAL1", "150"), ("CRVAL2", "2"),
            ("CD1_1", "\(skew * s)"), ("CD1_2", "\(s * 1.0004)"), ("CD2_1", "\(s * 0.9998)"), ("CD2_2", "\(-0.7 * skew * s)"),
        ], source: "skewed SDSS-like frame")
        var rng = SplitMix(seed: 11)
        var image = (0..<width * height).map { _ in Float(rng.next(in: -1...1)) }
        for _ in 0..<40 {
            let cx = rng.next(in: 20...Double(width - 20)), cy = rng.next(in: 20...Double(height - 20))
            for y in Int(cy) - 8...Int(cy) + 8 { for x in Int(cx) - 8...Int(cx) + 8 {
                let d2 = (Double(x) - cx) * (Double(x) - cx) + (Double(y) - cy) * (Double(y) - cy)
                image[y * width + x] += Float(100 * exp(-d2 / (2 * 1.5 * 1.5)))
            } }
        }
        return (image, wcs, image.max()!)
    }

    /// Resamples with either path at (ra, dec) and says which path was taken.
    static func stamp(_ image: [Float], width: Int, height: Int, wcs: WCS, ra: Double, dec: Double, size: Int = 64,
                      scale: Double = 0.396, twoPass: Bool, blocks: Bool = true) throws -> (pixels: [Float], masked: Int, twoPass: Bool, path: LanczosResampler.Path) {
        var out = [Float](repeating: 0, count: size * size)
        var resampler = LanczosResampler()
        resampler.allowsTwoPass = twoPass
        resampler.allowsBlocks = blocks
        let grid = StampGrid(ra: ra, dec: dec, size: size, pixelScale: scale)
        let result = try image.withUnsafeBufferPointer { image in
            try out.withUnsafeMutableBufferPointer { out in
                try resampler.resampleReportingPath(image: image, width: width, height: height, wcs: wcs, grid: grid, into: out)
            }
        }
        return (out, result.masked, result.twoPass, result.path)
    }

    @Test func twoPassAndGeneralPathsAgreeOnSkewedQuarterTurnedFrames() throws {
        let width = 220, height = 200
        // Skews from none to 2.5 × the real frames' largest (u: 2.4·10⁻⁴, g: 3.4·10⁻⁴ px per px).
        for skew in [0.0, 1e-4, 3e-4, 8e-4] {
            let (image, wcs, peak) = try Self.skewedQuarterTurnedFrame(width: width, height: height, skew: skew)
            var worst: Float = 0, worstLines: Float = 0
            for (k, (dx, dy)) in [(0.0, 0.0), (13.37, -21.2), (-30.5, 17.25), (27.1, 25.9)].enumerated() {
                let ra = 150 + dx * 0.396 / 3600 / cos(2 * Double.pi / 180), dec = 2 + dy * 0.396 / 3600
                for scale in k == 0 ? [0.396, 0.3, 0.5] : [0.396] {
                    let fast = try Self.stamp(image, width: width, height: height, wcs: wcs, ra: ra, dec: dec, scale: scale, twoPass: true)
                    let lines = try Self.stamp(image, width: width, height: height, wcs: wcs, ra: ra, dec: dec, scale: scale, twoPass: true, blocks: false)
                    let general = try Self.stamp(image, width: width, height: height, wcs: wcs, ra: ra, dec: dec, scale: scale, twoPass: false)
                    #expect(fast.twoPass && !general.twoPass, "skew \(skew), offset \(k), scale \(scale): the two-pass path was not taken")
                    // The frame's scale: blocks; another scale: line by line.
                    #expect(fast.path == (scale == 0.396 ? .blocks : .twoPass) && lines.path == .twoPass, "skew \(skew), offset \(k), scale \(scale): \(fast.path)")
                    #expect(fast.masked == 0 && general.masked == 0 && lines.masked == 0)
                    for (a, b) in zip(fast.pixels, general.pixels) { worst = max(worst, abs(a - b)) }
                    for (a, b) in zip(lines.pixels, general.pixels) { worstLines = max(worstLines, abs(a - b)) }
                }
            }
            #expect(worstLines <= 4e-5 * peak, "skew \(skew): line-by-line and general paths differ by \(worstLines) (\(worstLines / peak) of the peak)")
            // The first-order expansion is off by ≤ ½ (0.01 px)² max|G″| ≈ 5·10⁻⁵ × peak/σ² ≈ 2.2·10⁻⁵
            // of the peak for σ = 1.5 px; float rounding adds ~10⁻⁶. Measured: 1.7·10⁻⁷ (no skew),
            // 1.4·10⁻⁶, 1.2·10⁻⁵, 2.0·10⁻⁵ of the peak. SWarp agrees with photoz to 10⁻⁴.
            #expect(worst <= 4e-5 * peak, "skew \(skew): two-pass and general paths differ by \(worst) (\(worst / peak) of the peak)")
        }
    }

    @Test func stampsTurnedAwayFromTheFrameAxesTakeTheGeneralPathAndStayRight() throws {
        let width = 160, height = 160
        // A smooth image (σ = 3 px Gaussian on a slope) whose value at any frame position is known.
        func f(_ x: Double, _ y: Double) -> Double {
            100 * exp(-((x - 79) * (x - 79) + (y - 82) * (y - 82)) / (2 * 9)) + 0.05 * x - 0.03 * y
        }
        let image = (0..<width * height).map { Float(f(Double($0 % width), Double($0 / width))) }
        // 0° and 180°: v is frame x, increasing and decreasing along a stamp row; ±90°: frame y.
        for (rotation, twoPass) in [(30.0, false), (2.0, false), (0.0, true), (90.0, true), (-90.0, true), (180.0, true), (0.05, true), (90.05, true)] {
            let wcs = try Self.frameWCS(crpix: (80.5, 80.5), rotation: rotation)
            let stamp = try Self.stamp(image, width: width, height: height, wcs: wcs, ra: 150, dec: 2, twoPass: true)
            #expect(stamp.twoPass == twoPass, "rotation \(rotation)°: two-pass \(stamp.twoPass), expected \(twoPass)")
            #expect(stamp.path == (twoPass ? .blocks : .general), "rotation \(rotation)°: \(stamp.path)")
            if twoPass {   // the blocked path against the general one, in every orientation
                let general = try Self.stamp(image, width: width, height: height, wcs: wcs, ra: 150, dec: 2, twoPass: false)
                let difference = zip(stamp.pixels, general.pixels).map { abs($0 - $1) }.max()!
                #expect(difference <= 1e-5 * 100, "rotation \(rotation)°: blocked and general paths differ by \(difference)")
            }
            // Right: each stamp pixel holds the image at its own frame position (the analytic value).
            let grid = StampGrid(ra: 150, dec: 2, size: 64, pixelScale: 0.396)
            let (positions, _) = try LanczosResampler().framePositions(grid: grid, wcs: wcs)
            var worst = 0.0
            for k in 0..<64 * 64 { worst = max(worst, abs(Double(stamp.pixels[k]) - f(positions[2 * k], positions[2 * k + 1]))) }
            #expect(worst < 0.5, "rotation \(rotation)°: worst error \(worst) for a peak of 100")
        }
        // A stamp reaching past the frame edge takes the general path, which masks pixel by pixel.
        let wcs = try Self.frameWCS(crpix: (6.5, 6.5))
        let edge = try Self.stamp(image, width: width, height: height, wcs: wcs, ra: 150, dec: 2, size: 32, twoPass: true)
        #expect(!edge.twoPass && edge.masked == 32 * 32 - 20 * 20)
        // A NaN frame pixel inside the footprint: the general path decides which stamp pixels it reaches.
        var holed = image
        holed[82 * width + 79] = .nan
        let centred = try Self.frameWCS(crpix: (80.5, 80.5))
        let hole = try Self.stamp(holed, width: width, height: height, wcs: centred, ra: 150, dec: 2, twoPass: true)
        let reference = try Self.stamp(holed, width: width, height: height, wcs: centred, ra: 150, dec: 2, twoPass: false)
        #expect(!hole.twoPass)
        #expect(zip(hole.pixels, reference.pixels).allSatisfy { $0.isNaN ? $1.isNaN : $0 == $1 })
        #expect(hole.pixels.filter(\.isNaN).count == 36)
    }

    @Test func nodeInterpolationFollowsTheExactWCS() throws {
        // The real SDSS r-frame WCS of run 2583 (columns along Dec), an object far from CRVAL.
        let wcs = try WCS(keywords: [
            ("NAXIS", "2"), ("CTYPE1", "'RA---TAN'"), ("CTYPE2", "'DEC--TAN'"),
            ("CRPIX1", "1025.0"), ("CRPIX2", "745.0"), ("CRVAL1", "323.342792226"), ("CRVAL2", "-0.733974791856"),
            ("CD1_1", "2.71016927104E-09"), ("CD1_2", "0.000109989662575"),
            ("CD2_1", "0.000110016837791"), ("CD2_2", "1.18442059558E-09"),
        ], source: "SDSS r frame")
        let grid = StampGrid(ra: 323.28, dec: -0.80, size: 64, pixelScale: 0.396)
        let (positions, area) = try LanczosResampler().framePositions(grid: grid, wcs: wcs)
        var worst = 0.0
        for j in 0..<64 { for i in 0..<64 {
            let sky = grid.sky(x: Double(i), y: Double(j))
            let p = try wcs.pixel(longitude: sky.ra, latitude: sky.dec)
            worst = max(worst, abs(p.x - 1 - positions[2 * (j * 64 + i)]), abs(p.y - 1 - positions[2 * (j * 64 + i) + 1]))
        } }
        #expect(worst < 1e-4, "bilinear node interpolation is off by \(worst) px")
        // SDSS frame pixels are 0.396″ up to 0.1 %: the area ratio is 1 within that.
        #expect(area.allSatisfy { abs($0 - 1) < 2e-3 })
    }

    @Test func stampGridAgreesWithWcslib() throws {
        for (ra, dec) in [(150.0, 2.0), (0.001, -30.0), (359.99, 60.0), (10.0, 89.9)] {
            let grid = StampGrid(ra: ra, dec: dec, size: 64, pixelScale: 0.396)
            let wcs = try WCS(keywords: [("NAXIS", "2"), ("CTYPE1", "'RA---TAN'"), ("CTYPE2", "'DEC--TAN'")]
                + grid.headerKeywords.map { ($0.0, String(format: "%.17G", $0.1)) }, source: "stamp header")
            for (x, y) in [(0.0, 0.0), (63.0, 0.0), (31.5, 31.5), (10.25, 50.0)] {
                let ours = grid.sky(x: x, y: y)
                let theirs = try wcs.sky(x: x + 1, y: y + 1)
                var dra = abs(ours.ra - theirs.longitude)
                dra = min(dra, 360 - dra)
                #expect(dra * cos(dec * .pi / 180) < 1e-10 && abs(ours.dec - theirs.latitude) < 1e-10, "(\(ra), \(dec)) pixel (\(x), \(y))")
            }
            // The centre convention: the object sits at CRPIX (size + 1) / 2, 0-based 31.5.
            let centre = grid.sky(x: 31.5, y: 31.5)
            #expect(abs(centre.ra - ra) < 1e-12 && abs(centre.dec - dec) < 1e-12)
            // North up, east left.
            #expect(grid.sky(x: 31.5, y: 40).dec > dec)
            let east = grid.sky(x: 20, y: 31.5).ra - ra
            #expect((east + 540).truncatingRemainder(dividingBy: 360) - 180 > 0)
        }
    }

    @Test func lanczosWeightsAreNormalisedAndSymmetric() {
        let w0 = LanczosResampler.weights(0)
        #expect(w0 == (0, 0, 1, 0, 0, 0))
        #expect(LanczosResampler.tabulated(0) == (0, 0, 1, 0, 0, 0))
        // The table the resampler uses follows the formula to 2·10⁻⁷ (measured 1.05·10⁻⁷).
        var worst = 0.0
        for k in 0..<10_000 {
            let f = Double(k) / 10_000 + 0.0000371
            let a = LanczosResampler.weights(f), b = LanczosResampler.tabulated(f)
            worst = max(worst, abs(a.0 - b.0), abs(a.1 - b.1), abs(a.2 - b.2), abs(a.3 - b.3), abs(a.4 - b.4), abs(a.5 - b.5))
        }
        #expect(worst < 2e-7, "table off by \(worst)")
        for f in stride(from: 0.05, to: 1, by: 0.1) {
            let w = LanczosResampler.weights(f)
            #expect(abs(w.0 + w.1 + w.2 + w.3 + w.4 + w.5 - 1) < 1e-12)
            let mirror = LanczosResampler.weights(1 - f)   // taps mirrored around the midpoint
            #expect(abs(w.0 - mirror.5) < 1e-12 && abs(w.1 - mirror.4) < 1e-12 && abs(w.2 - mirror.3) < 1e-12)
        }
        // At f = 0.5 the raw Lanczos-3 weights are known: L(0.5) = 0.6079271, L(1.5) = −0.1350949, L(2.5) = 0.0243170.
        let half = LanczosResampler.weights(0.5)
        let raw = [0.0243170, -0.1350949, 0.6079271]
        let sum = 2 * raw.reduce(0, +)
        #expect(abs(half.2 - raw[2] / sum) < 1e-6 && abs(half.1 - raw[1] / sum) < 1e-6 && abs(half.0 - raw[0] / sum) < 1e-6)
    }
}

/// The blocked path's C kernel (`CResampleKernels`, AVX2) against the same path in Swift. The
/// kernel does the Swift path's operations in the same order without fused multiply-adds, so
/// the stated tolerance is zero: every stamp bit for bit, NaN where the other has NaN.
@Suite(.enabled(if: LanczosResampler.vectorKernelAvailable, "needs a CPU with AVX2 (the C kernel is not used otherwise)"))
struct ResamplingKernelTests {
    /// One stamp by the C kernel and by the Swift path; the paths taken must agree.
    static func compare(_ image: UnsafeBufferPointer<Float>, width: Int, height: Int, wcs: WCS, grid: StampGrid)
        throws -> (path: LanczosResampler.Path, worst: Float, peak: Float, sameBits: Bool) {
        var swift = LanczosResampler()
        swift.allowsVectorKernel = false
        let n = grid.size
        var a = [Float](repeating: 0, count: n * n), b = a
        let kernel = try a.withUnsafeMutableBufferPointer {
            try LanczosResampler().resampleReportingPath(image: image, width: width, height: height, wcs: wcs, grid: grid, into: $0)
        }
        let reference = try b.withUnsafeMutableBufferPointer {
            try swift.resampleReportingPath(image: image, width: width, height: height, wcs: wcs, grid: grid, into: $0)
        }
        #expect(kernel.path == reference.path && kernel.masked == reference.masked)
        var worst: Float = 0, peak: Float = 0
        for (x, y) in zip(a, b) where x.isFinite || y.isFinite {
            worst = max(worst, abs(x - y).isNaN ? .infinity : abs(x - y))
            peak = max(peak, abs(y))
        }
        return (reference.path, worst, peak, zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern })
    }

    @Test func theCKernelGivesTheSwiftPathsStampsOnRealFrames() throws {
        try #require(RealField.present, "needs ../shared/data/sdss-frames/2583-2-136 (real SDSS frames; set PHOTOZ_SHARED_DATA to its data folder)")
        let field = FieldID(run: 2583, camcol: 2, field: 136)
        var rng = SplitMix(seed: 14)
        var blocked = 0, compared = 0
        for band in Band.allCases {
            let frame = try FrameIndex.readFrame(RealField.frame(band), band: band, field: field)
            let image = try readFrameImage(frame)
            let w = Double(frame.width), h = Double(frame.height)
            try image.withUnsafeBufferPointer { image in
                // Stamps anywhere on the frame, some across its edges (those take the general path
                // in both); 64-pixel stamps as `cutout` cuts them, and sizes that are not whole vectors.
                for k in 0..<48 {
                    let x = rng.next(in: -30...(w + 30)), y = rng.next(in: -30...(h + 30))
                    let sky = try frame.wcs.sky(x: x + 1, y: y + 1)
                    let size = [64, 64, 45, 21][k % 4]
                    let grid = StampGrid(ra: sky.longitude, dec: sky.latitude, size: size, pixelScale: 0.396)
                    let result = try Self.compare(image, width: frame.width, height: frame.height, wcs: frame.wcs, grid: grid)
                    #expect(result.worst == 0 && result.sameBits,
                            "band \(band), stamp \(k) at (\(x), \(y)), size \(size): max |Δ| \(result.worst) = \(result.worst / max(result.peak, 1e-30)) of the peak")
                    if result.path == .blocks { blocked += 1 }
                    compared += 1
                }
            }
        }
        // Most stamps lie inside the frame: the comparison is about the blocked path.
        #expect(blocked >= compared / 2, "only \(blocked) of \(compared) stamps took the blocked path")
    }

    @Test func theCKernelGivesTheSwiftPathsStampsInEveryOrientation() throws {
        let width = 160, height = 160
        var rng = SplitMix(seed: 3)
        let image = (0..<width * height).map { k in
            let x = Double(k % width) - 79, y = Double(k / width) - 82
            return Float(100 * exp(-(x * x + y * y) / 18) + rng.next(in: -1...1))
        }
        // Aligned (v = frame x, rising and falling along a row), quarter-turned both ways, slightly off.
        for rotation in [0.0, 90, -90, 180, 0.05, 90.05, -89.97] {
            let wcs = try ResamplingTests.frameWCS(crpix: (80.5, 80.5), rotation: rotation)
            for size in [64, 37, 16] {
                let result = try image.withUnsafeBufferPointer {
                    try Self.compare($0, width: width, height: height, wcs: wcs, grid: StampGrid(ra: 150, dec: 2, size: size, pixelScale: 0.396))
                }
                #expect(result.path == .blocks, "rotation \(rotation)°, size \(size): \(result.path)")
                #expect(result.worst == 0 && result.sameBits, "rotation \(rotation)°, size \(size): max |Δ| \(result.worst) of a peak \(result.peak)")
            }
        }
    }

    @Test func theCMappingGivesTheSwiftPositionsAndAreas() throws {
        // A tolerance far below the default refines the cells (2, 4, … a side; for 45 pixels a
        // spacing that is no power of two), so the C loop crosses cell boundaries.
        let wcs = try ResamplingTests.frameWCS(crpix: (80.5, 80.5), rotation: 33)
        var cellCounts = Set<Int>()
        for (size, tolerance) in [(64, 2e-5), (64, 1e-11), (45, 1e-11), (45, 2e-5), (7, 1e-13)] {
            let mapping = try StampMapping(grid: StampGrid(ra: 150.01, dec: 2.02, size: size, pixelScale: 0.5), wcs: wcs, tolerance: tolerance)
            cellCounts.insert(mapping.cells)
            let count = size * size
            var c = [Double](repeating: .nan, count: 3 * count), swift = c
            c.withUnsafeMutableBufferPointer { mapping.rows(x: $0.baseAddress!, y: $0.baseAddress! + count, area: $0.baseAddress! + 2 * count, vectorKernel: true) }
            swift.withUnsafeMutableBufferPointer { mapping.rows(x: $0.baseAddress!, y: $0.baseAddress! + count, area: $0.baseAddress! + 2 * count, vectorKernel: false) }
            #expect(zip(c, swift).allSatisfy { $0.bitPattern == $1.bitPattern }, "size \(size), \(mapping.cells) cells a side")
        }
        #expect(cellCounts.count >= 3 && cellCounts.contains(1), "cells a side: \(cellCounts.sorted())")
    }
}

/// A small deterministic generator for test images.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func next(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + Double(next() >> 11) / Double(1 << 53) * (range.upperBound - range.lowerBound)
    }
}
