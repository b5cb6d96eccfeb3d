import Foundation
import HDF5
import Testing

/// The folder holding Package.swift, found from this file's path.
let packageRoot: URL = {
    var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        precondition(url.path != "/", "Package.swift not found above \(#filePath)")
        url.deleteLastPathComponent()
    }
    return url
}()

/// A fresh temporary folder; call `cleanup()` when done.
struct TemporaryFolder {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("photoz-hdf5-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

struct ToolFailure: Error, CustomStringConvertible { let description: String }

/// Runs a Python script with the interop venv (PHOTOZ_VENV or <package root>/.venv-interop) and
/// returns its standard output; throws, failing the test, when the venv is missing or the script fails.
@discardableResult
func runPython(_ script: String, _ arguments: [String]) throws -> String {
    let venv = ProcessInfo.processInfo.environment["PHOTOZ_VENV"] ?? packageRoot.appendingPathComponent(".venv-interop").path
    let python = venv + "/bin/python"
    guard FileManager.default.isExecutableFile(atPath: python) else {
        throw ToolFailure(description: "the Python venv with h5py is missing (\(python) not found): run scripts/bootstrap or set PHOTOZ_VENV")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = ["-c", script] + arguments
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    let errData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ToolFailure(description: "python failed (\(process.terminationStatus)): " + String(decoding: errData, as: UTF8.self))
    }
    return String(decoding: outData, as: UTF8.self)
}

/// A small deterministic generator (SplitMix64) for test data.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    /// Standard normal (Box–Muller).
    mutating func normal() -> Double {
        let u = max(uniform(), 1e-300), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}

/// Noisy galaxy-like float32 images: a Gaussian blob per band plus sky noise, row-major
/// `(count, bands, size, size)`, in nanomaggy-like units.
func noisyImages(count: Int, bands: Int = 5, size: Int = 64, seed: UInt64 = 1) -> [Float] {
    var random = TestRandom(seed: seed)
    var values = [Float](repeating: 0, count: count * bands * size * size)
    var index = 0
    for _ in 0..<count {
        let flux = 5 + 20 * random.uniform(), width = 2 + 4 * random.uniform()
        for band in 0..<bands {
            let scale = 0.5 + Double(band) * 0.2
            for y in 0..<size {
                for x in 0..<size {
                    let dx = Double(x - size / 2), dy = Double(y - size / 2)
                    let galaxy = flux * scale * exp(-(dx * dx + dy * dy) / (2 * width * width))
                    values[index] = Float(galaxy + 0.05 * random.normal())
                    index += 1
                }
            }
        }
    }
    return values
}

/// Expects `body` to throw an `HDF5Error` and returns it (nil, recording a failure, otherwise).
@discardableResult
func expectHDF5Error(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> HDF5Error? {
    do {
        try body()
        Issue.record("expected an HDF5Error, but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as HDF5Error {
        return error
    } catch {
        Issue.record("expected an HDF5Error, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
