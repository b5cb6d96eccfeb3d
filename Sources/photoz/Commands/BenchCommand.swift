import ArgumentParser
import Foundation
import PhotoZ

/// `photoz bench`: throughput of the networks on this machine (training step, inference, one
/// input gradient), to compare with `../shared/reference/bench/torch_bench.py`.
extension Precision: ExpressibleByArgument {}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure images/s of the networks: a training step, inference and one input gradient.",
        discussion: """
            Random inputs, warm-up excluded, median iteration time over at least --repeats iterations \
            and --min-time seconds, as torch_bench.py does. Threads: OMP_NUM_THREADS (compare with \
            PyTorch at the same count). Peak memory is the process's peak resident set so far.
            """
    )

    // Plain strings (checked in validate()) so this file does not declare argument conformances
    // for the library's enums that other commands may also need.
    @Option(help: "Networks to time, inception or simple (repeatable; default: both; none: only the data stream of --data).")
    var model: [String] = ["inception", "simple"]

    @Option(help: "Batch sizes (repeatable; default: 64 and 32).")
    var batchSize: [Int] = [64, 32]

    @Option(help: "Output head: classification or regression.")
    var head: String = "classification"

    @Option(help: "Minimum seconds of timed iterations per figure.")
    var minTime: Double = 3

    @Option(help: "Minimum timed iterations per figure.")
    var repeats: Int = 5

    @Option(help: "A data set written by ingest: also time the training data stream alone (reading, shuffle, augmentation, pixel transform; no network).")
    var data: String?

    @Option(help: "Arithmetic of convolutions and dense layers: f32, or bf16 (AVX512-BF16 kernels; float32 weights, loss and softmax).")
    var precision: Precision = .f32

    @Option(help: "Sections to time: train, inference, input-gradient (repeatable; default: all three).")
    var section: [String] = NetworkBenchmarkSection.allCases.map(\.rawValue)

    @Flag(help: "Print one JSON object per case on stdout.")
    var json = false

    func validate() throws {
        for name in model where Architecture(rawValue: name) == nil && name != "none" {
            throw ValidationError("unknown --model \(name): use inception or simple")
        }
        guard Head(rawValue: head) != nil else { throw ValidationError("unknown --head \(head): use classification or regression") }
        guard batchSize.allSatisfy({ $0 > 0 }) else { throw ValidationError("--batch-size must be positive") }
        for name in section where NetworkBenchmarkSection(rawValue: name) == nil {
            throw ValidationError("unknown --section \(name): use train, inference or input-gradient")
        }
        guard repeats > 0 else { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        let networks = model.filter { $0 != "none" }
        if !json && !networks.isEmpty { print("model      head            batch  train img/s  (mean step)  inference img/s  input-grad img/s  peak RSS MiB") }
        for name in networks {
            for size in batchSize {
                var bench = NetworkBenchmark(architecture: Architecture(rawValue: name)!, head: Head(rawValue: head)!,
                                             batchSize: size)
                bench.minTime = minTime
                bench.repeats = repeats
                bench.precision = precision
                bench.maxRepeats = max(bench.maxRepeats, repeats)
                bench.sections = Set(section.compactMap(NetworkBenchmarkSection.init(rawValue:)))
                let r = try bench.run()
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    print(String(decoding: try encoder.encode(r), as: UTF8.self))
                } else {
                    func figure(_ value: Double?, _ width: Int) -> String {
                        let text = value.map { String(format: "%.1f", $0) } ?? "-"
                        return String(repeating: " ", count: max(0, width - text.count)) + text
                    }
                    print(String(format: "%-10@ %-15@ %5d  ", r.model as NSString, r.head as NSString, r.batchSize)
                          + [figure(r.trainImagesPerSecond, 11), figure(r.trainMeanImagesPerSecond, 11),
                             figure(r.inferenceImagesPerSecond, 15), figure(r.inputGradientImagesPerSecond, 16)].joined(separator: "  ")
                          + String(format: "  %12.0f", r.peakRSSMegabytes))
                }
            }
        }
        if let data {
            let dataSet = try DataSet(path: data)
            for size in batchSize {
                let rate = try BatchStream.throughput(dataSet: dataSet, batchSize: size, minTime: minTime)
                if json {
                    print("{\"batchSize\":\(size),\"dataStreamImagesPerSecond\":\(rate)}")
                } else {
                    print(String(format: "data stream (\(data), train split)  batch %d: %.1f images/s", size, rate))
                }
            }
        }
    }
}
