import FITS
import Foundation
import PhotoZData
import Testing
@testable import SkySim

/// The files `simulateSky` writes: readable by astropy, clean for fitsverify, read back by ingest's
/// reader exactly, identical for any thread count, and protected against accidental overwrites.
@Suite struct OutputTests {
    static func run(_ layout: CutoutLayout, count: Int = 4, threads: Int? = nil, into directory: String,
                    overwrite: Bool = false) throws -> SimulationSummary {
        let config = SimulationConfig(count: count, seed: 9, layout: layout, size: 32, overwrite: overwrite, threads: threads)
        return try simulateSky(config, outputDirectory: directory)
    }

    static func allFiles(_ directory: String) throws -> [String] {
        let cutouts = directory + "/cutouts"
        return try FileManager.default.contentsOfDirectory(atPath: cutouts).sorted().map { cutouts + "/" + $0 }
            + [directory + "/catalog.fits"]
    }

    @Test(arguments: CutoutLayout.allCases)
    func fitsverifyFindsNoErrors(layout: CutoutLayout) throws {
        let dir = TemporaryDirectory()
        let summary = try Self.run(layout, into: dir.path)
        let files = try Self.allFiles(dir.path)
        #expect(files.count == summary.files + 1)
        let fitsverify = "/usr/bin/fitsverify"
        try #require(FileManager.default.isExecutableFile(atPath: fitsverify), "fitsverify missing: run scripts/bootstrap (Debian package fitsverify)")
        for file in files {
            let (status, output) = try runTool(fitsverify, ["-q", file])
            #expect(status == 0 && output.contains("verification OK"), "fitsverify \(file): \(output)")
        }
    }

    @Test(arguments: CutoutLayout.allCases)
    func astropyReadsEveryFileAndTheWCS(layout: CutoutLayout) throws {
        let dir = TemporaryDirectory()
        _ = try Self.run(layout, into: dir.path)
        let script = #"""
import sys, glob, warnings
import numpy as np, pandas as pd
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
out, layout = sys.argv[1], sys.argv[2]
cat = Table.read(out + "/catalog.fits", hdu="CATALOG")
csv = pd.read_csv(out + "/catalog.csv")
assert cat["objID"].dtype.kind == "i" and cat["objID"].dtype.itemsize == 8, cat["objID"].dtype
assert list(csv["objID"]) == list(cat["objID"]), "csv and fits ids differ"
assert np.allclose(csv["z"], cat["z"], rtol=0, atol=1e-15)
for name in ["objID", "ra", "dec", "z", "zErr", "ebv", "type", "r_mag"]:
    assert name in cat.colnames and name in csv.columns, name
rows = {int(r["objID"]): r for r in cat}
def check_image(h, oid, band):
    hdr = h.header
    assert hdr["BUNIT"] == "nanomaggy" and hdr["PIXSCALE"] == 0.396
    assert h.data.dtype.kind == "f" and np.all(np.isfinite(h.data))
    ra, dec = WCS(hdr).celestial.all_pix2world([[hdr["CRPIX1"] - 1, hdr["CRPIX2"] - 1]], 0)[0]
    assert abs(ra - rows[oid]["ra"]) < 1e-9 and abs(dec - rows[oid]["dec"]) < 1e-9, (ra, dec)
    scale = WCS(hdr).celestial.proj_plane_pixel_scales()
    assert all(abs(s.to_value("arcsec") - 0.396) < 1e-9 for s in scale)
    if band: assert hdr["FILTER"] == band and hdr["EXTNAME"] == band
files = sorted(glob.glob(out + "/cutouts/*.fits"))
for path in files:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fits.open(path) as f:
            oid = int(f[0].header["OBJID"])
            assert abs(f[0].header["Z"] - rows[oid]["z"]) < 1e-12 and abs(f[0].header["EBV"] - rows[oid]["ebv"]) < 1e-12
            assert "SEDTYPE" in f[0].header and "RMAG" in f[0].header
            if layout == "mef":
                assert len(f) == 6 and f[0].data is None
                assert [h.header["EXTNAME"] for h in f[1:]] == list("ugriz")
                for h in f[1:]: check_image(h, oid, h.header["EXTNAME"])
            elif layout == "per-band":
                band = path[-6]
                assert len(f) == 1 and f[0].data.shape == (32, 32)
                check_image(f[0], oid, band)
            else:
                assert f[0].data.shape == (5, 32, 32) and f[0].header["BANDS"] == "u,g,r,i,z"
                assert [f[0].header["FILTER%d" % k] for k in range(1, 6)] == list("ugriz")
                check_image(f[0], oid, None)
print("checked", len(files))
"""#
        let (status, output) = try runTool(try venvPython(), ["-c", script, dir.path, layout.rawValue])
        #expect(status == 0, "astropy check failed: \(output)")
        #expect(output.contains("checked \(layout == .perBand ? 20 : 4)"), "\(output)")
    }

    @Test(arguments: CutoutLayout.allCases)
    func ingestReaderGetsTheSimulatedPixelsAndCatalog(layout: CutoutLayout) throws {
        let dir = TemporaryDirectory()
        _ = try Self.run(layout, into: dir.path)
        let simulator = try SkySimulator(config: SimulationConfig(count: 4, seed: 9, layout: layout, size: 32))
        let index = try CutoutIndex.scan(dir.path + "/cutouts", layout: nil, template: nil)
        #expect(index.layout == layout, "layout detected from the files")
        let reader = CutoutReader(layout: layout, size: 32)
        for i in 0..<4 {
            let galaxy = simulator.galaxy(index: i)
            let files = try #require(index.files[galaxy.truth.objectID])
            var pixels = [Float](repeating: .nan, count: 5 * 32 * 32)
            try pixels.withUnsafeMutableBufferPointer { _ = try reader.read(files: files, into: $0) }
            #expect(pixels == galaxy.image, "object \(i) read back differs")
        }
        for name in ["catalog.fits", "catalog.csv"] {
            let catalog = try Catalog.read(dir.path + "/" + name)
            #expect(catalog.entries.map(\.objectID) == (0..<4).map { SkySimulator.objectID(index: $0) })
            #expect(catalog.skipped.isEmpty)
            #expect(catalog.entries[2].zSpec == Float(simulator.truth(index: 2).z))
        }
    }

    @Test func filesAreIdenticalForAnyThreadCount() throws {
        let one = TemporaryDirectory(), two = TemporaryDirectory()
        _ = try Self.run(.mef, count: 20, threads: 1, into: one.path)
        _ = try Self.run(.mef, count: 20, threads: 2, into: two.path)
        let names = try Self.allFiles(one.path).map { String($0.dropFirst(one.path.count)) } + ["/catalog.csv"]
        #expect(try Self.allFiles(two.path).map { String($0.dropFirst(two.path.count)) } + ["/catalog.csv"] == names)
        for name in names {
            #expect(FileManager.default.contentsEqual(atPath: one.path + name, andPath: two.path + name), "\(name) differs")
        }
    }

    @Test func existingOutputNeedsOverwrite() throws {
        let dir = TemporaryDirectory()
        _ = try Self.run(.perBand, count: 3, into: dir.path)
        try "keep me".write(toFile: dir.file("notes.txt"), atomically: true, encoding: .utf8)
        #expect(throws: SimulationError.self) { try Self.run(.mef, count: 2, into: dir.path) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("cutouts")).count == 15, "refused run left the old files")
        let summary = try Self.run(.mef, count: 2, into: dir.path, overwrite: true)
        #expect(summary.files == 2)
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.file("cutouts")).sorted()
        #expect(left == ["1237650000000000000.fits", "1237650000000000001.fits"], "old per-band files replaced: \(left)")
        #expect(FileManager.default.fileExists(atPath: dir.file("notes.txt")), "other files are left alone")
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: dir.path)).contains { $0.hasPrefix(".") }, "no staging folders left")
        // A file where the folder should be.
        #expect(throws: SimulationError.self) { try Self.run(.mef, count: 1, into: dir.file("notes.txt")) }
    }
}
