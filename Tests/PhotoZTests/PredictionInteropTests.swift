import Foundation
import Testing
@testable import PhotoZ

/// qp (RAIL) and h5py read the predictions file as the schema says.
@Suite struct PredictionInteropTests {
    @Test func qpReadsTheSamePDFs() throws {
        let dir = TemporaryDirectory()
        let bins = RedshiftBins.standard
        var rng = SeededGenerator(seed: 4)
        let n = 7
        var pdfs = [Float](repeating: 0, count: n * bins.count)
        for i in 0..<n {
            var row = (0..<bins.count).map { _ in Float.random(in: 0...1, using: &rng) }
            let total = row.reduce(0, +)
            row = row.map { $0 / total }
            pdfs.replaceSubrange(i * bins.count..<(i + 1) * bins.count, with: row)
        }
        let summary = PDFSummary(pdfs: pdfs, bins: bins)
        let predictions = Predictions(objectID: (0..<n).map { Int64(100 + $0) }, zSpec: (0..<n).map { Float($0) * 0.05 },
                                      ebv: [Float](repeating: 0.02, count: n), zPhot: summary.mean, zPhotMode: summary.mode,
                                      zPhotStd: summary.std, pdf: pdfs, binEdges: bins.edges)
        let path = dir.file("pred.h5")
        try PredictionFile.write(predictions, to: path)
        let script = """
        import sys, json, numpy as np, qp, h5py
        path = sys.argv[1]
        ens = qp.read(path, fmt="hdf5")
        with h5py.File(path) as f:
            stored = f["data/pdfs"][:]
            bins = f["meta/bins"][:]
            zmean = f["ancil/z_phot"][:]
        centres = 0.5 * (bins[0, 1:] + bins[0, :-1])
        # qp's histogram PDFs are densities: probability / bin width.
        dens = ens.pdf(centres)
        width = np.diff(bins[0])
        print(json.dumps({"n": int(ens.npdf), "max_abs": float(np.max(np.abs(dens * width - stored))),
                          "mean_from_pdf": float(np.max(np.abs((stored * centres).sum(1) - zmean)))}))
        """
        let output = try runPython(script, arguments: [path])
        let result = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
        #expect(result["n"] as? Int == n)
        #expect((result["max_abs"] as? Double ?? 1) < 1e-6)
        #expect((result["mean_from_pdf"] as? Double ?? 1) < 1e-6)
    }
}

/// Runs a Python script with the interop venv (scripts/bootstrap makes it) and returns stdout.
func runPython(_ script: String, arguments: [String] = []) throws -> String {
    var root = URL(fileURLWithPath: #filePath)
    while !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) { root.deleteLastPathComponent() }
    let venv = ProcessInfo.processInfo.environment["PHOTOZ_VENV"] ?? root.appendingPathComponent(".venv-interop").path
    let python = venv + "/bin/python"
    guard FileManager.default.isExecutableFile(atPath: python) else {
        throw InteropFailure(description: "interop venv not found at \(venv): run scripts/bootstrap (or set PHOTOZ_VENV)")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = ["-c", script] + arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw InteropFailure(description: "python failed: \(String(decoding: errors, as: UTF8.self))")
    }
    return String(decoding: output, as: UTF8.self)
}

struct InteropFailure: Error, CustomStringConvertible { let description: String }
