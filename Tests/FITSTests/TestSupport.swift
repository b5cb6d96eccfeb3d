import Foundation
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

/// The shared reference data (`<package root>/../shared/data`), absent on some machines.
/// The shared reference data (real SDSS frames, not part of the package), found as the cutout
/// tests find it: `$PHOTOZ_SHARED_DATA`, `<package root>/../shared/data`, or one level higher.
let sharedData: URL = {
    let up = packageRoot.deletingLastPathComponent()
    var candidates = [up.appendingPathComponent("shared/data"), up.deletingLastPathComponent().appendingPathComponent("shared/data")]
    if let explicit = ProcessInfo.processInfo.environment["PHOTOZ_SHARED_DATA"] { candidates.insert(URL(fileURLWithPath: explicit), at: 0) }
    return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("sdss-frames").path) } ?? candidates[candidates.count - 2]
}()

/// A fresh temporary folder, removed by `cleanup()`.
struct TemporaryFolder {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("photoz-fits-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

struct ToolFailure: Error, CustomStringConvertible { let description: String }

/// Runs a program and returns its standard output; throws with its standard error when it fails.
@discardableResult
func run(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    let errData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ToolFailure(description: "\(executable) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): "
                          + String(decoding: errData, as: UTF8.self))
    }
    return String(decoding: outData, as: UTF8.self)
}

/// Runs a Python script with the interop venv (PHOTOZ_VENV or <package root>/.venv-interop);
/// throws, failing the test, when the venv is missing.
@discardableResult
func runPython(_ script: String, _ arguments: [String]) throws -> String {
    let venv = ProcessInfo.processInfo.environment["PHOTOZ_VENV"] ?? packageRoot.appendingPathComponent(".venv-interop").path
    let python = venv + "/bin/python"
    guard FileManager.default.isExecutableFile(atPath: python) else {
        throw ToolFailure(description: "the Python venv with astropy is missing (\(python) not found): run scripts/bootstrap or set PHOTOZ_VENV")
    }
    return try run(python, ["-c", script] + arguments)
}

/// Little-endian float32 values from a raw file.
func readFloat32File(_ path: String) throws -> [Float] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return data.withUnsafeBytes { raw in (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) } }
}

/// Builds a FITS file byte by byte, without cfitsio: the reference for reading tests.
struct CraftedFITS {
    var cards: [String] = []

    /// A `KEY     =                value` card, the value right-aligned to column 30.
    mutating func add(_ key: String, _ value: String) {
        let keyField = key.padding(toLength: 8, withPad: " ", startingAt: 0)
        let padded = value.count >= 20 ? value : String(repeating: " ", count: 20 - value.count) + value
        cards.append((keyField + "= " + padded).padding(toLength: 80, withPad: " ", startingAt: 0))
    }

    /// The header (padded to 2880 bytes) followed by big-endian data bytes (zero-padded).
    func bytes(data: [UInt8]) -> Data {
        var header = cards.joined() + "END".padding(toLength: 80, withPad: " ", startingAt: 0)
        header += String(repeating: " ", count: (2880 - header.count % 2880) % 2880)
        var result = Data(header.utf8)
        result.append(contentsOf: data)
        result.append(contentsOf: [UInt8](repeating: 0, count: (2880 - data.count % 2880) % 2880))
        return result
    }

    /// A primary image of `bitpix`/`shape` with extra cards, data given as raw big-endian bytes.
    static func image(bitpix: Int, shape: [Int], extra: [(String, String)] = [], data: [UInt8]) -> Data {
        var crafted = CraftedFITS()
        crafted.add("SIMPLE", "T")
        crafted.add("BITPIX", "\(bitpix)")
        crafted.add("NAXIS", "\(shape.count)")
        for (axis, size) in shape.enumerated() { crafted.add("NAXIS\(axis + 1)", "\(size)") }
        for (key, value) in extra { crafted.add(key, value) }
        return crafted.bytes(data: data)
    }
}

/// Big-endian bytes of fixed-width integers or IEEE floats.
func bigEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.bigEndian) { Array($0) } }
}
func bigEndianBytes(_ values: [Float]) -> [UInt8] { bigEndianBytes(values.map(\.bitPattern)) }
func bigEndianBytes(_ values: [Double]) -> [UInt8] { bigEndianBytes(values.map(\.bitPattern)) }
