import Foundation
import Testing
@testable import PhotoZData

/// h5py, astropy and pandas read what photoz writes as photoz meant it.
@Suite struct InteropTests {
    @Test(arguments: [ShardCompression.gzip(4), .none])
    func h5pyPixelsEqualAstropyPixels(compression: ShardCompression) throws {
        let dir = TemporaryDirectory()
        let cutouts = dir.file("cutouts")
        try FileManager.default.createDirectory(atPath: cutouts, withIntermediateDirectories: true)
        // Noisy 70×70 images (cropped to 64) in shuffled HDU order, gzip-compressed files among them.
        var rng = SystemRandomNumberGenerator()
        let ids: [Int64] = (0..<9).map { 1_237_650_000_000_000_000 + $0 }
        for (k, id) in ids.enumerated() {
            let pixels = (0..<5 * 70 * 70).map { _ in Float.random(in: -0.2...3, using: &rng) }
            try CutoutFactory.write(id: id, layout: .mef, size: 70, into: cutouts, bandOrder: [.g, .u, .z, .r, .i], pixels: pixels)
            if k % 3 == 0 {
                let gzip = Process()
                gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
                gzip.arguments = [cutouts + "/\(id).fits"]
                try gzip.run()
                gzip.waitUntilExit()
            }
        }
        try CutoutFactory.csvCatalog(ids, at: dir.file("cat.csv"))
        var config = IngestConfiguration(catalog: dir.file("cat.csv"), cutouts: cutouts, output: dir.file("out"))
        config.compression = compression
        config.split = SplitFractions(train: 1, valid: 0, test: 0)
        let summary = try ingest(config)
        #expect(summary.ingested == 9)

        let script = """
        import sys, glob, json, h5py, numpy as np, pandas as pd
        from astropy.io import fits
        out, cutouts = sys.argv[1], sys.argv[2]
        checked = 0
        for shard in sorted(glob.glob(out + "/*.h5")):
            with h5py.File(shard, "r") as f:
                assert f.attrs["schema"] == "photoz.shard", f.attrs["schema"]
                assert list(f.attrs["bands"]) == ["u", "g", "r", "i", "z"]
                assert f["images"].dtype == np.float32 and f["object_id"].dtype == np.int64 and f["ra"].dtype == np.float64
                images, ids = f["images"][:], f["object_id"][:]
                table = pd.DataFrame({k: f[k][:] for k in ["object_id", "ra", "dec", "z_spec", "z_spec_err", "ebv"]})
                assert len(table) == len(images)
                for k, oid in enumerate(ids):
                    name = [p for p in glob.glob(f"{cutouts}/{oid}.fits*")][0]
                    with fits.open(name) as hdul:
                        for hdu in hdul[1:]:
                            band = "ugriz".index(hdu.header["EXTNAME"].lower())
                            expected = hdu.data.astype(np.float32)[3:67, 3:67]
                            assert np.array_equal(images[k, band], expected), (oid, band)
                    checked += 1
        print(json.dumps({"checked": checked, "compression": str(h5py.File(sorted(glob.glob(out + "/*.h5"))[0])["images"].compression)}))
        """
        let output = try runPython(script, arguments: [dir.file("out"), cutouts])
        #expect(output.contains("\"checked\": 9"))
        #expect(output.contains(compression == .none ? "\"compression\": \"None\"" : "\"compression\": \"gzip\""))
    }
}
