import FITS
import Foundation
import Testing
import WCS
@testable import PhotoZData

/// The real SDSS field 2583-2-136 (`../shared/data/sdss-frames`), when present.
enum RealField {
    /// The shared data folder: `<package root>/../shared/data` (a checkout beside `shared/`), or
    /// one level higher (a clone under `wt/`), or `$PHOTOZ_SHARED_DATA`.
    static let data: String? = {
        var candidates = [packageRoot + "/../shared/data", packageRoot + "/../../shared/data"]
        if let explicit = ProcessInfo.processInfo.environment["PHOTOZ_SHARED_DATA"] { candidates.insert(explicit, at: 0) }
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/sdss-frames/2583-2-136/frame-r-002583-2-0136.fits.bz2") }
    }()
    static let present = data != nil
    static var frames: String { data! + "/sdss-frames" }
    static func frame(_ band: Band) -> String { frames + "/2583-2-136/frame-\(band.rawValue)-002583-2-0136.fits.bz2" }

    /// Isolated, unsaturated, compact sources (stars) found in the r frame: local maxima of
    /// 3–120 nanomaggies per pixel, no brighter pixel within 12 px, second-moment radius under
    /// 2 px, at least 40 px from the edges; positions are Gaussian-weighted centroids turned
    /// into RA/Dec with the r frame's WCS. Computed once per test process.
    static let stars: [(ra: Double, dec: Double, x: Double, y: Double)] = {
        guard present, let frame = try? FrameIndex.readFrame(frame(.r), band: .r, field: FieldID(run: 2583, camcol: 2, field: 136)),
              let image = try? FITSFile.withFile(RealField.frame(.r), { try $0.readImage() }) else { return [] }
        let w = frame.width, h = frame.height
        var found: [(Double, Double, Double, Double)] = []
        for y in 40..<(h - 40) { for x in 40..<(w - 40) {
            let v = image[y * w + x]
            guard v > 3, v < 120 else { continue }
            var isPeak = true
            search: for dy in -12...12 { for dx in -12...12 where (dx, dy) != (0, 0) && image[(y + dy) * w + x + dx] >= v {
                isPeak = false
                break search
            } }
            guard isPeak, let c = centroid(image, width: w, height: h, x: Double(x), y: Double(y)), c.size < 2 else { continue }
            guard let sky = try? frame.wcs.sky(x: c.x + 1, y: c.y + 1) else { continue }
            found.append((sky.longitude, sky.latitude, c.x, c.y))
        } }
        return found.map { (ra: $0.0, dec: $0.1, x: $0.2, y: $0.3) }
    }()
}

/// Gaussian-weighted (σ 2 px) centroid of a source near (x, y), iterated; 0-based pixels. Also
/// the unweighted second-moment radius within 5 px, to tell stars from galaxies.
func centroid(_ image: [Float], width: Int, height: Int, x: Double, y: Double) -> (x: Double, y: Double, size: Double)? {
    var cx = x, cy = y
    for _ in 0..<10 {
        var sw = 0.0, sx = 0.0, sy = 0.0
        let x0 = Int(cx.rounded()), y0 = Int(cy.rounded())
        for j in (y0 - 7)...(y0 + 7) { for i in (x0 - 7)...(x0 + 7) {
            guard i >= 0, j >= 0, i < width, j < height else { return nil }
            let v = Double(image[j * width + i])
            guard v.isFinite else { return nil }
            let d2 = (Double(i) - cx) * (Double(i) - cx) + (Double(j) - cy) * (Double(j) - cy)
            let weight = v * exp(-d2 / 8)
            sw += weight; sx += weight * Double(i); sy += weight * Double(j)
        } }
        guard sw > 0 else { return nil }
        cx = sx / sw; cy = sy / sw
    }
    var s = 0.0, s2 = 0.0
    let x0 = Int(cx.rounded()), y0 = Int(cy.rounded())
    for j in (y0 - 5)...(y0 + 5) { for i in (x0 - 5)...(x0 + 5) {
        let d2 = (Double(i) - cx) * (Double(i) - cx) + (Double(j) - cy) * (Double(j) - cy)
        guard d2 <= 25 else { continue }
        let v = Double(image[j * width + i])
        s += v; s2 += v * d2
    } }
    return (cx, cy, s > 0 ? (s2 / s / 2).squareRoot() : .infinity)
}

/// The flux inside a Gaussian window (σ = `sigma` px) centred on (x, y), 0-based: Σ w·pixel.
///
/// A smooth window rather than a hard circle: which pixel centres fall inside a circle depends
/// on where it sits on the grid (197–209 for radius 8), so two grids' hard apertures differ by
/// that many noisy edge pixels and by SDSS's sky residual (≈ 0.03 nanomaggy per pixel) times
/// the count difference; a Gaussian window's sums agree on any grid to far below the noise.
func windowedFlux(_ image: [Float], width: Int, height: Int, x: Double, y: Double, sigma: Double) -> Double {
    var sum = 0.0
    let reach = 5 * sigma
    for j in max(0, Int(y - reach))...min(height - 1, Int(y + reach) + 1) {
        for i in max(0, Int(x - reach))...min(width - 1, Int(x + reach) + 1) {
            let d2 = (Double(i) - x) * (Double(i) - x) + (Double(j) - y) * (Double(j) - y)
            sum += exp(-d2 / (2 * sigma * sigma)) * Double(image[j * width + i])
        }
    }
    return sum
}

/// Reads the five bands of a stamp file written by `cutout`.
func readStamp(_ path: String) throws -> [Band: (pixels: [Float], masked: Int)] {
    try FITSFile.withFile(path) { file in
        var bands: [Band: ([Float], Int)] = [:]
        for hdu in 1..<(try file.hduCount()) {
            try file.moveTo(hdu: hdu)
            let band = Band(fitsName: try file.string("EXTNAME") ?? "")!
            bands[band] = (try file.readImage(), try file.int("NMASKED") ?? -1)
        }
        return bands.mapValues { (pixels: $0.0, masked: $0.1) }
    }
}

@Suite(.serialized, .enabled(if: RealField.present, "needs ../shared/data/sdss-frames/2583-2-136 (real SDSS frames; set PHOTOZ_SHARED_DATA to its data folder)"))
struct CutoutFrameTests {
    /// Cuts the stars (ids 1…) and two edge objects (ids 900001, 900002) once; the tests share it.
    nonisolated(unsafe) static let run: (dir: TemporaryDirectory, summary: CutoutSummary, stars: Int)? = {
        let stars = Array(RealField.stars.prefix(40))
        guard stars.count >= 10 else { return nil }
        let dir = TemporaryDirectory()
        guard let r = try? FrameIndex.readFrame(RealField.frame(.r), band: .r, field: FieldID(run: 2583, camcol: 2, field: 136)),
              let nearEdge = try? r.wcs.sky(x: 700, y: 12), let outside = try? r.wcs.sky(x: 700, y: -400) else { return nil }
        var text = "objID,ra,dec,z,zErr,ebv\n"
        for (k, s) in stars.enumerated() { text += "\(k + 1),\(s.ra),\(s.dec),0.1,0.001,0.05\n" }
        text += "900001,\(nearEdge.longitude),\(nearEdge.latitude),0.1,0.001,0.05\n"
        text += "900002,\(outside.longitude),\(outside.latitude),0.1,0.001,0.05\n"
        try? text.write(toFile: dir.file("cat.csv"), atomically: true, encoding: .utf8)
        var config = CutoutConfiguration(frames: RealField.frames, catalog: dir.file("cat.csv"), output: dir.file("stamps"))
        config.threads = 2
        guard let summary = try? cutout(config) else { return nil }
        return (dir, summary, stars.count)
    }()

    @Test func everyStarIsCutAndTheOutsideObjectReported() throws {
        let run = try #require(Self.run, "the cutout run failed")
        #expect(run.summary.written == run.stars + 1)   // stars + the edge object (kept with a mask)
        #expect(run.summary.skipped == ["outside-frames": 1])
        let report = try String(contentsOfFile: run.summary.skippedReport, encoding: .utf8)
        #expect(report.hasPrefix("object_id,catalog_row,reason,file,detail\n900002,"))
        let frames = try String(contentsOfFile: run.summary.framesReport, encoding: .utf8).split(separator: "\n")
        #expect(frames.count == 1 + 5 * (run.stars + 1))
        #expect(frames.dropFirst().allSatisfy { $0.contains(",2583-2-136,") && $0.contains("frame-") })
    }

    /// Stars land where the frames put them in every band (resampling moves nothing), at the
    /// stamp centre in r (where their positions were measured), and photoz adds no offset
    /// between the bands: each band's median offset is the frames' own.
    ///
    /// The frames' own offsets between bands are the data's: SDSS calibrates u, g, i and z
    /// against r to 25–35 mas rms (0.06–0.09 px; Pier et al. 2003), and measured directly on the
    /// raw frames of this field with astropy (904 stars, `scripts/sdss-band-offsets.py`) the band
    /// medians lie within 0.06 px of r. photoz must neither remove nor add to them.
    @Test func starsAreCentredAndTheBandsAgree() throws {
        let run = try #require(Self.run, "the cutout run failed")
        let index = try FrameIndex.scan(RealField.frames)
        let frames = index.fields[FieldID(run: 2583, camcol: 2, field: 136)]!
        var offsets: [Band: [(Double, Double)]] = [:], own: [Band: [(Double, Double)]] = [:]
        var resamplingError = 0.0
        for band in Band.allCases {
            let frame = frames[band]!
            let image = try FITSFile.withFile(frame.path) { try $0.readImage() }
            for k in 1...run.stars {
                let stamp = try readStamp(run.dir.file("stamps/\(k).fits"))
                let c = try #require(centroid(stamp[band]!.pixels, width: 64, height: 64, x: 31.5, y: 31.5))
                // The same star centroided on the frame, carried to the stamp grid by the WCSs.
                let star = RealField.stars[k - 1]
                let p = try frame.wcs.pixel(longitude: star.ra, latitude: star.dec)
                guard let f = centroid(image, width: frame.width, height: frame.height, x: p.x - 1, y: p.y - 1) else { continue }
                let sky = try frame.wcs.sky(x: f.x + 1, y: f.y + 1)
                let grid = StampGrid(ra: star.ra, dec: star.dec, size: 64, pixelScale: 0.396)
                let stampWCS = try WCS(keywords: [("NAXIS", "2"), ("CTYPE1", "'RA---TAN'"), ("CTYPE2", "'DEC--TAN'")]
                    + grid.headerKeywords.map { ($0.0, String(format: "%.17G", $0.1)) }, source: "stamp")
                let expected = try stampWCS.pixel(longitude: sky.longitude, latitude: sky.latitude)
                offsets[band, default: []].append((c.x - 31.5, c.y - 31.5))
                own[band, default: []].append((expected.x - 1 - 31.5, expected.y - 1 - 31.5))
                resamplingError = max(resamplingError, abs(expected.x - 1 - c.x), abs(expected.y - 1 - c.y))
            }
        }
        // Resampling keeps every star where its own frame has it (Lanczos-3 of a well-sampled PSF).
        #expect(resamplingError < 0.02, "a stamp centroid differs from its frame's by \(resamplingError) px")
        func median(_ v: [Double]) -> Double { let s = v.sorted(); return s[s.count / 2] }
        func medians(_ o: [Band: [(Double, Double)]]) -> String {
            Band.allCases.map { band in String(format: "%@ (%+.3f, %+.3f)", band.rawValue, median(o[band]!.map(\.0)), median(o[band]!.map(\.1))) }.joined(separator: ", ")
        }
        // Reported with the test's output: the data's own offsets (x east-left, y north) on these stars.
        print("CutoutFrameTests: median band offsets of \(run.stars) stars from the r position, stamp pixels (x, y = north):\n  in photoz's stamps: \(medians(offsets))\n  in the frames themselves: \(medians(own))")
        let r = offsets[.r]!
        // r: the positions were measured on the r frame, so only resampling could move them.
        #expect(r.allSatisfy { abs($0.0) < 0.02 && abs($0.1) < 0.02 }, "r offsets \(r)")
        for band in Band.allCases {
            let o = offsets[band]!, f = own[band]!
            // Median over the stars (removes photon noise): photoz's band offset is the frames'.
            let dx = median(o.map(\.0)) - median(f.map(\.0)), dy = median(o.map(\.1)) - median(f.map(\.1))
            #expect(abs(dx) < 0.02 && abs(dy) < 0.02, "band \(band.rawValue): stamps \(medians(offsets)); frames \(medians(own))")
            if band != .u {   // u stars are faint: per-star noise is larger
                let close = o.filter { abs($0.0) < 0.3 && abs($0.1) < 0.3 }.count
                #expect(close >= o.count * 8 / 10, "band \(band.rawValue): only \(close) of \(o.count) stars within 0.3 px")
            }
        }
    }

    /// Aperture fluxes (Gaussian window, σ 4 px ≈ 1.6″) in the stamps equal the frames' at the
    /// same sky position.
    @Test func apertureFluxesMatchTheFrames() throws {
        let run = try #require(Self.run, "the cutout run failed")
        let rows = try String(contentsOfFile: run.summary.framesReport, encoding: .utf8).split(separator: "\n").dropFirst()
        var positions: [String: (Double, Double)] = [:]
        for row in rows {
            let f = row.split(separator: ",")
            positions["\(f[0]) \(f[3])"] = (Double(f[5])! - 1, Double(f[6])! - 1)
        }
        for band in Band.allCases {
            let image = try FITSFile.withFile(RealField.frame(band)) { try $0.readImage() }
            var ratios: [Double] = []
            for k in 1...run.stars {
                let stamp = try readStamp(run.dir.file("stamps/\(k).fits"))[band]!.pixels
                let (x, y) = positions["\(k) \(band.rawValue)"]!
                let frameFlux = windowedFlux(image, width: 2048, height: 1489, x: x, y: y, sigma: 4)
                let stampFlux = windowedFlux(stamp, width: 64, height: 64, x: 31.5, y: 31.5, sigma: 4)
                if frameFlux > 20 { ratios.append(stampFlux / frameFlux) }
            }
            #expect(ratios.count >= 5, "band \(band.rawValue): \(ratios.count) stars bright enough")
            // Resampling conserves flux; the windowed sums differ only by resampled noise.
            let sorted = ratios.sorted()
            #expect(abs(sorted[sorted.count / 2] - 1) < 0.003, "band \(band.rawValue): median stamp/frame flux \(sorted[sorted.count / 2])")
            #expect(ratios.allSatisfy { abs($0 - 1) < 0.01 }, "band \(band.rawValue): stamp/frame flux \(ratios)")
        }
    }

    /// The object 12 rows from the frame edge keeps its stamp, with NaN where the kernel left
    /// the frame, counted in NMASKED; `--edge skip` leaves it out instead.
    @Test func edgeObjectIsMaskedOrSkipped() throws {
        let run = try #require(Self.run, "the cutout run failed")
        let stamp = try readStamp(run.dir.file("stamps/900001.fits"))
        for band in Band.allCases {
            let (pixels, masked) = stamp[band]!
            #expect(masked > 0 && pixels.filter(\.isNaN).count == masked, "band \(band.rawValue): NMASKED \(masked)")
            // The object is 12 rows (≈ 12 stamp columns, the frame is rotated) from the edge:
            // the stamp's far half is intact.
            #expect(masked < 64 * 32)
        }
        let cat = run.dir.file("edge.csv")
        let line = try String(contentsOfFile: run.dir.file("cat.csv"), encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("900001,") }!
        try "objID,ra,dec\n\(line.split(separator: ",").prefix(3).joined(separator: ","))\n1,\(RealField.stars[0].ra),\(RealField.stars[0].dec)\n".write(toFile: cat, atomically: true, encoding: .utf8)
        var config = CutoutConfiguration(frames: RealField.frames, catalog: cat, output: run.dir.file("skip"))
        config.edge = .skip
        config.threads = 2
        let summary = try cutout(config)
        #expect(summary.written == 1 && summary.skipped == ["on-edge": 1])
        #expect(!FileManager.default.fileExists(atPath: run.dir.file("skip/900001.fits")))
    }

    /// `photoz ingest` reads the stamps as they are; the masked one is skipped as non-finite.
    @Test func ingestReadsTheStamps() throws {
        let run = try #require(Self.run, "the cutout run failed")
        var config = IngestConfiguration(catalog: run.dir.file("cat.csv"), cutouts: run.dir.file("stamps"), output: run.dir.file("shards"))
        config.split = SplitFractions(train: 1, valid: 0, test: 0)
        let summary = try ingest(config)
        #expect(summary.ingested == run.stars)
        #expect(summary.skipped["non-finite-pixels"] == 1 && summary.skipped["missing-cutout"] == 1)
    }

    /// Agreement with SWarp (LANCZOS3, same grid) and astropy reproject (flux-conserving).
    ///
    /// SWarp resamples as photoz does, so pixels must agree to 10⁻⁴ of the peak (measured: about
    /// 10⁻⁵, float32 rounding). `reproject_exact` (pixel-overlap areas) and `reproject_adaptive`
    /// (Gaussian anti-aliasing kernel, conserve_flux) use other kernels that blur undersampled
    /// stars by up to a third of their peak per pixel, so only what every flux-conserving method
    /// must share is compared: aperture fluxes (radius 8 px) within 1 % and centroids within 0.05 px.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/SWarp"), "needs SWarp (Debian package swarp)"))
    func agreesWithSWarpAndReproject() throws {
        let run = try #require(Self.run, "the cutout run failed")
        let work = run.dir.file("interop")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        // SWarp does not read .bz2: give it the r frame decompressed.
        let bunzip = Process()
        bunzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        bunzip.arguments = ["-c", "bzip2 -dc '\(RealField.frame(.r))' > '\(work)/frame-r.fits'"]
        try bunzip.run()
        bunzip.waitUntilExit()
        #expect(bunzip.terminationStatus == 0)
        let stamps = (1...3).map { run.dir.file("stamps/\($0).fits") }
        let script = """
        import sys, json, subprocess, warnings
        import numpy as np
        from astropy.io import fits
        from astropy.wcs import WCS, FITSFixedWarning
        from reproject import reproject_exact, reproject_adaptive
        warnings.simplefilter("ignore", FITSFixedWarning)
        work, stamps = sys.argv[1], sys.argv[2:]
        frame = fits.open(work + "/frame-r.fits")[0]
        def centroid(a):
            cx = cy = 31.5
            yy, xx = np.mgrid[:64, :64]
            for _ in range(10):
                w = a * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 8)
                cx, cy = (w * xx).sum() / w.sum(), (w * yy).sum() / w.sum()
            return cx, cy
        yy, xx = np.mgrid[:64, :64]
        aperture = (xx - 31.5) ** 2 + (yy - 31.5) ** 2 <= 64
        out = []
        for path in stamps:
            with fits.open(path) as h:
                ours, header = h["r"].data.astype(np.float64), h["r"].header
            wcs = WCS(header)
            head = fits.Header()
            head["NAXIS"], head["NAXIS1"], head["NAXIS2"] = 2, 64, 64
            for k in ["CTYPE1", "CTYPE2", "CUNIT1", "CUNIT2", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CD1_1", "CD1_2", "CD2_1", "CD2_2", "RADESYS"]:
                head[k] = header[k]
            open(work + "/swarp.head", "w").write(head.tostring(sep="\\n", endcard=True, padding=False) + "\\n")
            subprocess.run(["SWarp", work + "/frame-r.fits", "-IMAGEOUT_NAME", work + "/swarp.fits", "-WEIGHTOUT_NAME", work + "/swarp.weight.fits",
                            "-RESAMPLING_TYPE", "LANCZOS3", "-SUBTRACT_BACK", "N", "-FSCALASTRO_TYPE", "FIXED", "-COMBINE_TYPE", "AVERAGE",
                            "-WRITE_XML", "N", "-VERBOSE_TYPE", "QUIET", "-RESAMPLE_DIR", work, "-NTHREADS", "1"], check=True, capture_output=True)
            swarp = fits.open(work + "/swarp.fits")[0].data.astype(np.float64)
            exact, _ = reproject_exact(frame, wcs, shape_out=(64, 64))
            adaptive, _ = reproject_adaptive(frame, wcs, shape_out=(64, 64), conserve_flux=True, kernel="gaussian", boundary_mode="strict")
            peak, flux, c = ours.max(), ours[aperture].sum(), centroid(ours)
            row = {"swarp_pixel": float(np.abs(swarp - ours).max() / peak), "swarp_flux": float(swarp[aperture].sum() / flux - 1)}
            for name, other in [("exact", exact), ("adaptive", adaptive)]:
                oc = centroid(other)
                row[name + "_flux"] = float(other[aperture].sum() / flux - 1)
                row[name + "_centroid"] = float(max(abs(oc[0] - c[0]), abs(oc[1] - c[1])))
            out.append(row)
        print(json.dumps(out))
        """
        let output = try runPython(script, arguments: [work] + stamps)
        let rows = try JSONDecoder().decode([[String: Double]].self, from: Data(output.utf8))
        #expect(rows.count == 3)
        for row in rows {
            #expect(row["swarp_pixel"]! < 1e-4 && abs(row["swarp_flux"]!) < 1e-4, "SWarp: \(row)")
            #expect(abs(row["exact_flux"]!) < 0.01 && row["exact_centroid"]! < 0.05, "reproject_exact: \(row)")
            #expect(abs(row["adaptive_flux"]!) < 0.01 && row["adaptive_centroid"]! < 0.05, "reproject_adaptive: \(row)")
        }
    }
}
