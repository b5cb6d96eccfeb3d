import Foundation
import NeuralNet

/// What `NetworkBenchmark` times: a training step, inference, one input gradient.
public enum NetworkBenchmarkSection: String, Codable, Sendable, CaseIterable {
    case train, inference
    case inputGradient = "input-gradient"
}

/// Throughput of one network configuration: a training step, inference, one input gradient
/// (nil for a section that was not timed).
public struct NetworkBenchmarkResult: Codable, Sendable {
    public var model: String
    public var head: String
    /// f32 or bf16.
    public var precision: String
    public var batchSize: Int
    /// forward + loss + backward (parameter gradients) + Adam update: batch / median step time.
    public var trainImagesPerSecond: Double?
    /// The same steps as images / total time (the mean step), the statistic `photoz train` reports.
    public var trainMeanImagesPerSecond: Double?
    /// forward only.
    public var inferenceImagesPerSecond: Double?
    /// forward + loss + backward to the input only (the cost of FGSM).
    public var inputGradientImagesPerSecond: Double?
    /// Peak resident memory of the process so far, MiB.
    public var peakRSSMegabytes: Double

    enum CodingKeys: String, CodingKey {
        case model, head, precision
        case batchSize = "batch_size"
        case trainImagesPerSecond = "train_images_per_s"
        case trainMeanImagesPerSecond = "train_mean_images_per_s"
        case inferenceImagesPerSecond = "inference_images_per_s"
        case inputGradientImagesPerSecond = "input_gradient_images_per_s"
        case peakRSSMegabytes = "peak_rss_mb"
    }
}

/// Times the network the way `../shared/reference/bench/torch_bench.py` times PyTorch: random
/// inputs x ~ U[0,1), E(B−V) ~ U[0,0.1), z ~ U[0,0.4); warm-up iterations excluded; the figure
/// is batch / median iteration time over at least `repeats` iterations and `minTime` seconds.
public struct NetworkBenchmark: Sendable {
    public var architecture: Architecture
    public var head: Head
    public var batchSize: Int
    public var warmup = 2
    public var repeats = 5
    public var minTime = 3.0
    public var maxRepeats = 30
    /// Arithmetic of convolutions and dense layers.
    public var precision = Precision.f32
    /// The sections to time, in the order train, inference, input gradient (one alone gives a
    /// process whose CPU time is that section's, for A/B comparisons of two builds).
    public var sections = Set(NetworkBenchmarkSection.allCases)

    public init(architecture: Architecture, head: Head, batchSize: Int) {
        self.architecture = architecture
        self.head = head
        self.batchSize = batchSize
    }

    /// Runs the three measurements.
    public func run() throws -> NetworkBenchmarkResult {
        let net = try PhotoZNetwork(architecture: architecture, head: head, seed: 0, engine: Engine(precision: precision))
        var g = SplitMix64(seed: 1234)
        let images = (0..<(batchSize * net.valuesPerImage)).map { _ in Float(g.uniform(0, 1)) }
        let ebv = (0..<batchSize).map { _ in Float(g.uniform(0, 0.1)) }
        let z = (0..<batchSize).map { _ in Float(g.uniform(0, 0.4)) }
        let adam = Adam(parameters: net.parameters, learningRate: 1e-4)
        try net.prepare(batchSize: batchSize)
        net.inputTensor.write(images)

        var train: Double?, trainMean: Double?, inference: Double?, inputGradient: Double?
        if sections.contains(.train) {
            (train, trainMean) = timeMedianAndMean {
                net.forwardPrepared(ebv: ebv)
                _ = net.loss(redshifts: z)
                _ = net.backward(from: lossGradient(net), .parameters)
                adam.update()
            }
        }
        if sections.contains(.inference) { inference = time { net.forwardPrepared(ebv: ebv) } }
        if sections.contains(.inputGradient) {
            inputGradient = time {
                net.forwardPrepared(ebv: ebv)
                _ = net.loss(redshifts: z)
                _ = net.backward(from: lossGradient(net), .input)
            }
        }
        return NetworkBenchmarkResult(model: architecture.rawValue, head: head.rawValue, precision: precision.rawValue, batchSize: batchSize,
                                      trainImagesPerSecond: train, trainMeanImagesPerSecond: trainMean,
                                      inferenceImagesPerSecond: inference,
                                      inputGradientImagesPerSecond: inputGradient,
                                      peakRSSMegabytes: Self.peakRSSMegabytes())
    }

    private func lossGradient(_ net: PhotoZNetwork) -> Tensor { net.lastLossGradient! }

    /// Images per second: batch / median time of one call of `body`.
    private func time(_ body: () -> Void) -> Double { timeMedianAndMean(body).median }

    /// Images per second from the median call and from the mean call (batch · calls / total time).
    private func timeMedianAndMean(_ body: () -> Void) -> (median: Double, mean: Double) {
        for _ in 0..<warmup { body() }
        var times: [Double] = []
        let start = DispatchTime.now().uptimeNanoseconds
        while true {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            if times.count >= maxRepeats || (times.count >= repeats && elapsed >= minTime) { break }
        }
        let total = times.reduce(0, +)
        times.sort()
        let n = times.count
        let median = n % 2 == 1 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2])
        return (Double(batchSize) / median, Double(batchSize * n) / total)
    }

    /// The process's peak resident set size in MiB (`getrusage`, kilobytes on Linux).
    public static func peakRSSMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
