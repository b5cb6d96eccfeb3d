import Foundation
import Testing

/// Galaxies without a redshift through the executable: ingest keeps them with
/// --keep-unlabelled, train refuses them (and says how to select the others), predict
/// estimates them and says how many, evaluate leaves them out and says so.
@Suite struct UnlabelledCommandTests {
    @Test func unlabelledRowsArePredictedButNeverTrainedOrScored() throws {
        let dir = TemporaryDirectory()
        #expect(try Photoz.run(["simulate", "--count", "60", "--out", dir.file("sky"), "--seed", "4", "--size", "32"]).status == 0)
        // Every third galaxy loses its redshift to SDSS's missing-value sentinel.
        let text = try String(contentsOfFile: dir.file("sky/catalog.csv"), encoding: .utf8)
        var lines = text.split(separator: "\n").map(String.init)
        let header = lines[0].split(separator: ",").map(String.init)
        let z = try #require(header.firstIndex(of: "z"))
        var blanked = 0
        for k in 1..<lines.count where k % 3 == 0 {
            var fields = lines[k].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            fields[z] = "-9999"
            lines[k] = fields.joined(separator: ",")
            blanked += 1
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir.file("cat.csv"), atomically: true, encoding: .utf8)

        // Default: skipped with their reason.
        let skipped = try Photoz.run(["ingest", "--catalog", dir.file("cat.csv"), "--cutouts", dir.file("sky/cutouts"),
                                      "--out", dir.file("labelled"), "--size", "32", "--json"])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(skipped.stdout.contains("\"missing-redshift\":\(blanked)"))
        // Kept: unlabelled rows, counted by ingest, validate and inspect.
        let kept = try Photoz.run(["ingest", "--catalog", dir.file("cat.csv"), "--cutouts", dir.file("sky/cutouts"),
                                   "--out", dir.file("all"), "--size", "32", "--keep-unlabelled", "--split", "60/20/20"])
        #expect(kept.status == 0, "\(kept.stderr)")
        #expect(kept.stdout.contains("\(blanked) of them unlabelled"))
        let valid = try Photoz.run(["validate", dir.file("all")])
        #expect(valid.status == 0 && valid.stdout.contains("\(blanked) of them unlabelled"), "\(valid.stdout)")
        let inspect = try Photoz.run(["inspect", dir.file("all")])
        #expect(inspect.stdout.contains("labels: \(60 - blanked) rows with a spectroscopic redshift, \(blanked) without"), "\(inspect.stdout)")

        // train refuses, naming the count and the select that fixes it.
        let refused = try Photoz.run(["train", "--data", dir.file("all"), "--out", dir.file("m.h5"), "--epochs", "1", "--batch-size", "8"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("\(blanked) of its 60 rows have no spectroscopic redshift") && refused.stderr.contains("labelled == 1"),
                "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("m.h5")))
        let select = try Photoz.run(["select", dir.file("all"), "--where", "labelled == 1", "--out", dir.file("train-set")])
        #expect(select.status == 0, "\(select.stderr)")
        let train = try Photoz.run(["train", "--data", dir.file("train-set"), "--out", dir.file("m.h5"), "--epochs", "1",
                                    "--batch-size", "8", "--model", "simple"])
        #expect(train.status == 0, "\(train.stderr)")

        // predict estimates every row and says how many had no redshift; evaluate leaves them out.
        let predict = try Photoz.run(["predict", "--model", dir.file("m.h5"), "--data", dir.file("all"), "--split", "all",
                                      "--out", dir.file("pred.h5")])
        #expect(predict.status == 0, "\(predict.stderr)")
        #expect(predict.stdout.contains("60 objects") && predict.stdout.contains("\(blanked) of them unlabelled"), "\(predict.stdout)")
        #expect(!predict.stdout.contains("nan"), "metrics must be over labelled rows only: \(predict.stdout)")
        let evaluate = try Photoz.run(["evaluate", dir.file("pred.h5")])
        #expect(evaluate.status == 0, "\(evaluate.stderr)")
        #expect(evaluate.stdout.contains("\(blanked) objects without z_spec left out"), "\(evaluate.stdout)")
    }

    /// A specObj file as SDSS distributes it (made with astropy from a simulated sky) ingests
    /// without column flags; --class, --zwarning, --ebv are applied, recorded in the manifest's
    /// inputs and explained row by row in skipped.csv.
    @Test func aSpecObjFileIngestsWithSelectionRecorded() throws {
        let dir = TemporaryDirectory()
        #expect(try Photoz.run(["simulate", "--count", "30", "--out", dir.file("sky"), "--seed", "6", "--size", "32"]).status == 0)
        _ = try QPInteropCommandTests.python("""
        import sys, numpy as np, pandas as pd
        from astropy.table import Table
        c = pd.read_csv(sys.argv[1])
        n = len(c)
        t = Table()
        t['BESTOBJID'] = np.array([str(i) for i in c['objID']], dtype='S19')
        t['OBJID'] = np.zeros((n, 5), dtype='>i4')
        t['PLUG_RA'] = c['ra'].to_numpy('>f8'); t['PLUG_RA'].unit = 'deg'
        t['PLUG_DEC'] = c['dec'].to_numpy('>f8'); t['PLUG_DEC'].unit = 'deg'
        z = c['z'].to_numpy('>f4').copy(); z[0] = -9999
        t['Z'] = z
        t['Z_ERR'] = np.full(n, 1e-5, dtype='>f4')
        t['ZWARNING'] = np.array([4 if k == 1 else 0 for k in range(n)], dtype='>i4')
        t['CLASS'] = np.array(['STAR  ' if k == 2 else 'GALAXY' for k in range(n)], dtype='S6')
        t.write(sys.argv[2], format='fits')
        """, [dir.file("sky/catalog.csv"), dir.file("specObj.fits")])
        let result = try Photoz.run(["ingest", "--catalog", dir.file("specObj.fits"), "--cutouts", dir.file("sky/cutouts"),
                                     "--out", dir.file("shards"), "--size", "32", "--class", "GALAXY", "--zwarning", "0", "--ebv", "0.03", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"ingested\":27") && result.stdout.contains("\"not-selected\":2") && result.stdout.contains("\"missing-redshift\":1"),
                "\(result.stdout)")
        let manifest = try String(contentsOfFile: dir.file("shards/manifest.json"), encoding: .utf8)
        #expect(manifest.contains("class in [GALAXY]; zwarning in [0]") && manifest.contains("constant 0.03") && manifest.contains("object_id=BESTOBJID"),
                "\(manifest)")
        let skipped = try String(contentsOfFile: dir.file("shards/skipped.csv"), encoding: .utf8)
        #expect(skipped.contains("not-selected") && skipped.contains("ZWARNING is 4") && skipped.contains("CLASS is 'STAR'"), "\(skipped)")
        #expect(try Photoz.run(["validate", dir.file("shards")]).status == 0)
    }

    /// --ebv-map: every object gets the map's E(B-V) at its position, and the map (with its
    /// checksum) is recorded as an input of the data set.
    @Test func ebvFromADustMapIsUsedAndRecorded() throws {
        let dir = TemporaryDirectory()
        #expect(try Photoz.run(["simulate", "--count", "12", "--out", dir.file("sky"), "--seed", "2", "--size", "32"]).status == 0)
        _ = try QPInteropCommandTests.python("""
        import sys, numpy as np
        from astropy.io import fits
        h = fits.Header()
        h['CTYPE1'] = 'RA---CAR'; h['CTYPE2'] = 'DEC--CAR'; h['CRPIX1'] = 180.5; h['CRPIX2'] = 90.5
        h['CRVAL1'] = 180.0; h['CRVAL2'] = 0.0; h['CDELT1'] = -1.0; h['CDELT2'] = 1.0; h['RADESYS'] = 'ICRS'
        fits.PrimaryHDU(np.full((180, 360), 0.0625, np.float32), h).writeto(sys.argv[1])
        """, [dir.file("allsky.fits")])
        let result = try Photoz.run(["ingest", "--catalog", dir.file("sky/catalog.csv"), "--cutouts", dir.file("sky/cutouts"),
                                     "--out", dir.file("shards"), "--size", "32", "--ebv-map", dir.file("allsky.fits")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("E(B-V): dust map: allsky.fits (equatorial RA---CAR/DEC--CAR, 360×180)"), "\(result.stdout)")
        let manifest = try String(contentsOfFile: dir.file("shards/manifest.json"), encoding: .utf8)
        #expect(manifest.contains("ebv_maps_sha256"))
        let inspect = try Photoz.run(["inspect", dir.file("shards"), "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any]
        let ebv = json?["ebv"] as? [String: Any]
        #expect(ebv?["min"] as? Double == 0.0625 && ebv?["max"] as? Double == 0.0625, "\(String(describing: ebv))")
        let both = try Photoz.run(["ingest", "--catalog", dir.file("sky/catalog.csv"), "--cutouts", dir.file("sky/cutouts"),
                                   "--out", dir.file("other"), "--ebv", "0.1", "--ebv-map", dir.file("allsky.fits")])
        #expect(both.status == 64 && both.stderr.contains("choose one"), "\(both.stderr)")
    }
}
