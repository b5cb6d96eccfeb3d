// Allreduce throughput: the figure behind the README's cost model.
import Foundation
import MPI

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
