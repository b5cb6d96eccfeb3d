import FITS
import Foundation
import Testing
import WCS
@testable import PhotoZData

/// Frames with TAN-SIP distortion, made by astropy: point sources drawn where astropy's
/// `all_world2pix` (SIP included) puts them. photoz must cut them to the stamp centre as it does
/// for TAN frames, and its frame mapping must agree with astropy's.
@Suite(.serialized) struct CutoutSIPTests {
    /// Writes five 400 × 400 SIP frames (one field, bands offset by a few pixels as SDSS's are)
    /// and a catalog of their 30 sources; returns the folder and astropy's reference numbers.
    nonisolated(unsafe) static let made: (dir: TemporaryDirectory, reference: Reference)? = {
        let dir = TemporaryDirectory()
        let script = #"""
        import json, sys
        import numpy as np
        from astropy.io import fits
        from astropy.wcs import WCS
        out = sys.argv[1]
        rng = np.random.default_rng(3)
        def header(dx, dy):
            h = fits.Header()
            h["NAXIS"], h["NAXIS1"], h["NAXIS2"] = 2, 400, 400
            h["CTYPE1"], h["CTYPE2"] = "RA---TAN-SIP", "DEC--TAN-SIP"
            h["CRPIX1"], h["CRPIX2"] = 200.5 + dx, 200.5 + dy
            h["CRVAL1"], h["CRVAL2"] = 150.0, 2.0
            # SDSS-like: columns along Dec, 0.396" pixels, a small rotation.
            s, t = 0.396 / 3600, np.radians(1.5)
            h["CD1_1"], h["CD1_2"], h["CD2_1"], h["CD2_2"] = s * np.sin(t), s * np.cos(t), s * np.cos(t), -s * np.sin(t)
            h["A_ORDER"], h["B_ORDER"] = 3, 3
            # A few pixels of distortion at the corners, as wide-field cameras have.
            for k, v in {"A_2_0": 4.0e-5, "A_1_1": -3.0e-5, "A_0_2": 2.0e-5, "A_3_0": 4.0e-8, "A_1_2": -3.0e-8,
                         "B_2_0": -2.4e-5, "B_1_1": 5.0e-5, "B_0_2": 3.6e-5, "B_0_3": -5.0e-8, "B_2_1": 2.0e-8}.items():
                h[k] = v
            h["RADESYS"] = "ICRS"
            h["BUNIT"] = "nanomaggy"
            return h
        # Sources on a jittered grid 50 px apart (no neighbour inside a stamp's centroid window),
        # away from the edges, drawn as Gaussians (sigma 1.6 px) at sub-pixel positions.
        ref = WCS(header(0, 0))
        gx, gy = np.meshgrid(np.arange(6) * 55 + 62, np.arange(5) * 60 + 75)
        px = np.stack([gx.ravel(), gy.ravel()], axis=1) + rng.uniform(-5, 5, size=(30, 2))
        sky = ref.all_pix2world(px, 0)
        offsets = {"u": (1.3, -2.1), "g": (-0.7, 0.4), "r": (0.0, 0.0), "i": (2.2, 1.1), "z": (-1.6, 2.7)}
        yy, xx = np.mgrid[:400, :400]
        tan_shift = []
        for band, (dx, dy) in offsets.items():
            h = header(dx, dy)
            w = WCS(h)
            p = w.all_world2pix(sky, 0, tolerance=1e-12, maxiter=100)
            tan_shift.append(float(np.median(np.hypot(*(w.wcs_world2pix(sky, 0) - p).T))))
            image = np.zeros((400, 400))
            for x, y in p:
                image += 100 / (2 * np.pi * 1.6 ** 2) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.6 ** 2))
            fits.PrimaryHDU(image.astype(np.float32), h).writeto(f"{out}/frames/frame-{band}-000001-1-0001.fits")
        with open(f"{out}/cat.csv", "w") as f:
            f.write("objID,ra,dec\n")
            for k, (ra, dec) in enumerate(sky): f.write(f"{k + 1},{float(ra)!r},{float(dec)!r}\n")
        # astropy's mapping of the r frame at pixels across it (with SIP), both ways.
        pixels = rng.uniform(0.5, 400.5, size=(200, 2))
        world = ref.all_pix2world(pixels, 1)
        back = ref.all_world2pix(world, 1, tolerance=1e-12, maxiter=100)
        print(json.dumps({"pixels": pixels.tolist(), "world": world.tolist(), "back": back.tolist(),
                          "sky": sky.tolist(), "tanShift": tan_shift}))
        """#
        do {
            try FileManager.default.createDirectory(atPath: dir.file("frames"), withIntermediateDirectories: true)
            let output = try runPython(script, arguments: [dir.path])
            return (dir, try JSONDecoder().decode(Reference.self, from: Data(output.utf8)))
        } catch {
            print("CutoutSIPTests: could not make the SIP frames: \(error)")
            return nil
        }
    }()

    struct Reference: Decodable {
        var pixels: [[Double]]
        var world: [[Double]]
        var back: [[Double]]
        var sky: [[Double]]
        /// Median distance between where SIP and plain TAN put the sources, per band (pixels).
        var tanShift: [Double]
    }

    static func frame(_ band: Band) throws -> Frame {
        let made = try #require(Self.made, "the SIP frames could not be made (interop venv)")
        return try FrameIndex.readFrame(made.dir.file("frames/frame-\(band.rawValue)-000001-1-0001.fits"), band: band,
                                        field: FieldID(run: 1, camcol: 1, field: 1))
    }

    /// wcslib reads the SIP header as astropy does: pixel → sky and sky → pixel agree.
    @Test func theMappingAgreesWithAstropy() throws {
        let made = try #require(Self.made, "the SIP frames could not be made (interop venv)")
        let wcs = try Self.frame(.r).wcs
        #expect(wcs.axisTypes == ["RA---TAN-SIP", "DEC--TAN-SIP"])
        var worstSky = 0.0, worstPixel = 0.0
        for (k, p) in made.reference.pixels.enumerated() {
            let sky = try wcs.sky(x: p[0], y: p[1])
            worstSky = max(worstSky, abs(sky.longitude - made.reference.world[k][0]) * cos(2 * .pi / 180), abs(sky.latitude - made.reference.world[k][1]))
            let back = try wcs.pixel(longitude: made.reference.world[k][0], latitude: made.reference.world[k][1])
            worstPixel = max(worstPixel, abs(back.x - made.reference.back[k][0]), abs(back.y - made.reference.back[k][1]))
        }
        #expect(worstSky * 3600 < 1e-6, "pixel → sky differs from astropy's all_pix2world by \(worstSky * 3600)″")
        #expect(worstPixel < 1e-6, "sky → pixel differs from astropy's all_world2pix by \(worstPixel) px")
        // The distortion is not negligible: ignoring it would misplace the sources.
        #expect(made.reference.tanShift.allSatisfy { $0 > 0.3 }, "median SIP − TAN shift per band: \(made.reference.tanShift) px")
    }

    /// The interpolated stamp → frame mapping stays within 10⁻⁴ px of the exact one (wcslib at
    /// every pixel) on the distorted frame, refining its nodes where the distortion bends it.
    @Test func theInterpolatedMappingFollowsTheExactOneOnASIPFrame() throws {
        let made = try #require(Self.made, "the SIP frames could not be made (interop venv)")
        let wcs = try Self.frame(.r).wcs
        var worst = 0.0
        for s in made.reference.sky.prefix(10) {
            for size in [64, 128] {
                let grid = StampGrid(ra: s[0], dec: s[1], size: size, pixelScale: 0.396)
                let (positions, _) = try LanczosResampler().framePositions(grid: grid, wcs: wcs)
                for j in stride(from: 0, to: size, by: 3) { for i in stride(from: 0, to: size, by: 3) {
                    let sky = grid.sky(x: Double(i), y: Double(j))
                    let p = try wcs.pixel(longitude: sky.ra, latitude: sky.dec)
                    worst = max(worst, abs(p.x - 1 - positions[2 * (j * size + i)]), abs(p.y - 1 - positions[2 * (j * size + i) + 1]))
                } }
            }
        }
        #expect(worst < 1e-4, "interpolated mapping off by \(worst) px")
        // And the refinement is what keeps it there: one cell over a 128-pixel stamp is not enough.
        let grid = StampGrid(ra: made.reference.sky[0][0], dec: made.reference.sky[0][1], size: 128, pixelScale: 0.396)
        #expect(try StampMapping(grid: grid, wcs: wcs, tolerance: 2e-5).cells > 1)
    }

    /// The sources land at the stamp centre in every band (< 0.02 px), as on TAN frames.
    @Test func sourcesAreCutToTheStampCentre() throws {
        let made = try #require(Self.made, "the SIP frames could not be made (interop venv)")
        var config = CutoutConfiguration(frames: made.dir.file("frames"), catalog: made.dir.file("cat.csv"), output: made.dir.file("stamps"))
        config.threads = 2
        let summary = try cutout(config)
        #expect(summary.written == made.reference.sky.count, "\(summary.skipped)")
        var worst = 0.0
        for k in 1...made.reference.sky.count {
            let stamp = try readStamp(made.dir.file("stamps/\(k).fits"))
            for band in Band.allCases {
                let (pixels, masked) = stamp[band]!
                #expect(masked == 0)
                let c = try #require(centroid(pixels, width: 64, height: 64, x: 31.5, y: 31.5))
                worst = max(worst, abs(c.x - 31.5), abs(c.y - 31.5))
            }
        }
        #expect(worst < 0.02, "a source is \(worst) px from the stamp centre")
    }
}
