import FITS
import Foundation
@testable import PhotoZData

/// A fresh temporary folder, removed when the test's scope ends.
final class TemporaryDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "photoz-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

/// The package root, from this file's path.
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
    }
    fatalError("Package.swift not found above \(#filePath)")
}()

/// The interop venv's python (h5py, astropy, pandas), made by scripts/bootstrap.
func venvPython() throws -> String {
    let venv = ProcessInfo.processInfo.environment["PHOTOZ_VENV"] ?? packageRoot + "/.venv-interop"
    let python = venv + "/bin/python"
    guard FileManager.default.isExecutableFile(atPath: python) else {
        throw InteropError("interop venv not found at \(venv): run scripts/bootstrap (or set PHOTOZ_VENV)")
    }
    return python
}

struct InteropError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a Python script with the interop venv and returns its stdout; throws with stderr on failure.
func runPython(_ script: String, arguments: [String] = []) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try venvPython())
    process.arguments = ["-c", script] + arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw InteropError("python failed (\(process.terminationStatus)): \(String(decoding: errors, as: UTF8.self))")
    }
    return String(decoding: output, as: UTF8.self)
}

/// A deterministic 5-band test image: value = object·1000 + band·100 + y·0.5 + x·0.01 (+ noise-free).
func testImage(id: Int64, size: Int) -> [Float] {
    var pixels = [Float](repeating: 0, count: 5 * size * size)
    for b in 0..<5 { for y in 0..<size { for x in 0..<size {
        pixels[(b * size + y) * size + x] = Float(id % 1000) * 1000 + Float(b) * 100 + Float(y) * 0.5 + Float(x) * 0.01
    } } }
    return pixels
}

/// Writes small cutout sets in each layout, and catalogs, for the ingest tests.
enum CutoutFactory {
    /// Writes one object in `layout`; `size` may differ from the ingest size to test cropping.
    static func write(id: Int64, layout: CutoutLayout, size: Int, into directory: String, bandOrder: [Band] = Band.allCases,
                      pixels: [Float]? = nil, bands: [Band] = Band.allCases, suffix: String = ".fits") throws {
        let image = pixels ?? testImage(id: id, size: size)
        let n = size * size
        func plane(_ band: Band) -> [Float] { Array(image[band.index * n..<(band.index + 1) * n]) }
        switch layout {
        case .mef:
            let file = try FITSFile.create("\(directory)/\(id)\(suffix)")
            try file.createImage(bitpix: 8, shape: [])
            try file.write("OBJID", .int(Int(id)))
            for band in bandOrder where bands.contains(band) {
                try file.createImage(bitpix: -32, shape: [size, size])
                try file.writeImage(plane(band))
                try file.write("EXTNAME", .string(band.rawValue))
                try file.write("BUNIT", .string("nanomaggy"))
            }
            try file.close()
        case .perBand:
            for band in bands {
                let file = try FITSFile.create("\(directory)/\(id)-\(band.rawValue)\(suffix)")
                try file.createImage(bitpix: -32, shape: [size, size])
                try file.writeImage(plane(band))
                try file.write("FILTER", .string(band.rawValue))
                try file.close()
            }
        case .cube:
            let file = try FITSFile.create("\(directory)/\(id)\(suffix)")
            try file.createImage(bitpix: -32, shape: [size, size, 5])
            try file.writeImage(bandOrder.flatMap(plane))
            try file.write("BANDS", .string(bandOrder.map(\.rawValue).joined(separator: ",")))
            try file.close()
        }
    }

    /// Writes a CSV catalog with SDSS-style columns for `ids`.
    static func csvCatalog(_ ids: [Int64], at path: String, extraRows: [String] = []) throws {
        var text = "objID,ra,dec,z,zErr,ebv\n"
        for id in ids {
            text += "\(id),\(150 + Double(id % 100) * 0.01),\(2 + Double(id % 7) * 0.01),\(0.01 + Double(id % 37) * 0.01),0.0001,\(0.02 + Double(id % 5) * 0.01)\n"
        }
        text += extraRows.map { $0 + "\n" }.joined()
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Writes `count` objects (ids 1000…) in a layout with a CSV catalog; returns (catalog, cutouts dir, ids).
    static func dataSet(in dir: TemporaryDirectory, count: Int, layout: CutoutLayout, size: Int = 16) throws -> (String, String, [Int64]) {
        let cutouts = dir.file("cutouts")
        try FileManager.default.createDirectory(atPath: cutouts, withIntermediateDirectories: true)
        let ids = (0..<count).map { Int64(1000 + $0) }
        for id in ids { try write(id: id, layout: layout, size: size, into: cutouts) }
        let catalog = dir.file("catalog.csv")
        try csvCatalog(ids, at: catalog)
        return (catalog, cutouts, ids)
    }
}

/// A default ingest configuration for tests (small images, small shards, no compression by default).
func testConfig(_ catalog: String, _ cutouts: String, _ out: String, size: Int = 16) -> IngestConfiguration {
    var config = IngestConfiguration(catalog: catalog, cutouts: cutouts, output: out)
    config.size = size
    config.shardSize = 10
    return config
}
