import Foundation
import Testing

/// qp opens what photoz writes as users name it: `.hdf5` without `fmt=`, `.h5` with
/// `fmt="hdf5"`, and the k-NN baseline's file as a histogram ensemble like predict's.
@Suite struct QPInteropCommandTests {
    /// Runs a script with the interop venv's python (PHOTOZ_VENV, else the package's .venv-interop).
    static func python(_ script: String, _ arguments: [String]) throws -> String {
        var root = URL(fileURLWithPath: #filePath)
        while root.path != "/" && !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) { root.deleteLastPathComponent() }
        let venv = ProcessInfo.processInfo.environment["PHOTOZ_VENV"] ?? root.appendingPathComponent(".venv-interop").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: venv + "/bin/python")
        process.arguments = ["-c", script] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile(), errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "python: \(String(decoding: errors, as: UTF8.self))")
        return String(decoding: output, as: UTF8.self)
    }

    @Test func baselinePredictionsAreAQPEnsembleReadByExtension() throws {
        let dir = TemporaryDirectory()
        try OutputSafetyTests.fixture(dir)
        let run = try Photoz.run(["baseline", "--data", dir.file("shards"), "--k", "3", "--split", "train", "--out", dir.file("knn.hdf5"), "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        try FileManager.default.copyItem(atPath: dir.file("knn.hdf5"), toPath: dir.file("knn.h5"))
        let script = """
        import sys, json, numpy as np, qp, h5py
        d = sys.argv[1]
        ens = qp.read(d + "/knn.hdf5")                 # chosen by extension, no fmt
        same = qp.read(d + "/knn.h5", fmt="hdf5")      # .h5 names need fmt
        with h5py.File(d + "/knn.hdf5") as f:
            z = f["ancil/z_phot"][:]
            bins = f["meta/bins"][0]
            pdfs = f["data/pdfs"][:]
        centres = 0.5 * (bins[1:] + bins[:-1])
        print(json.dumps({"n": int(ens.npdf), "n_h5": int(same.npdf), "sums": float(np.max(np.abs(pdfs.sum(1) - 1))),
                          "mean_gap": float(np.max(np.abs((pdfs * centres).sum(1) - z))), "width": float(bins[1] - bins[0]),
                          "qp_mean_gap": float(np.max(np.abs(ens.mean().ravel() - (pdfs * centres).sum(1))))}))
        """
        let output = try Self.python(script, [dir.path])
        let r = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Double] ?? [:]
        let rows = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(r["n"] != nil && r["n"] == r["n_h5"] && (r["n"] ?? 0) > 20, "\(output) \(String(describing: rows))")
        #expect((r["sums"] ?? 1) < 1e-5, "every PDF sums to 1")
        // The k-NN's z_phot is the neighbours' mean; the PDF's mean over bin centres is within half a bin of it.
        #expect((r["mean_gap"] ?? 1) <= (r["width"] ?? 0) / 2 + 1e-6, "\(output)")
        #expect((r["qp_mean_gap"] ?? 1) < 1e-3, "qp reads the same PDFs: \(output)")
    }
}
