import Foundation
import HDF5
import Testing
@testable import PhotoZData

/// convert and export: files in the Pasquet, Hayat and GalaxiesML layouts, made at run time by
/// numpy/h5py, become data sets that validate and hold exactly the source's values; exports go
/// back bit for bit; bad sources are refused naming the file and what is wrong.
@Suite struct ConvertTests {
    /// Makes the three layouts with numpy/h5py: `n` objects, deterministic values.
    static let makeFixtures = """
    import sys, numpy as np, h5py
    d, n = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(7)
    data = rng.normal(size=(n, 64, 64, 5)).astype(np.float32)
    z = rng.uniform(0, 0.4, n).astype(np.float32)
    ebv = rng.uniform(0, 0.1, n).astype(np.float32)
    np.savez(d + "/pasquet.npz", data=data, z=z, ebv=ebv)
    np.savez_compressed(d + "/pasquet-deflated.npz", data=data, z=z, ebv=ebv)
    ids = (np.arange(n, dtype=np.int64) * 7919 + 1237648720693755918)
    np.savez(d + "/pasquet-ids.npz", data=data, z=z, ebv=ebv, object_id=ids, ra=rng.uniform(0, 360, n), dec=rng.uniform(-10, 60, n))
    R = np.array([5.155, 3.793, 2.751, 2.086, 1.479])
    e = rng.uniform(0, 0.1, n)
    with h5py.File(d + "/hayat.h5", "w") as f:
        f["images"] = rng.normal(size=(n, 5, 107, 107)).astype(np.float32)
        f["specz_redshift"] = z
        f["specz_redshift_err"] = (z * 0.01).astype(np.float32)
        # DR12 extinction, with per-band noise so that the least-squares fit is a fit
        f["e_bv"] = (e[:, None] * R[None, :] * (1 + 0.01 * rng.normal(size=(n, 5)))).astype(np.float32)
        f["ObjID"] = ids
        f["ra"] = rng.uniform(0, 360, n)
        f["dec"] = rng.uniform(-10, 60, n)
    with h5py.File(d + "/galaxiesml.h5", "w") as f:
        f["image"] = (rng.normal(size=(n, 5, 127, 127)) * 100).astype(np.float32)
        f["specz_redshift"] = z
        f["object_id"] = ids + 5
    """

    static func fixtures(_ n: Int = 23) throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        _ = try runPython(makeFixtures, arguments: [dir.path, String(n)])
        return dir
    }

    /// Every row of a data set by id.
    static func rows(_ path: String) throws -> [Int64: (split: Split, row: ShardRows)] { try ManagementTests.contents(path) }

    static func convert(_ format: ConvertFormat, _ source: String, _ out: String, _ edit: (inout ConvertConfiguration) -> Void = { _ in }) throws -> ManagementSummary {
        var config = ConvertConfiguration(format: format, source: source, out: out)
        config.blockRows = 5  // several blocks, a partial last one
        config.output.shardSize = 7
        edit(&config)
        return try convertCollection(config)
    }

    /// npz → data set → npz gives the same arrays bit for bit, with the default split by id hash
    /// (rows spread over three splits) as with every row in one split: export writes rows by
    /// object id, which a source without ids got from its row index.
    @Test(arguments: [("pasquet.npz", ConvertSplitScheme.hash), ("pasquet-deflated.npz", .hash), ("pasquet.npz", .all(.test))])
    func npzRoundTripIsBitExact(_ name: String, _ scheme: ConvertSplitScheme) throws {
        let dir = try Self.fixtures()
        let summary = try Self.convert(.pasquetNPZ, dir.file(name), dir.file("ds")) { $0.splitScheme = scheme }
        #expect(summary.written == 23)
        if scheme == .hash {
            // The default scheme really spreads the rows (else this would test nothing new).
            #expect(summary.rows.values.filter { $0 > 0 }.count >= 2, "\(summary.rows)")
        } else {
            #expect(summary.rows["test"] == 23)
        }
        #expect(summary.notes["ids_made_from_row_index"] == 1)
        let report = validate(path: dir.file("ds"))
        #expect(report.problems.isEmpty, "\(report.problems)")
        let manifest = try Manifest.read(directory: dir.file("ds"))
        #expect(manifest.bands == ["u", "g", "r", "i", "z"] && manifest.inputs["absent"] == "object_id,ra,dec,z_spec_err")
        let n = try exportCollection(ExportConfiguration(data: dir.file("ds"), format: .pasquetNPZ, out: dir.file("back.npz")))
        #expect(n == 23)
        let out = try runPython("""
        import sys, numpy as np
        a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
        for k in ("data", "z", "ebv"):
            assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
            assert np.array_equal(a[k].view(np.uint32), b[k].view(np.uint32)), k
        assert np.array_equal(b["object_id"], np.arange(len(a["z"])))
        print("same", sorted(b.keys()))
        """, arguments: [dir.file(name), dir.file("back.npz")])
        #expect(out.hasPrefix("same"), "\(out)")
    }

    @Test func npzIDsAndPositionsAreKeptAndSplitByHash() throws {
        let dir = try Self.fixtures()
        _ = try Self.convert(.pasquetNPZ, dir.file("pasquet-ids.npz"), dir.file("ds"))
        let got = try Self.rows(dir.file("ds"))
        #expect(got.count == 23)
        // The source's values, channels-last → band-first, from numpy.
        let text = try runPython("""
        import sys, numpy as np
        a = np.load(sys.argv[1])
        for k in range(len(a["z"])):
            print(int(a["object_id"][k]), repr(float(a["ra"][k])), repr(float(a["dec"][k])), float(a["data"][k, 10, 20, 3]), float(a["data"][k, 63, 0, 0]))
        """, arguments: [dir.file("pasquet-ids.npz")])
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            let id = Int64(f[0])!
            guard let (split, row) = got[id] else { Issue.record("id \(id) missing"); continue }
            #expect(split == SplitFractions.default.split(of: id))
            #expect(row.ra[0] == Double(f[1])! && row.dec[0] == Double(f[2])!)
            // images[k, b, y, x] = data[k, y, x, b]
            #expect(row.images[(3 * 64 + 10) * 64 + 20] == Float(f[3])!)
            #expect(row.images[(0 * 64 + 63) * 64 + 0] == Float(f[4])!)
        }
    }

    /// Export orders rows by object id whatever the source order and the splits; exporting the
    /// export's conversion gives the same file's arrays again.
    @Test func exportWritesRowsByObjectID() throws {
        let dir = TemporaryDirectory()
        _ = try runPython("""
        import sys, numpy as np
        rng = np.random.default_rng(11)
        n = 40
        ids = rng.permutation(n).astype(np.int64) * 1000 + 17
        np.savez(sys.argv[1] + "/shuffled.npz", data=rng.normal(size=(n, 16, 16, 5)).astype(np.float32),
                 z=rng.uniform(0, 0.4, n).astype(np.float32), ebv=rng.uniform(0, 0.1, n).astype(np.float32), object_id=ids,
                 ra=rng.uniform(0, 360, n), dec=rng.uniform(-10, 60, n), z_err=rng.uniform(0, 0.01, n).astype(np.float32))
        """, arguments: [dir.path])
        let summary = try Self.convert(.pasquetNPZ, dir.file("shuffled.npz"), dir.file("ds"))
        #expect(summary.rows.values.filter { $0 > 0 }.count >= 2, "\(summary.rows)")
        _ = try exportCollection(ExportConfiguration(data: dir.file("ds"), format: .pasquetNPZ, out: dir.file("back.npz")))
        var test = ExportConfiguration(data: dir.file("ds"), format: .pasquetNPZ, out: dir.file("test.npz"))
        test.split = .test
        test.batchRows = 3  // batches that cut across the id order's runs of rows
        _ = try exportCollection(test)
        _ = try Self.convert(.pasquetNPZ, dir.file("back.npz"), dir.file("again"))
        _ = try exportCollection(ExportConfiguration(data: dir.file("again"), format: .pasquetNPZ, out: dir.file("again.npz")))
        let testIDs = try Self.rows(dir.file("ds")).filter { $0.value.split == .test }.keys.sorted()
        let out = try runPython("""
        import sys, numpy as np
        a, b, t, c = (np.load(p) for p in sys.argv[1:5])
        order = np.argsort(a["object_id"])
        assert np.array_equal(b["object_id"], a["object_id"][order])
        for k in ("data", "z", "ebv", "ra", "dec"):
            assert np.array_equal(b[k], a[k][order]), k
        assert np.array_equal(b["z_err"], a["z_err"][order])
        want = [int(x) for x in sys.argv[5].split(",")]
        assert list(t["object_id"]) == want, (list(t["object_id"]), want)
        sel = np.searchsorted(a["object_id"][order], t["object_id"])
        assert np.array_equal(t["data"], b["data"][sel])
        for k in b.keys():
            assert b[k].dtype == c[k].dtype and np.array_equal(b[k], c[k]), k
        print("ok")
        """, arguments: [dir.file("shuffled.npz"), dir.file("back.npz"), dir.file("test.npz"), dir.file("again.npz"),
                         testIDs.map(String.init).joined(separator: ",")])
        #expect(out.hasPrefix("ok"), "\(out)")
    }

    /// The zeros convert writes for a source without positions or redshift errors stay marked
    /// through select and merge, and exports leave them out: a user never receives a zero as a
    /// measured position. Columns absent from only some inputs of a merge are written.
    @Test func placeholderColumnsAreCarriedAndLeftOutOfExports() throws {
        let dir = try Self.fixtures()
        _ = try Self.convert(.pasquetNPZ, dir.file("pasquet.npz"), dir.file("bare"))
        var select = SelectConfiguration(data: dir.file("bare"), out: dir.file("sub"))
        select.condition = "z_spec > 0.1"
        #expect(try selectRows(select).written > 0)
        let sub = try Manifest.read(directory: dir.file("sub"))
        #expect(sub.inputs["absent"] == "object_id,ra,dec,z_spec_err" && sub.inputs["absent_rule"] != nil)
        _ = try exportCollection(ExportConfiguration(data: dir.file("sub"), format: .pasquetNPZ, out: dir.file("sub.npz")))
        _ = try exportCollection(ExportConfiguration(data: dir.file("sub"), format: .hayat, out: dir.file("sub-hayat.h5")))
        // An export without the placeholder arrays is still recognised as one (--overwrite).
        #expect(ExportFormat.pasquetNPZ.isExport(dir.file("sub.npz")) && ExportFormat.hayat.isExport(dir.file("sub-hayat.h5")))
        _ = try exportCollection(ExportConfiguration(data: dir.file("sub"), format: .pasquetNPZ, out: dir.file("sub.npz")),
                                 replacing: .ifRecognised(ExportFormat.pasquetNPZ.isExport))

        // A condition on them is refused (every row holds the same 0), naming the column.
        var byPosition = SelectConfiguration(data: dir.file("sub"), out: dir.file("east"))
        byPosition.condition = "ra > 180"
        #expect { _ = try selectRows(byPosition) } throws: { "\($0)".contains("ra") && "\($0)".contains("absent") }
        #expect(!FileManager.default.fileExists(atPath: dir.file("east")))
        // A table shows them as unknown (nan), not as 0.
        try exportTable(TableConfiguration(data: dir.file("sub"), out: dir.file("sub.csv")))
        let table = try String(contentsOfFile: dir.file("sub.csv"), encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(table.first?.prefix(6).joined(separator: ",") == "object_id,ra,dec,z_spec,z_spec_err,ebv")
        #expect(table.count > 1 && table.dropFirst().allSatisfy { $0[1] == "nan" && $0[2] == "nan" && $0[4] == "nan" && $0[3] != "nan" })

        // Merged with a set that has positions: they are real for some rows, so they are written.
        _ = try Self.convert(.pasquetNPZ, dir.file("pasquet-ids.npz"), dir.file("placed"))
        _ = try mergeDataSets(MergeConfiguration(inputs: [dir.file("sub"), dir.file("placed")], out: dir.file("both")))
        let both = try Manifest.read(directory: dir.file("both"))
        #expect(both.inputs["absent"] == "z_spec_err", "\(both.inputs)")
        #expect(both.inputs["absent_in_some_inputs"] == "object_id,ra,dec", "\(both.inputs)")
        _ = try exportCollection(ExportConfiguration(data: dir.file("both"), format: .pasquetNPZ, out: dir.file("both.npz")))
        let out = try runPython("""
        import sys, numpy as np, h5py
        print(",".join(np.load(sys.argv[1]).files))
        with h5py.File(sys.argv[2]) as f:
            print(",".join(sorted(f.keys())), f.attrs["source_absent"])
        print(",".join(np.load(sys.argv[3]).files))
        """, arguments: [dir.file("sub.npz"), dir.file("sub-hayat.h5"), dir.file("both.npz")])
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(out)")
        #expect(lines.first == "data,z,ebv,object_id", "\(out)")
        #expect(lines.dropFirst().first == "ObjID,e_bv,images,specz_redshift object_id,ra,dec,z_spec_err", "\(out)")
        #expect(lines.last == "data,z,ebv,object_id,ra,dec", "\(out)")
    }

    @Test func hayatIsCroppedAndItsExtinctionFitted() throws {
        let dir = try Self.fixtures()
        _ = try Self.convert(.hayat, dir.file("hayat.h5"), dir.file("ds")) { $0.size = 64 }
        #expect(validate(path: dir.file("ds")).problems.isEmpty)
        let got = try Self.rows(dir.file("ds"))
        // Expected values by numpy: crop offset (107 - 64) // 2 = 21; E(B-V) = Σ R A / Σ R².
        let text = try runPython("""
        import sys, numpy as np, h5py
        R = np.array([5.155, 3.793, 2.751, 2.086, 1.479])
        with h5py.File(sys.argv[1]) as f:
            im, a = f["images"][:], f["e_bv"][:].astype(np.float64)
            for k in range(len(f["ObjID"])):
                crop = im[k, :, 21:85, 21:85]
                print(int(f["ObjID"][k]), float(crop[2, 5, 7]), float(crop[4, 63, 63]), float(crop[0, 0, 0]), (a[k] @ R) / (R @ R), repr(float(f["ra"][k])))
        """, arguments: [dir.file("hayat.h5")])
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard let (_, row) = got[Int64(f[0])!] else { Issue.record("id \(f[0]) missing"); continue }
            #expect(row.images[(2 * 64 + 5) * 64 + 7] == Float(f[1])!)
            #expect(row.images[(4 * 64 + 63) * 64 + 63] == Float(f[2])!)
            #expect(row.images[0] == Float(f[3])!)
            #expect(abs(Double(row.ebv[0]) - Double(f[4])!) < 1e-6)
            #expect(row.ra[0] == Double(f[5])!)
        }
        // Export: e_bv = R × E(B-V) per band, images and ids as in the data set.
        _ = try exportCollection(ExportConfiguration(data: dir.file("ds"), format: .hayat, out: dir.file("back.h5")))
        let check = try runPython("""
        import sys, numpy as np, h5py
        R = np.array([5.155, 3.793, 2.751, 2.086, 1.479], dtype=np.float32)
        with h5py.File(sys.argv[1]) as f, h5py.File(sys.argv[2]) as g:
            assert f["images"].shape[1:] == (5, 64, 64)
            order = {int(i): k for k, i in enumerate(g["ObjID"][:])}
            for k, i in enumerate(f["ObjID"][:]):
                j = order[int(i)]
                assert np.array_equal(f["images"][k], g["images"][j, :, 21:85, 21:85])
                ebv = f["e_bv"][k] / R
                assert np.allclose(ebv, ebv[0], rtol=1e-6), ebv
                assert abs(ebv[0] - (g["e_bv"][j].astype(np.float64) @ R) / (R @ R)) < 1e-6
                assert f["specz_redshift"][k] == g["specz_redshift"][j] and f["ra"][k] == g["ra"][j]
        print("ok")
        """, arguments: [dir.file("back.h5"), dir.file("hayat.h5")])
        #expect(check.hasPrefix("ok"), "\(check)")
    }

    @Test func galaxiesMLIsLabelledGrizyEverywhere() throws {
        let dir = try Self.fixtures()
        let summary = try Self.convert(.galaxiesml, dir.file("galaxiesml.h5"), dir.file("ds")) { $0.size = 32 }
        #expect(summary.notes["columns_absent_written_as_0"] == 4)
        #expect(validate(path: dir.file("ds")).problems.isEmpty)
        let reader = try DataSetReader(path: dir.file("ds"))
        #expect(reader.bands == ["g", "r", "i", "z", "y"])
        let attrs = try reader.opened[0].file.root
        #expect(try attrs.attribute("bands") == .strings(["g", "r", "i", "z", "y"]))
        #expect(try attrs.attribute("pixel_scale") == .double(0.168))
        let inspection = try inspectShards(path: dir.file("ds"))
        #expect(inspection.bandOrder == ["g", "r", "i", "z", "y"] && inspection.bands["y"] != nil && inspection.bands["u"] == nil)
        // Flux: HSC zero point 27 → nanomaggies.
        let text = try runPython("""
        import sys, h5py
        with h5py.File(sys.argv[1]) as f:
            print(int(f["object_id"][0]), float(f["image"][0, 1, 47, 48]))
        """, arguments: [dir.file("galaxiesml.h5")])
        let f = text.split(whereSeparator: \.isWhitespace)
        let row = try Self.rows(dir.file("ds"))[Int64(f[0])!]!.row
        #expect(row.images[(1 * 32 + 0) * 32 + 1] == Float(f[1])! * Float(pow(10, -1.8)))
        // Bands survive select, and other code refuses or reports them.
        var select = SelectConfiguration(data: dir.file("ds"), out: dir.file("sub"))
        select.condition = "z_spec < 0.3"
        _ = try selectRows(select)
        #expect(try DataSetReader(path: dir.file("sub")).bands == ["g", "r", "i", "z", "y"])
        #expect(validate(path: dir.file("sub")).problems.isEmpty)
        #expect(throws: PhotoZDataError.self) { try exportCollection(ExportConfiguration(data: dir.file("ds"), format: .hayat, out: dir.file("x.h5"))) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("x.h5")))
        _ = try Self.convert(.pasquetNPZ, dir.file("pasquet-ids.npz"), dir.file("sdss")) { $0.size = 32 }
        do {
            _ = try mergeDataSets(MergeConfiguration(inputs: [dir.file("ds"), dir.file("sdss")], out: dir.file("m")))
            Issue.record("merging grizy with ugriz was accepted")
        } catch { #expect("\(error)".contains("bands grizy") || "\(error)".contains("bands"), "\(error)") }
        #expect(throws: PhotoZDataError.self) { try reader.requireSDSSBands(purpose: "the k-NN") }
    }

    @Test func badSourcesAreRefusedNamingTheProblem() throws {
        let dir = try Self.fixtures(6)
        _ = try runPython("""
        import sys, numpy as np, h5py
        d = sys.argv[1]
        x = np.zeros((6, 64, 64, 5), np.float32); z = np.zeros(6, np.float32)
        np.savez(d + "/no-ebv.npz", data=x, z=z)
        np.savez(d + "/band-first.npz", data=np.zeros((6, 5, 64, 64), np.float32), z=z, ebv=z)
        np.savez(d + "/short-z.npz", data=x, z=z[:5], ebv=z)
        np.savez(d + "/fortran.npz", data=np.asfortranarray(x), z=z, ebv=z)
        np.savez(d + "/dup.npz", data=x, z=z, ebv=z, object_id=np.array([1, 2, 3, 2, 5, 6]))
        y = x.copy(); y[2, 3, 3, 1] = np.nan; z2 = z.copy(); z2[4] = np.inf
        np.savez(d + "/nan.npz", data=y, z=z2, ebv=z)
        raw = open(d + "/pasquet.npz", "rb").read()
        open(d + "/truncated.npz", "wb").write(raw[:len(raw) // 2])
        with h5py.File(d + "/hayat-no-z.h5", "w") as f:
            f["images"] = np.zeros((6, 5, 107, 107), np.float32); f["e_bv"] = np.zeros((6, 5), np.float32)
        with h5py.File(d + "/hayat-4bands.h5", "w") as f:
            f["images"] = np.zeros((6, 4, 107, 107), np.float32); f["specz_redshift"] = z; f["e_bv"] = np.zeros((6, 5), np.float32)
        """, arguments: [dir.path])
        func refused(_ format: ConvertFormat, _ name: String, _ words: [String], size: Int? = nil) {
            do {
                _ = try Self.convert(format, dir.file(name), dir.file("out-" + name)) { $0.size = size }
                Issue.record("\(name) was accepted")
            } catch {
                let text = "\(error)"
                for w in words { #expect(text.contains(w), "\(name): '\(w)' not in \(text)") }
            }
            #expect(!FileManager.default.fileExists(atPath: dir.file("out-" + name)), "\(name) left an output")
        }
        refused(.pasquetNPZ, "no-ebv.npz", ["no-ebv.npz", "'ebv'", "data, z"])
        refused(.pasquetNPZ, "band-first.npz", ["'data'", "(N, S, S, 5)"])
        refused(.pasquetNPZ, "short-z.npz", ["'z'", "6 images"])
        refused(.pasquetNPZ, "fortran.npz", ["Fortran"])
        refused(.pasquetNPZ, "dup.npz", ["row 3", "id 2"])
        refused(.pasquetNPZ, "truncated.npz", ["truncated.npz"])
        refused(.pasquetNPZ, "pasquet.npz", ["--size 80", "64×64"], size: 80)
        refused(.hayat, "hayat-no-z.h5", ["specz_redshift", "hayat-no-z.h5"])
        refused(.hayat, "hayat-4bands.h5", ["(N, 5, S, S)"])
        refused(.hayat, "pasquet.npz", ["pasquet.npz"])
        refused(.galaxiesml, "hayat.h5", ["image", "hayat.h5"])  // no /image: a Hayat file is not GalaxiesML
        // Non-finite rows are skipped and counted, the rest written.
        let s = try Self.convert(.pasquetNPZ, dir.file("nan.npz"), dir.file("nan"))
        #expect(s.written == 4 && s.notes["skipped_nonfinite"] == 2)
        #expect(try Manifest.read(directory: dir.file("nan")).inputs["skipped_rows"] == "2,4")
    }

    /// The source is hashed while the first blocks are read: every shard and the manifest still
    /// record its checksum, and an error several blocks in (blocks already queued for the
    /// writer) leaves nothing behind, not even the staging folder.
    @Test func shardsRecordTheSourceChecksumAndLateErrorsLeaveNothing() throws {
        let dir = try Self.fixtures()
        _ = try Self.convert(.hayat, dir.file("hayat.h5"), dir.file("ds")) { $0.size = 32; $0.blockRows = 3 }
        let sum = try SHA256.hexDigest(ofFile: dir.file("hayat.h5"))
        #expect(try Manifest.read(directory: dir.file("ds")).inputs["source_sha256"] == sum)
        let reader = try DataSetReader(path: dir.file("ds"))
        #expect(reader.shards.count >= 3)
        for info in reader.shards {
            let text = try #require(try Shard(path: info.path).attributeText(ShardSchema.Attribute.inputs))
            let inputs = try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
            #expect(inputs["source_sha256"] == sum && inputs["format"] == "hayat", "\(info.path): \(text)")
        }
        _ = try runPython("""
        import sys, numpy as np
        n = 40
        ids = np.arange(n); ids[37] = 4
        np.savez(sys.argv[1] + "/late-dup.npz", data=np.zeros((n, 8, 8, 5), np.float32), z=np.zeros(n, np.float32), ebv=np.zeros(n, np.float32), object_id=ids)
        """, arguments: [dir.path])
        let before = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect { _ = try Self.convert(.pasquetNPZ, dir.file("late-dup.npz"), dir.file("late")) { $0.blockRows = 2 } } throws: {
            "\($0)".contains("row 37") && "\($0)".contains("id 4")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == before)
    }

    /// `setShardInputs` after rows were appended rewrites the open shards' `inputs` (compressed,
    /// and uncompressed with storage reserved, whose streaming checksum then falls back to
    /// hashing the file): the manifest's checksums still match and the data set validates.
    @Test(arguments: [ShardCompression.gzip(4), .none])
    func shardInputsSetLateReachTheOpenShards(_ compression: ShardCompression) throws {
        let dir = TemporaryDirectory()
        var options = DataSetWriter.Options(imageSize: 8)
        options.compression = compression
        options.shardSize = 100
        options.expectedRows = [.train: 10, .test: 10]
        options.attributes.inputs = #"{"source_sha256":"not yet"}"#
        let writer = try DataSetWriter(target: dir.file("ds"), options: options)
        for split in [Split.train, .test] {
            var rows = ShardRows(imageSize: 8)
            for k in 0..<10 {
                rows.images += (0..<(5 * 64)).map { Float($0 + k) }
                rows.objectID.append(Int64(split == .train ? k : 100 + k))
                rows.ra.append(1); rows.dec.append(2); rows.zSpec.append(0.1); rows.zSpecErr.append(0); rows.ebv.append(0)
            }
            try writer.append(rows, split: split)
        }
        try writer.setShardInputs(#"{"source_sha256":"abc"}"#)
        let manifest = try writer.finish { _ in
            Manifest(imageSize: 8, splitFractions: .default, compression: compression.description, inputs: [:], rows: [:], skipped: 0, skippedReport: nil, shards: [])
        }
        #expect(manifest.shards.count == 2)
        for entry in manifest.shards {
            let path = dir.file("ds/" + entry.file)
            #expect(try Shard(path: path).attributeText(ShardSchema.Attribute.inputs) == #"{"source_sha256":"abc"}"#)
            #expect(try SHA256.hexDigest(ofFile: path) == entry.sha256)
        }
        #expect(validate(path: dir.file("ds")).problems.isEmpty)
    }

    /// Other dtypes (big-endian, float64 images, int32 ids, float64 z) are converted exactly as numpy casts them.
    @Test func otherDTypesAreConvertedAsNumpyCastsThem() throws {
        let dir = TemporaryDirectory()
        _ = try runPython("""
        import sys, numpy as np
        rng = np.random.default_rng(5)
        d = rng.normal(size=(9, 16, 16, 5))
        np.savez_compressed(sys.argv[1] + "/f8.npz", data=d.astype(">f8"), z=rng.uniform(0, 1, 9), ebv=np.zeros(9, ">f4"),
                            object_id=np.arange(9, dtype=np.int32) * 3)
        np.save(sys.argv[1] + "/expected.npy", d.astype(np.float32))
        """, arguments: [dir.path])
        _ = try Self.convert(.pasquetNPZ, dir.file("f8.npz"), dir.file("ds")) { $0.splitScheme = .all(.train) }
        _ = try exportCollection(ExportConfiguration(data: dir.file("ds"), format: .pasquetNPZ, out: dir.file("back.npz")))
        let out = try runPython("""
        import sys, numpy as np
        a, b, e = np.load(sys.argv[1]), np.load(sys.argv[2]), np.load(sys.argv[3])
        assert np.array_equal(b["data"], e)
        assert np.array_equal(b["z"], a["z"].astype(np.float32))
        assert np.array_equal(b["object_id"], np.arange(9) * 3)
        print("ok")
        """, arguments: [dir.file("f8.npz"), dir.file("back.npz"), dir.file("expected.npy")])
        #expect(out.hasPrefix("ok"), "\(out)")
    }

    @Test func declaredShapesAreBoundedByTheFile() throws {
        let dir = TemporaryDirectory()
        // An npy header declaring 2^40 images over 64 bytes of data, stored and deflated.
        _ = try runPython("""
        import sys, zipfile
        d = sys.argv[1]
        h = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 64, 64, 5), }"
        h += b" " * ((64 - (10 + len(h) + 1) % 64) % 64) + b"\\n"
        npy = b"\\x93NUMPY\\x01\\x00" + len(h).to_bytes(2, "little") + h + bytes(64)
        for name, method in (("lie.npz", zipfile.ZIP_STORED), ("lie-deflated.npz", zipfile.ZIP_DEFLATED)):
            with zipfile.ZipFile(d + "/" + name, "w", method) as z:
                z.writestr("data.npy", npy)
        open(d + "/junk.npz", "wb").write(b"A" * 5000)
        """, arguments: [dir.path])
        for name in ["lie.npz", "lie-deflated.npz"] {
            do {
                _ = try PasquetSource(path: dir.file(name))
                Issue.record("\(name) accepted")
            } catch { #expect("\(error)".contains("needs more than") || "\(error)".contains("bytes but the entry holds"), "\(error)") }
        }
        #expect(throws: PhotoZDataError.self) { try ZipArchive(path: dir.file("junk.npz")) }
    }
}
