// Allreduce throughput: the figure behind the README's cost model.
import Foundation
import MPI
import PhotoZ

/// Times `repeats` in-place sums of a float32 buffer of `megabytes` MB (after one warm-up) and
/// prints the median time, the algorithm bandwidth (bytes / time) and the bus bandwidth
/// (2(N−1)/N × bytes / time, what a ring allreduce moves per rank: comparable across N).
func benchAllreduce(_ context: MPIContext, megabytes: Double, repeats: Int) throws {
    let count = Int(megabytes * 1_000_000) / 4
    var buffer = [Float](repeating: Float(context.rank + 1), count: count)
    var times: [Double] = []
    for i in 0...repeats {
        try context.barrier()
        let start = DispatchTime.now().uptimeNanoseconds
        try context.allreduce(&buffer, .sum)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if i > 0 { times.append(seconds) }
    }
    let slowest = try context.allreduce(times, .max)  // a collective ends when its slowest rank does
    guard context.isRoot else { return }
    let sorted = slowest.sorted()
    let median = sorted[sorted.count / 2]
    let bytes = Double(count * 4)
    let n = Double(context.size)
    print(String(format: "allreduce of %.0f MB float32 on %d ranks: median %.1f ms (min %.1f, max %.1f) over %d; "
                 + "algorithm bandwidth %.2f GB/s, bus bandwidth %.2f GB/s",
                 bytes / 1e6, context.size, median * 1e3, sorted.first! * 1e3, sorted.last! * 1e3, sorted.count,
                 bytes / median / 1e9, 2 * (n - 1) / n * bytes / median / 1e9))
}

extension MPIContext {
    /// The element-wise reduction of an array (a copy).
    func allreduce(_ values: [Double], _ reduction: MPIReduction) throws -> [Double] {
        var copy = values
        try allreduce(&copy, reduction)
        return copy
    }
}

/// Times the gradient bucket reducer on the Inception network's real parameter list (all
/// parameters marked at once: no backward to overlap with), beside one blocking allreduce of
/// the same number of floats and the broadcast of the initial weights.
func benchReducer(_ context: MPIContext, repeats: Int) throws {
    let network = try PhotoZNetwork(architecture: .inception, head: .classification, seed: 1)
    let parameters = network.parameters.map(\.parameter)
    let count = parameters.reduce(0) { $0 + $1.count }
    let reducer = GradientBucketReducer(parameters: parameters, context: context)
    for p in parameters { p.gradient.pointer.update(repeating: Float(context.rank + 1), count: p.count) }
    let partition = RankPartition(count: 32, ranks: context.size)

    func median(_ body: () throws -> Void) throws -> Double {
        var times: [Double] = []
        for i in 0...repeats {
            try context.barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            if i > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        let slowest = try context.allreduce(times, .max).sorted()
        return slowest[slowest.count / 2]
    }
    let bucketed = try median {
        reducer.beginStep(weight: partition.weight(of: context.rank))
        try reducer.markAllReady()
        try reducer.waitAll()
    }
    var flat = [Float](repeating: 1, count: count)
    let single = try median { try context.allreduce(&flat, .sum) }
    let broadcast = try median { try flat.withUnsafeMutableBufferPointer { try context.broadcast($0) } }
    guard context.isRoot else { return }
    print(String(format: "Inception: %d parameters (%.1f MB float32) in %d buckets of ≤25 MB; on %d ranks, median of %d: "
                 + "bucket reducer %.1f ms, one MPI_Allreduce %.1f ms, broadcast %.1f ms",
                 count, Double(count * 4) / 1e6, reducer.buckets.count, context.size, repeats,
                 bucketed * 1e3, single * 1e3, broadcast * 1e3))
}
