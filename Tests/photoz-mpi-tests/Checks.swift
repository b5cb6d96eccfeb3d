// The checks run inside every rank of an `mpirun` (and once alone): collectives, the gradient
// bucket reducer and the partitions, each compared with what it must give.
import MPI
import NeuralNet
import PhotoZ

/// Collects failed expectations of this rank.
final class Expectations {
    let context: MPIContext
    private(set) var failures: [String] = []
    private(set) var count = 0

    init(context: MPIContext) { self.context = context }

    func expect(_ condition: Bool, _ what: @autoclosure () -> String) {
        count += 1
        if !condition { failures.append(what()) }
    }
}

/// Deterministic values of a rank's buffer: rank and index mixed, not round, so sums round.
func values(rank: Int, count: Int, salt: UInt64) -> [Float] {
    var generator = SplitMix64(seed: salt &* 1_000_003 &+ UInt64(rank))
    return (0..<count).map { _ in Float(generator.uniform(-3, 3)) }
}

func runChecks(_ context: MPIContext) throws -> Expectations {
    let e = Expectations(context: context)
    let (rank, size) = (context.rank, context.size)
    e.expect((0..<size).contains(rank), "rank \(rank) outside 0..<\(size)")

    // Broadcast: fixed-size buffer, array of the root's size, Codable, string.
    var floats = rank == 0 ? [1.5, -2.25, 3e-8, .greatestFiniteMagnitude] : [Float](repeating: 0, count: 4)
    try floats.withUnsafeMutableBufferPointer { try context.broadcast($0, root: 0) }
    e.expect(floats == [1.5, -2.25, 3e-8, .greatestFiniteMagnitude], "broadcast of floats gave \(floats)")
    var array: [Int64] = rank == size - 1 ? Array(0..<1000).map { Int64($0) * 3 } : [42]
    try context.broadcast(&array, root: size - 1)
    e.expect(array == Array(0..<1000).map { Int64($0) * 3 }, "broadcast of an array from the last rank gave \(array.count) values")
    struct Settings: Codable, Equatable { var name: String; var rates: [Double]; var steps: Int }
    let settings = Settings(name: "inception ✓", rates: [1e-4, 2e-5], steps: 1200)
    let received = try context.broadcast(rank == 0 ? settings : nil, root: 0)
    e.expect(received == settings, "broadcast of a Codable value gave \(received)")
    let text = try context.broadcast(rank == 0 ? "model.h5" : nil)
    e.expect(text == "model.h5", "broadcast of a string gave \(text)")

    // Allreduce: sums and maxima of each type; in pieces.
    var sums = [Float(rank + 1), Float(rank) * 0.5]
    try context.allreduce(&sums, .sum)
    let n = Float(size)
    e.expect(sums == [n * (n + 1) / 2, n * (n - 1) / 4], "allreduce sum of floats gave \(sums)")
    let maximum = try context.allreduce(Double(rank) - 0.5, .max)
    e.expect(maximum == Double(size) - 1.5, "allreduce max of doubles gave \(maximum)")
    let total = try context.allreduce(Int64(1) << 40 + Int64(rank), .sum)
    e.expect(total == Int64(size) << 40 + Int64(size * (size - 1) / 2), "allreduce sum of int64 gave \(total)")
    let smallest = try context.allreduce(Int(rank) + 10, .min)
    e.expect(smallest == 10, "allreduce min of Int gave \(smallest)")

    let saved = context.elementsPerCall
    context.elementsPerCall = 7  // 100 values in 15 calls
    var pieces = (0..<100).map { Double($0 * (rank + 1)) }
    try context.allreduce(&pieces, .sum)
    let factor = Double(size * (size + 1) / 2)
    e.expect(pieces == (0..<100).map { Double($0) * factor }, "allreduce in pieces of 7 gave a wrong sum")
    var bytes = rank == 0 ? (0..<50).map { UInt8($0) } : []
    try context.broadcast(&bytes)
    e.expect(bytes == (0..<50).map { UInt8($0) }, "broadcast in pieces of 7 gave \(bytes)")
    let long = (0..<(10 * (rank + 1))).map { Float(rank * 1000 + $0) }
    let gatheredLong = try context.gather(long)
    if rank == 0 {
        let expected = (0..<size).flatMap { r in (0..<(10 * (r + 1))).map { Float(r * 1000 + $0) } }
        e.expect(gatheredLong == expected, "gather in pieces of 7 gave \(gatheredLong?.count ?? -1) values")
    }
    context.elementsPerCall = saved

    // Non-blocking allreduce.
    var pending = [Float](repeating: Float(rank), count: 1 << 20)
    try pending.withUnsafeMutableBufferPointer { buffer in
        let request = try context.startAllreduce(buffer, .sum)
        while try !request.test() {}
        try request.wait()  // completed: does nothing
    }
    e.expect(pending.allSatisfy { $0 == n * (n - 1) / 2 }, "startAllreduce gave \(pending[0]) instead of \(n * (n - 1) / 2)")

    // Gather with different counts, including ranks with none, in rank order.
    let objects = RankPartition(count: size + 1, ranks: size)  // rank 0 gets 2, the others 1
    let mine = objects.range(of: rank).map { Int64($0) * 7 }
    let gathered = try context.gather(mine)
    if rank == 0 { e.expect(gathered == (0..<(size + 1)).map { Int64($0) * 7 }, "gather gave \(String(describing: gathered))") }
    else { e.expect(gathered == nil, "gather returned values on rank \(rank)") }
    let none = try context.gather(rank == 0 ? [Float]() : [Float(rank)], root: size - 1)
    if rank == size - 1 { e.expect(none == (1..<size).map(Float.init), "gather with an empty rank 0 gave \(String(describing: none))") }

    try checkReducer(context, e)

    // Parameters: different on every rank (seeded by rank), rank 0's everywhere after the broadcast.
    let network = try PhotoZNetwork(architecture: .simple, head: .classification, seed: UInt64(10 + rank))
    let differing = try ParameterSync.differing(network.parameters, context: context)
    e.expect(size == 1 ? differing.isEmpty : !differing.isEmpty,  // the weights differ (constant-initialised biases may not)
             "before the broadcast, \(differing.count) of \(network.parameters.count) parameters differ between ranks")
    try ParameterSync.broadcast(network.parameters, context: context)
    e.expect(try ParameterSync.differing(network.parameters, context: context).isEmpty, "parameters differ after the broadcast")
    let reference = try PhotoZNetwork(architecture: .simple, head: .classification, seed: 10)
    e.expect(zip(network.parameters, reference.parameters).allSatisfy { $0.parameter.value.read() == $1.parameter.value.read() },
             "after the broadcast, the parameters are not rank 0's")
    if rank == size - 1 && size > 1 {  // one value on one rank
        network.parameters[3].parameter.value.pointer[7] += 1
    }
    let changed = try ParameterSync.differing(network.parameters, context: context)
    e.expect(size == 1 ? changed.isEmpty : changed == [network.parameters[3].path],
             "one changed value on the last rank: differing gave \(changed)")
    try context.barrier()
    return e
}

/// The bucket reducer gives Σ_r weight_r · gradient_r on every rank; with two ranks and equal
/// weights, exactly the mean of the two buffers (0.5·a + 0.5·b is (a + b)/2 rounded once).
func checkReducer(_ context: MPIContext, _ e: Expectations) throws {
    let (rank, size) = (context.rank, context.size)
    // Sizes like a small network's: a large parameter alone in a bucket, small ones grouped.
    let counts = [864, 32, 32, 9216, 32, 30_000, 180, 5, 1]
    let layouts: [(String, Int, GradientBucketReducer.WireFormat, Bool)] = [
        ("one bucket per 4 KB", 4096, .float32, true), ("one bucket", 1 << 30, .float32, true), ("25 MB", 25 << 20, .float32, true),
        ("blocking, 4 KB", 4096, .float32, false), ("bfloat16, 4 KB", 4096, .bfloat16, true),
        ("bfloat16, 25 MB", 25 << 20, .bfloat16, true), ("bfloat16 blocking, 4 KB", 4096, .bfloat16, false)]
    for (label, bucketBytes, wire, overlap) in layouts {
        for batchRows in [2 * size, 2 * size + 1, 1] {  // even, uneven, fewer rows than ranks
            let partition = RankPartition(count: batchRows, ranks: size)
            let weight = partition.weight(of: rank)
            var storage = counts.enumerated().map { i, c in values(rank: rank, count: c, salt: UInt64(i)) }
            if weight == 0 { for i in storage.indices { storage[i] = [Float](repeating: .nan, count: counts[i]) } }
            try withBuffers(&storage) { gradients in
                let reducer = GradientBucketReducer(gradients: gradients, context: context, bucketBytes: bucketBytes, wire: wire,
                                                    overlap: overlap)
                for step in 0..<2 {
                    reducer.beginStep(weight: weight)
                    if weight == 0 {
                        try reducer.markAllReady()  // no rows: no backward
                    } else {
                        // Ranks mark in different orders; buckets still start in the same order.
                        let order = rank % 2 == 0 ? Array(counts.indices.reversed()) : Array(counts.indices)
                        for i in order { try reducer.markReady(i) }
                    }
                    try reducer.waitAll()
                    for i in counts.indices {
                        var expected = [Float](repeating: 0, count: counts[i])
                        var magnitude = [Float](repeating: 0, count: counts[i])  // Σ |weight · gradient|
                        let compressed = wire == .bfloat16 && context.isDistributed
                        for r in 0..<size {
                            let w = partition.weight(of: r)
                            let v = w == 0 ? [Float](repeating: 0, count: counts[i]) : values(rank: r, count: counts[i], salt: UInt64(i))
                            for j in expected.indices {
                                magnitude[j] += abs(v[j] * w)
                                if !compressed { if w > 0 { expected[j] += v[j] * w } }
                                else if r == 0 { expected[j] = MPIBFloat16(v[j] * w).float }
                                else { expected[j] = MPIBFloat16(expected[j] + MPIBFloat16(v[j] * w).float).float }
                            }
                        }
                        let got = Array(gradients[i])
                        if compressed && size > 2 {
                            // In MPI's order: N conversions and N − 1 additions, each rounded to 8
                            // significant bits (relative error ≤ 2⁻⁸), so |error| ≤ N·2⁻⁸·Σ|weight·gradient|.
                            let worst = zip(zip(got, expected), magnitude).map { abs($0.0 - $0.1) / max($1, 1e-30) }.max()!
                            e.expect(worst <= Float(size) * 0x1p-8, "reducer (\(label), \(batchRows) rows): parameter \(i) off by \(worst) relative")
                        } else if size <= 2 {
                            e.expect(got == expected, "reducer (\(label), \(batchRows) rows, step \(step)): parameter \(i) "
                                     + "differs from Σ weight·gradient, first \(got.first!) vs \(expected.first!)")
                        } else {  // more than two addends: MPI's order of summation may differ from ours
                            let worst = zip(got, expected).map { abs($0 - $1) }.max()!
                            e.expect(worst <= 1e-5, "reducer (\(label), \(batchRows) rows): parameter \(i) off by \(worst)")
                        }
                        // Refill for the next step (the reducer overwrote the gradients).
                        let fresh = weight == 0 ? [Float](repeating: .nan, count: counts[i]) : values(rank: rank, count: counts[i], salt: UInt64(i))
                        _ = gradients[i].update(from: fresh)
                    }
                }
            }
        }
    }
}

/// Calls `body` with stable pointers to each array of `arrays`.
func withBuffers(_ arrays: inout [[Float]], _ body: ([UnsafeMutableBufferPointer<Float>]) throws -> Void) rethrows {
    let buffers = arrays.map { array -> UnsafeMutableBufferPointer<Float> in
        let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: array.count)
        _ = b.initialize(from: array)
        return b
    }
    defer { for b in buffers { b.deallocate() } }
    try body(buffers)
    for i in arrays.indices { arrays[i] = Array(buffers[i]) }
}
