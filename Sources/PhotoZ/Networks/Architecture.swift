import NeuralNet

/// The network architectures photoz builds.
public enum Architecture: String, CaseIterable, Codable, Sendable {
    /// The Inception network of Pasquet et al. 2019 (27.6 M parameters with the classification head).
    case inception
    /// A small CNN for quick runs and transfer tests: 3 × (conv 3×3 + ReLU + max-pool 2),
    /// 32-64-128 channels, dense 256 + ReLU (the reference's `SimpleCNN`).
    case simple

    /// The batch size of `photoz train` when none is given (README "Training recipe").
    public var defaultBatchSize: Int {
        switch self {
        case .inception: 64
        case .simple: 32     // twice the steps of 64 per epoch: short runs of the small CNN learn more (README)
        }
    }

    /// The initial learning rate of `photoz train` (Adam, warm-up then cosine decay) when none is
    /// given, chosen from the sweep in README "Training recipe".
    public var defaultLearningRate: Float {
        switch self {
        case .inception: 3e-4
        case .simple: 2e-3
        }
    }
}

/// What the network outputs and how it is trained.
public enum Head: String, CaseIterable, Codable, Sendable {
    /// Logits over redshift bins; softmax gives the PDF; softmax cross-entropy loss.
    case classification
    /// One output, the redshift; mean squared error loss.
    case regression
}

/// Redshift bins of the classification head: `count` equal bins over [zMin, zMax].
public struct RedshiftBins: Codable, Equatable, Sendable {
    public var count: Int
    public var zMin: Double
    public var zMax: Double

    /// 180 bins over [0, 0.4] (Pasquet et al. 2019).
    public static let standard = RedshiftBins(count: 180, zMin: 0, zMax: 0.4)

    public init(count: Int, zMin: Double, zMax: Double) {
        precondition(count > 0 && zMax > zMin, "bins need count > 0 and zMax > zMin")
        self.count = count
        self.zMin = zMin
        self.zMax = zMax
    }

    /// Bin width.
    public var width: Double { (zMax - zMin) / Double(count) }

    /// The bin edges (count + 1 values).
    public var edges: [Double] { (0...count).map { zMin + Double($0) * width } }

    /// Bin centres (used for the PDF mean; the authors' code used left edges, 0.0011 lower).
    public var centers: [Double] { (0..<count).map { zMin + (Double($0) + 0.5) * width } }

    /// The bin holding z, clipped to the range. Computed in float32 exactly as the reference's
    /// `z_to_bin` (PyTorch) does, so that values on a bin edge land in the same bin.
    public func index(of z: Float) -> Int {
        let scaled = ((z - Float(zMin)) / Float(zMax - zMin) * Float(count)).rounded(.down)
        guard scaled.isFinite else { return scaled > 0 ? count - 1 : 0 }
        return min(max(Int(scaled), 0), count - 1)
    }
}
