import Foundation
import PhotoZData

/// The feature-based photo-z baseline: k nearest neighbours in colour space (Csabai et al. 2007;
/// Beck et al. 2016), with colours measured from the shards' own images.
///
/// Features per object: dereddened asinh magnitudes (SDSS "luptitudes") in a circular aperture
/// — the four colours u−g, g−r, r−i, i−z and the r magnitude — standardised on the training
/// set. The estimate is the mean z_spec of the k nearest training objects (Euclidean distance).
public struct ColourKNN: Sendable {
    public var k: Int
    public var apertureRadius: Double
    private var features: [[Double]] = []
    private var redshifts: [Float] = []
    private var mean: [Double] = []
    private var scale: [Double] = []

    /// SDSS asinh-magnitude softening parameters b per band (Lupton et al. 1999; SDSS DR docs).
    static let softening: [Double] = [1.4e-10, 0.9e-10, 1.2e-10, 1.8e-10, 7.4e-10]

    public init(k: Int = 10, apertureRadius: Double = 8) {
        precondition(k >= 1, "k must be at least 1")
        self.k = k
        self.apertureRadius = apertureRadius
    }

    /// Aperture features of one (5, S, S) image in nanomaggies.
    public func features(image: UnsafeBufferPointer<Float>, size: Int, ebv: Float, extinction: ExtinctionCoefficients) -> [Double] {
        let c = Double(size - 1) / 2, r2 = apertureRadius * apertureRadius
        var mags = [Double](repeating: 0, count: 5)
        for b in 0..<5 {
            var flux = 0.0
            for y in 0..<size {
                let dy = Double(y) - c
                for x in 0..<size where (Double(x) - c) * (Double(x) - c) + dy * dy <= r2 {
                    flux += Double(image[(b * size + y) * size + x])
                }
            }
            // Luptitude of a flux in nanomaggies: f/f0 = flux·1e-9.
            let bb = Self.softening[b]
            let m = -2.5 / log(10) * (asinh(flux * 1e-9 / (2 * bb)) + log(bb))
            mags[b] = m - extinction.values[b] * Double(ebv)
        }
        return [mags[0] - mags[1], mags[1] - mags[2], mags[2] - mags[3], mags[3] - mags[4], mags[2]]
    }

    /// Reads the features and labels of a split (the labels: every column but the images).
    public func features(of dataSet: DataSet, split: Split?, extinction: ExtinctionCoefficients = .sfd98) throws -> (features: [[Double]], batch: ShardRows) {
        var all: [[Double]] = []
        var labels = ShardRows(imageSize: dataSet.imageSize, columns: ShardSchema.requiredColumns.filter { $0.name != ShardSchema.images })
        let batches = try dataSet.batches(split: split, order: .perShard, batchSize: 256, purpose: "the colour k-NN baseline")
        var coefficients: (shard: Int, set: ExtinctionCoefficients)?
        while let batch = try batches.next() {
            let rows = batch.rows, s = batch.shard!
            if coefficients?.shard != s {
                let shard = dataSet.shard(dataSet.shards[s])
                coefficients = (s, try shard.attributeText(ShardSchema.Attribute.extinctionCoefficients).flatMap(ExtinctionCoefficients.named) ?? extinction)
            }
            let n = rows.pixelsPerImage
            rows.images.withUnsafeBufferPointer { images in
                for i in 0..<rows.count {
                    all.append(features(image: UnsafeBufferPointer(rebasing: images[i * n..<(i + 1) * n]), size: rows.imageSize,
                                        ebv: rows.ebv[i], extinction: coefficients!.set))
                }
            }
            labels.append(rows: 0..<rows.count, of: rows)
        }
        return (all, labels)
    }

    /// Fits on training features (stores them, standardised).
    public mutating func fit(features x: [[Double]], redshifts z: [Float]) {
        precondition(x.count == z.count && x.count >= k, "k-NN needs at least k training objects")
        let d = x[0].count
        mean = (0..<d).map { j in x.reduce(0) { $0 + $1[j] } / Double(x.count) }
        scale = (0..<d).map { j in
            let v = x.reduce(0) { $0 + ($1[j] - mean[j]) * ($1[j] - mean[j]) } / Double(x.count)
            return v > 0 ? v.squareRoot() : 1
        }
        features = x.map(standardise)
        redshifts = z
    }

    private func standardise(_ f: [Double]) -> [Double] { zip(zip(f, mean), scale).map { ($0.0 - $0.1) / $1 } }

    /// Predicts z for each feature vector (parallel over objects): the mean z_spec of its k
    /// nearest training objects.
    public func predict(_ x: [[Double]]) -> [Float] {
        let z = neighbourRedshifts(x)
        return (0..<x.count).map { q in z[q * k..<(q + 1) * k].reduce(0, +) / Float(k) }
    }

    /// The z_spec of the k nearest training objects of each feature vector, nearest first:
    /// (queries × k), flat. The baseline's PDF is their histogram.
    public func neighbourRedshifts(_ x: [[Double]]) -> [Float] {
        let queries = x.map(standardise)
        let k = self.k
        let results = UnsafeMutableBufferPointer<Float>.allocate(capacity: queries.count * k)
        defer { results.deallocate() }
        nonisolated(unsafe) let out = results
        let train = features, labels = redshifts
        DispatchQueue.concurrentPerform(iterations: queries.count) { q in
            // Keep the k smallest distances with a small sorted list.
            var best: [(Double, Float)] = []
            best.reserveCapacity(k + 1)
            for (f, z) in zip(train, labels) {
                var d = 0.0
                for j in f.indices { let t = f[j] - queries[q][j]; d += t * t }
                if best.count < k || d < best[best.count - 1].0 {
                    let at = best.firstIndex { $0.0 > d } ?? best.count
                    best.insert((d, z), at: at)
                    if best.count > k { best.removeLast() }
                }
            }
            for (j, neighbour) in best.enumerated() { out[q * k + j] = neighbour.1 }
        }
        return Array(results)
    }
}
