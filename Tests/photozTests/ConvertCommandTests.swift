import Foundation
import Testing

/// `photoz convert` and `photoz export` as a user runs them: exit codes, messages naming the
/// file and the fix, the --out rules (an export replaces only a file photoz exported).
@Suite struct ConvertCommandTests {
    static func fixtures(_ dir: TemporaryDirectory) throws {
        _ = try QPInteropCommandTests.python("""
        import sys, numpy as np, h5py
        d = sys.argv[1]
        rng = np.random.default_rng(3)
        n = 12
        np.savez(d + "/p.npz", data=rng.normal(size=(n, 64, 64, 5)).astype(np.float32), z=rng.uniform(0, .4, n).astype(np.float32), ebv=np.zeros(n, np.float32))
        np.savez(d + "/no-z.npz", data=np.zeros((n, 64, 64, 5), np.float32), ebv=np.zeros(n, np.float32))
        with h5py.File(d + "/g.h5", "w") as f:
            f["image"] = rng.normal(size=(n, 5, 64, 64)).astype(np.float32); f["specz_redshift"] = np.full(n, 0.1, np.float32)
            f["object_id"] = np.arange(n) + 100
        np.savez(d + "/mine.npz", x=np.arange(3))
        """, [dir.path])
    }

    @Test func convertThenExportAndTheirRefusals() throws {
        let dir = TemporaryDirectory()
        try Self.fixtures(dir)
        var run = try Photoz.run(["convert", "--from", "pasquet-npz", dir.file("p.npz"), "--size", "32", "--out", dir.file("ds")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("converted 12 of 12 rows"), "\(run.stdout)")
        run = try Photoz.run(["validate", dir.file("ds")])
        #expect(run.status == 0, "\(run.stdout)")
        // A source with a missing key: exit 1, the file and the key named, nothing written.
        run = try Photoz.run(["convert", "--from", "pasquet-npz", dir.file("no-z.npz"), "--out", dir.file("bad")])
        #expect(run.status == 1 && run.stderr.contains("no-z.npz") && run.stderr.contains("'z'"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("bad")))
        // Bad options: exit 64.
        run = try Photoz.run(["convert", "--from", "pasquet-npz", dir.file("p.npz"), "--split-scheme", "folds", "--out", dir.file("bad")])
        #expect(run.status == 64 && run.stderr.contains("--split-scheme"), "\(run.stderr)")
        run = try Photoz.run(["convert", "--from", "pasquet-npz", dir.file("p.npz"), "--out", dir.file("p.npz")])
        #expect(run.status == 64, "\(run.stderr)")
        // p.npz has no positions: selecting by them is a usage error naming the column, not an empty or full selection.
        run = try Photoz.run(["select", dir.file("ds"), "--where", "dec < 0", "--out", dir.file("south")])
        #expect(run.status == 64 && run.stderr.contains("--where uses dec"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("south")))
        // Export, then again: refused without --overwrite, replaced with it; a user's npz is never replaced.
        run = try Photoz.run(["export", dir.file("ds"), "--to", "pasquet-npz", "--out", dir.file("back.npz")])
        #expect(run.status == 0 && run.stdout.contains("12 rows"), "\(run.stderr)")
        run = try Photoz.run(["export", dir.file("ds"), "--to", "pasquet-npz", "--out", dir.file("back.npz")])
        #expect(run.status == 64, "\(run.stderr)")
        run = try Photoz.run(["export", dir.file("ds"), "--to", "pasquet-npz", "--out", dir.file("back.npz"), "--overwrite"])
        #expect(run.status == 0, "\(run.stderr)")
        let mine = try Data(contentsOf: URL(fileURLWithPath: dir.file("mine.npz")))
        run = try Photoz.run(["export", dir.file("ds"), "--to", "pasquet-npz", "--out", dir.file("mine.npz"), "--overwrite"])
        #expect(run.status == 64, "\(run.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("mine.npz"))) == mine)
        let shape = try QPInteropCommandTests.python("import sys, numpy as np; print(np.load(sys.argv[1])['data'].shape)", [dir.file("back.npz")])
        #expect(shape.hasPrefix("(12, 32, 32, 5)"), "\(shape)")
        // GalaxiesML: g,r,i,z,y; the k-NN baseline and the Hayat export refuse it, inspect labels it.
        run = try Photoz.run(["convert", "--from", "galaxiesml", dir.file("g.h5"), "--out", dir.file("hsc"), "--split", "50/25/25"])
        #expect(run.status == 0, "\(run.stderr)")
        run = try Photoz.run(["baseline", "--data", dir.file("hsc"), "--k", "1"])
        #expect(run.status != 0 && run.stderr.contains("g,r,i,z,y") && run.stderr.contains("u,g,r,i,z"), "\(run.stderr)")
        run = try Photoz.run(["export", dir.file("hsc"), "--to", "hayat", "--out", dir.file("h.h5")])
        #expect(run.status == 1 && run.stderr.contains("g,r,i,z,y"), "\(run.stderr)")
        run = try Photoz.run(["inspect", dir.file("hsc")])
        #expect(run.stdout.contains("\n  y  "), "\(run.stdout)")
        #expect(!run.stdout.contains("\n  u  "), "\(run.stdout)")
    }
}
