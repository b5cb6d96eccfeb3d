import Foundation
import PhotoZData
@testable import PhotoZ

/// A fresh temporary folder, removed when the test's scope ends.
final class TemporaryDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "photoz-train-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

/// Small data sets whose images carry their redshift in their colours, for training tests.
enum SyntheticData {
    /// Writes `rows` objects of size×size images as train/valid/test shards with a manifest.
    /// The g−r colour of the blob grows with z, so z can be learnt from the images.
    static func make(in directory: String, rows: Int, size: Int = 16, seed: UInt64 = 1, nanZRow: Int? = nil) throws -> String {
        let out = (directory as NSString).appendingPathComponent("data")
        var rng = SeededGenerator(seed: seed)
        var batches = [Split: ShardRows]()
        for split in Split.allCases { batches[split] = ShardRows(imageSize: size) }
        let c = Double(size - 1) / 2
        for i in 0..<rows {
            let z = Float.random(in: 0.02...0.38, using: &rng)
            let ebv = Float.random(in: 0...0.1, using: &rng)
            var image = [Float](repeating: 0, count: 5 * size * size)
            let flux = Double.random(in: 20...40, using: &rng)
            for b in 0..<5 {
                let colour = pow(1 + 4 * Double(z), Double(b) - 2)       // redder at higher z
                for y in 0..<size { for x in 0..<size {
                    let r2 = (Double(x) - c) * (Double(x) - c) + (Double(y) - c) * (Double(y) - c)
                    image[(b * size + y) * size + x] = Float(flux * colour * exp(-r2 / 8) / 25) + Float.random(in: -0.05...0.05, using: &rng)
                } }
            }
            let id = Int64(1000 + i)
            let split: Split = i % 10 == 8 ? .valid : i % 10 == 9 ? .test : .train
            let entry = CatalogEntry(objectID: id, ra: 10, dec: 20, zSpec: i == nanZRow ? .nan : z, zSpecErr: 1e-4, ebv: ebv, row: i + 1)
            image.withUnsafeBufferPointer { batches[split]!.append(entry: entry, image: $0) }
        }
        var options = DataSetWriter.Options(imageSize: size)
        options.compression = .none
        let writer = try DataSetWriter(target: out, options: options)
        for split in Split.allCases { try writer.append(batches[split]!, split: split) }
        try writer.finish { _ in
            Manifest(imageSize: size, splitFractions: SplitFractions(train: 0.8, valid: 0.1, test: 0.1), compression: "none",
                     inputs: [:], rows: [:], skipped: 0, skippedReport: nil, shards: [])
        }
        return out
    }
}

/// A deterministic generator for test data.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A quick training configuration on the synthetic data.
func quickConfig(data: String, out: String, steps: Int) -> TrainConfiguration {
    var config = TrainConfiguration(data: data, out: out)
    config.architecture = .simple
    config.steps = steps
    config.batchSize = 16
    config.learningRate = 1e-3
    config.validEvery = max(1, steps / 2)
    config.shuffleBuffer = 64
    return config
}
