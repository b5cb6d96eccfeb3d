// Allreduce throughput: the figure behind the cost model in docs/cluster.md.
import Foundation
import MPI
import PhotoZ

/// Times `repeats` in-place sums of a float32 buffer of `megabytes` MB (after one warm-up) and
/// prints the median time, the algorithm bandwidth (bytes / time) and the bus bandwidth
/// (2(N−1)/N × bytes / time, what a ring allreduce moves per rank: comparable across N).
func benchAllreduce(_ context: MPIContext, megabytes: Double, repeats: Int) throws {
    let count = Int(megabytes * 1_000_000) / 4
    var buffer = [Float](repeating: Float(context.rank + 1), count: count)
    var times: [Double] = [], cpuTimes: [Double] = []
    for i in 0...repeats {
        try context.barrier()
        let start = DispatchTime.now().uptimeNanoseconds, cpuStart = threadCPUSeconds()
        try context.allreduce(&buffer, .sum)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if i > 0 { times.append(seconds); cpuTimes.append(threadCPUSeconds() - cpuStart) }
    }
    let slowest = try context.allreduce(times, .max)  // a collective ends when its slowest rank does
    let busiest = try context.allreduce(cpuTimes, .max)
    guard context.isRoot else { return }
    let sorted = slowest.sorted()
    let median = sorted[sorted.count / 2]
    let cpu = busiest.sorted()[busiest.count / 2]
    let bytes = Double(count * 4)
    let n = Double(context.size)
    print(String(format: "allreduce of %.0f MB float32 on %d ranks: median %.1f ms (min %.1f, max %.1f) over %d, "
                 + "CPU time of the busiest rank's thread %.1f ms (median); algorithm bandwidth %.2f GB/s, bus bandwidth %.2f GB/s "
                 + "(at the median), %.2f GB/s (at the minimum)",
                 bytes / 1e6, context.size, median * 1e3, sorted.first! * 1e3, sorted.last! * 1e3, sorted.count, cpu * 1e3,
                 bytes / median / 1e9, 2 * (n - 1) / n * bytes / median / 1e9, 2 * (n - 1) / n * bytes / sorted.first! / 1e9))
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
    let reducer = GradientBucketReducer(parameters: parameters, context: context, overlap: true)
    for p in parameters { p.gradient.pointer.update(repeating: Float(context.rank + 1), count: p.count) }
    let partition = RankPartition(count: 32, ranks: context.size)

    /// The median wall time and the median CPU time of the busiest rank's thread.
    func median(_ body: () throws -> Void) throws -> (wall: Double, cpu: Double) {
        var times: [Double] = [], cpuTimes: [Double] = []
        for i in 0...repeats {
            try context.barrier()
            let start = DispatchTime.now().uptimeNanoseconds, cpuStart = threadCPUSeconds()
            try body()
            if i > 0 {
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                cpuTimes.append(threadCPUSeconds() - cpuStart)
            }
        }
        let slowest = try context.allreduce(times, .max).sorted(), busiest = try context.allreduce(cpuTimes, .max).sorted()
        return (slowest[slowest.count / 2], busiest[busiest.count / 2])
    }
    let bucketed = try median {
        reducer.beginStep(weight: partition.weight(of: context.rank))
        try reducer.markAllReady()
        try reducer.waitAll()
    }
    let compressed = GradientBucketReducer(parameters: parameters, context: context, wire: .bfloat16, overlap: true)
    let blocking = GradientBucketReducer(parameters: parameters, context: context, overlap: false)
    let bucketedBlocking = try median {
        blocking.beginStep(weight: partition.weight(of: context.rank))
        try blocking.markAllReady()
        try blocking.waitAll()
    }
    let bucketedBF16 = try median {
        compressed.beginStep(weight: partition.weight(of: context.rank))
        try compressed.markAllReady()
        try compressed.waitAll()
    }
    var flat = [Float](repeating: 1, count: count)
    let single = try median { try context.allreduce(&flat, .sum) }
    let nonBlocking = try median { try flat.withUnsafeMutableBufferPointer { try context.startAllreduce($0, .sum).wait() } }
    let broadcast = try median { try flat.withUnsafeMutableBufferPointer { try context.broadcast($0) } }
    guard context.isRoot else { return }
    let sizes = reducer.buckets.map { String(format: "%.1f", Double($0.count * 4) / 1e6) }.joined(separator: " + ")
    print(String(format: "Inception: %d parameters (%.1f MB float32) in buckets of ", count, Double(count * 4) / 1e6)
          + sizes + String(format: " MB (25 MB cap, a parameter is never split); on %d ranks, median of %d, wall / CPU ms: "
                           + "bucket reducer %.1f / %.1f (bfloat16 wire %.1f / %.1f; blocking %.1f / %.1f), one MPI_Allreduce %.1f / %.1f, one MPI_Iallreduce + wait %.1f / %.1f, "
                           + "broadcast %.1f / %.1f",
                           context.size, repeats, bucketed.wall * 1e3, bucketed.cpu * 1e3, bucketedBF16.wall * 1e3,
                           bucketedBF16.cpu * 1e3, bucketedBlocking.wall * 1e3, bucketedBlocking.cpu * 1e3, single.wall * 1e3, single.cpu * 1e3, nonBlocking.wall * 1e3, nonBlocking.cpu * 1e3, broadcast.wall * 1e3, broadcast.cpu * 1e3))
}

/// The CPU time of the calling thread: on a loaded machine, closer to what a quiet one would take than the wall time.
func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
