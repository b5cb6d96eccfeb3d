import Foundation
import NeuralNet
import PhotoZData
@testable import PhotoZ

/// A fresh temporary folder for attack tests, removed when released.
final class AttackScratch {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "photoz-attack-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    /// Names in the folder, hidden ones included.
    var contents: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
}

/// Tiny networks, images and data sets (16×16) for the attack tests.
enum AttackFixture {
    static let size = 16
    static let bins = RedshiftBins(count: 12, zMin: 0, zMax: 0.4)
    /// Sky noise σ of the fixture images, per band.
    static let sky: [Float] = [0.2, 0.05, 0.04, 0.05, 0.1]

    static func network(_ head: Head = .classification, seed: UInt64 = 7) throws -> PhotoZNetwork {
        try PhotoZNetwork(architecture: .simple, head: head, bins: bins, imageSize: size, seed: seed)
    }

    /// n flux images: a Gaussian blob whose colour depends on z, plus Gaussian sky noise.
    static func batch(_ n: Int, seed: UInt64 = 1, firstID: Int64 = 1000) -> ShardRows {
        var g = SplitMix64(seed: seed)
        var batch = ShardRows(imageSize: size)
        let c = Double(size - 1) / 2
        for i in 0..<n {
            let z = Float(g.uniform(0.02, 0.38))
            let flux = g.uniform(5, 30)
            for b in 0..<5 {
                let colour = pow(1 + 4 * Double(z), Double(b) - 2)
                for y in 0..<size { for x in 0..<size {
                    let r2 = (Double(x) - c) * (Double(x) - c) + (Double(y) - c) * (Double(y) - c)
                    batch.images.append(Float(flux * colour * exp(-r2 / 6) / 10) + sky[b] * NormBall.gaussian(&g))
                } }
            }
            batch.objectID.append(firstID + Int64(i))
            batch.ra.append(150 + Double(i) * 1e-3)
            batch.dec.append(2 + Double(i) * 1e-3)
            batch.zSpec.append(z)
            batch.zSpecErr.append(1e-4)
            batch.ebv.append(Float(g.uniform(0, 0.1)))
        }
        return batch
    }

    /// A data set folder with train/valid/test shards (`rows` per split) and its manifest.
    static func dataSet(in directory: String, rows: Int = 12, size: Int = size, name: String = "data") throws -> String {
        let out = (directory as NSString).appendingPathComponent(name)
        var options = DataSetWriter.Options(imageSize: size)
        options.compression = .gzip(4)
        let writer = try DataSetWriter(target: out, options: options)
        for (k, split) in Split.allCases.enumerated() {
            var rowsOfSplit = batch(rows, seed: UInt64(k + 1), firstID: Int64(1000 * (k + 1)))
            if size != Self.size { rowsOfSplit = resized(rowsOfSplit, to: size) }
            try writer.append(rowsOfSplit, split: split)
        }
        try writer.finish { _ in
            Manifest(imageSize: size, splitFractions: SplitFractions(train: 0.34, valid: 0.33, test: 0.33), compression: "gzip:4",
                     inputs: [:], rows: [:], skipped: 0, skippedReport: nil, shards: [])
        }
        return out
    }

    /// The same rows with images cropped or zero-padded to `size` (for mismatch tests).
    static func resized(_ b: ShardRows, to size: Int) -> ShardRows {
        var images: [Float] = []
        for i in 0..<b.count { for band in 0..<5 { for y in 0..<size { for x in 0..<size {
            images.append(y < Self.size && x < Self.size ? b.images[((i * 5 + band) * Self.size + y) * Self.size + x] : 0)
        } } } }
        var out = ShardRows(imageSize: size)
        let columns = b.keeping(b.columns.filter { $0.name != ShardSchema.images })
        images.withUnsafeBufferPointer { out.append(rows: 0..<b.count, of: columns, images: $0) }
        return out
    }

    /// Saves a fresh tiny network as a model file.
    static func modelFile(in directory: String, head: Head = .classification, seed: UInt64 = 7, name: String = "model.h5") throws -> String {
        let path = (directory as NSString).appendingPathComponent(name)
        try network(head, seed: seed).save(to: path)
        return path
    }

    /// The network's mean loss against z_spec on flux images.
    static func loss(_ network: PhotoZNetwork, flux: [Float], ebv: [Float], z: [Float]) throws -> Float {
        var x = flux
        network.pixelTransform.apply(&x)
        try network.forward(images: x, ebv: ebv)
        return network.loss(redshifts: z)
    }
}

/// The package root, from this file's path.
let attackPackageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
    }
    fatalError("Package.swift not found above \(#filePath)")
}()

struct AttackTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a program to completion; returns (status, stdout, stderr).
func runAttackTestProgram(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// The interop venv's python (h5py), made by scripts/bootstrap; a clear error when missing.
func attackVenvPython() throws -> String {
    let venv = ProcessInfo.processInfo.environment["PHOTOZ_VENV"] ?? attackPackageRoot + "/.venv-interop"
    let python = venv + "/bin/python"
    guard FileManager.default.isExecutableFile(atPath: python) else {
        throw AttackTestError("interop venv not found at \(venv): run scripts/bootstrap (or set PHOTOZ_VENV)")
    }
    return python
}

/// The `photoz` executable built beside the test bundle; a clear error when it was not built.
func photozExecutable() throws -> String {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("photoz").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir.deleteLastPathComponent()
    }
    throw AttackTestError("photoz executable not found near the test bundle; build it with `swift build --build-tests`")
}
