import MPI
import NeuralNet
import Testing
@testable import PhotoZ

/// The pure pieces of data-parallel training and prediction: how rows and objects are shared
/// among ranks, and how gradients are grouped into buckets. The reductions across processes are
/// tested by photoz-mpi-tests under mpirun (scripts/test).
@Suite("Distributed: partitions and gradient buckets")
struct DistributedTests {
    @Test("Shares are contiguous, cover every item once in rank order, differ by at most one, and weigh rows/B")
    func partitionInvariants() {
        for count in 0...40 {
            for ranks in 1...9 {
                let p = RankPartition(count: count, ranks: ranks)
                let ranges = (0..<ranks).map { p.range(of: $0) }
                #expect(ranges.first!.lowerBound == 0 && ranges.last!.upperBound == count)
                for r in 1..<ranks { #expect(ranges[r].lowerBound == ranges[r - 1].upperBound) }
                let sizes = ranges.map(\.count)
                #expect(sizes.max()! - sizes.min()! <= 1)
                #expect(sizes == sizes.sorted(by: >))  // the larger shares first
                let weights = (0..<ranks).map { p.weight(of: $0) }
                if count == 0 { #expect(weights.allSatisfy { $0 == 0 }) }
                else { #expect(abs(weights.reduce(0, +) - 1) < 1e-6) }
                for i in 0..<count { #expect(ranges[p.rank(of: i)].contains(i)) }
            }
        }
    }

    @Test("Ten rows on four ranks, one row on three ranks (two ranks without rows)")
    func partitionExamples() {
        let ten = RankPartition(count: 10, ranks: 4)
        #expect((0..<4).map { ten.range(of: $0) } == [0..<3, 3..<6, 6..<8, 8..<10])
        #expect((0..<4).map { ten.weight(of: $0) } == [0.3, 0.3, 0.2, 0.2])
        let one = RankPartition(count: 1, ranks: 3)
        #expect((0..<3).map { one.range(of: $0) } == [0..<1, 1..<1, 1..<1])
        #expect((0..<3).map { one.weight(of: $0) } == [1, 0, 0])
    }

    @Test("Buckets hold the parameters last first, each once, contiguous, closed once they reach the size; a large parameter alone")
    func bucketLayout() {
        let counts = [10, 20, 30, 40, 5, 1000, 5]
        let buckets = GradientBucketReducer.layout(counts: counts, bucketFloats: 50)
        #expect(buckets.flatMap { $0.members.map(\.parameter) } == Array(counts.indices.reversed()))
        #expect(buckets.map { $0.members.map(\.parameter) } == [[6], [5], [4, 3, 2], [1, 0]])
        for bucket in buckets {
            var offset = 0
            for m in bucket.members {
                #expect(m.offset == offset && m.count == counts[m.parameter])
                offset += m.count
            }
            #expect(bucket.count == offset)
        }
        for (bucket, next) in zip(buckets, buckets.dropFirst()) {
            #expect(bucket.count >= 50 || (next.members.count == 1 && next.count >= 50))  // closed early before a large one
        }
        #expect(GradientBucketReducer.layout(counts: counts, bucketFloats: 1 << 30).count == 1)
        #expect(GradientBucketReducer.layout(counts: counts, bucketFloats: 1).count == counts.count)
    }

    @Test("One process: the reducer leaves gradients as they are with weight 1 and scales them otherwise")
    func reducerAlone() throws {
        let context = try MPIContext.start(environment: [:])
        var storage: [[Float]] = [[1, 2, 3], [4], [-8, 0.5]]
        let buffers = storage.map { values -> UnsafeMutableBufferPointer<Float> in
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: values.count)
            _ = b.initialize(from: values)
            return b
        }
        defer { for b in buffers { b.deallocate() } }
        let reducer = GradientBucketReducer(gradients: buffers, context: context, bucketBytes: 8)
        reducer.beginStep(weight: 1)
        for i in [2, 0, 1] { try reducer.markReady(i) }
        try reducer.waitAll()
        #expect(buffers.map(Array.init) == storage)
        reducer.beginStep(weight: 0.5)
        try reducer.markAllReady()
        try reducer.waitAll()
        storage = storage.map { $0.map { $0 * 0.5 } }
        #expect(buffers.map(Array.init) == storage)
    }

    @Test("Backward reports each parameter once, last layers first, when its gradient is final; not for an input-only pass",
          arguments: [Architecture.simple, .inception])
    func gradientsFinalHook(architecture: Architecture) throws {
        let net = try PhotoZNetwork(architecture: architecture, head: .classification, imageSize: 16, seed: 3)
        let n = 3
        var generator = SplitMix64(seed: 5)
        let images = (0..<(n * net.valuesPerImage)).map { _ in Float(generator.uniform(-1, 1)) }
        try net.forward(images: images, ebv: [0.01, 0.02, 0.03])
        _ = net.loss(redshifts: [0.2, 0.5, 1.1])
        // Poison the gradients: a parameter reported before its layer wrote it would show it.
        for p in net.parameters { p.parameter.gradient.pointer.update(repeating: .nan, count: p.parameter.count) }
        var reported: [Range<Int>] = []
        var atReport: [Int: [Float]] = [:]
        net.onGradientsFinal = { range in
            reported.append(range)
            for i in range { atReport[i] = net.parameters[i].parameter.gradient.read() }
        }
        defer { net.onGradientsFinal = nil }
        net.backward(.parameters)
        let flat = reported.flatMap { Array($0) }
        #expect(flat.count == net.parameters.count && flat.sorted() == Array(net.parameters.indices), "each index once")
        #expect(zip(reported, reported.dropFirst()).allSatisfy { $0.0.lowerBound > $0.1.upperBound - 1 }, "last layers first")
        #expect(reported.count > 2, "reported layer by layer, not once at the end")
        for (i, p) in net.parameters.enumerated() {
            let final = p.parameter.gradient.read()
            #expect(final.allSatisfy(\.isFinite) && atReport[i] == final, "\(p.path): its gradient changed after it was reported final")
        }
        reported = []
        net.backward(.input)
        #expect(reported.isEmpty, "an attack's input-only pass reports nothing")
    }

    @Test("PHOTOZ_ALLREDUCE chooses overlap (the default) or blocking; another value is an error naming it")
    func allreduceModeFromEnvironment() throws {
        #expect(try AllreduceMode.fromEnvironment([:]) == .overlap)
        #expect(try AllreduceMode.fromEnvironment(["PHOTOZ_ALLREDUCE": ""]) == .overlap)
        #expect(try AllreduceMode.fromEnvironment(["PHOTOZ_ALLREDUCE": "blocking"]) == .blocking)
        #expect(try AllreduceMode.fromEnvironment(["PHOTOZ_ALLREDUCE": "Overlap"]) == .overlap)
        do {
            _ = try AllreduceMode.fromEnvironment(["PHOTOZ_ALLREDUCE": "async"])
            Issue.record("no error for PHOTOZ_ALLREDUCE=async")
        } catch {
            #expect("\(error)".contains("PHOTOZ_ALLREDUCE=async") && "\(error)".contains("blocking"))
        }
    }
}
