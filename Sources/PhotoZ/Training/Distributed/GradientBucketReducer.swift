// GradientBucketReducer: averages the parameter gradients across ranks in ~25 MB buckets that
// start while the backward pass continues, as PyTorch DDP and Horovod do.
import MPI
import NeuralNet

/// Averages the parameter gradients of every rank, bucket by bucket, optionally overlapping the
/// reduction with the backward pass.
///
/// The gradients are grouped, in reverse parameter order (the order in which backward produces
/// them: last layers first), into buckets of about `bucketBytes` (25 MB, PyTorch DDP's default:
/// large enough that each reduction runs at link bandwidth rather than latency). A bucket closes
/// as soon as it reaches that size; a parameter of that size or more is a bucket alone. Each step:
///
///     reducer.beginStep(weight: partition.weight(of: rank))
///     … backward; as each parameter's gradient is final: try reducer.markReady(index)
///     try reducer.waitAll()      // every gradient now holds Σ_r weight_r · gradient_r
///
/// A bucket's gradients, scaled by the weight, are copied into the bucket's own contiguous
/// buffer and reduced there, then copied back. A bucket of one parameter (in float32) is scaled
/// and reduced in place in the gradient itself, without copies or a buffer: the Inception's
/// first dense layer is 93.5 % of its gradient bytes, and copying it in and out would double
/// the memory traffic of the reduction.
///
/// With `overlap: true`, a bucket starts (`MPI_Iallreduce`) as soon as all its parameters are
/// ready and `waitAll()` waits for them. Buckets start strictly in bucket order, on every rank,
/// whatever order `markReady` sees: MPI requires every rank to start its non-blocking
/// collectives in the same order, and a rank without rows (weight 0, which calls
/// `markAllReady()` instead of running backward) would otherwise differ. OpenMPI advances a
/// non-blocking collective only inside MPI calls, so each `markReady` also tests the oldest
/// reduction in flight. With `overlap: false`, the default, `markReady` only records and
/// `waitAll()` reduces every bucket with the blocking `MPI_Allreduce`: OpenMPI 4.1's
/// non-blocking allreduce (libnbc) took 1.6–2× the time of its blocking one for the
/// Inception's 110 MB here, so without a backward pass to overlap with — until the network
/// calls `markReady` from inside backward — blocking is faster. Every rank passes the same
/// `overlap` (blocking and non-blocking collectives do not match each other).
///
/// With `wire: .bfloat16` the buckets travel as bfloat16 (half the bytes; each rank's weighted
/// gradient is rounded to 8 significant bits and each partial sum too, a relative error of at
/// most 2⁻⁸ per rounding, as Horovod's and PyTorch DDP's 16-bit compression do), for links where
/// communication dominates the step.
///
/// The bucket buffers (13 MB for the Inception network in float32, 55 MB in bfloat16) are
/// allocated once, here, not inside a step. Without MPI (one process) nothing is copied:
/// `waitAll()` only applies the weight when it is not 1.
public final class GradientBucketReducer {
    /// The parameters of one bucket, and where each one's gradient sits in the bucket's buffer.
    public struct Bucket: Sendable, Equatable {
        /// (parameter index, offset in the bucket, count), in the order backward produces them.
        public var members: [Member]
        /// The number of floats of the bucket.
        public var count: Int
    }

    /// How the buckets travel between ranks.
    public enum WireFormat: Sendable {
        case float32
        /// Half the bytes, 8 significant bits (2 to 3 decimal digits) (see the type's documentation).
        case bfloat16
    }

    public struct Member: Sendable, Equatable {
        public var parameter: Int
        public var offset: Int
        public var count: Int
    }

    /// The buckets, in the order they are reduced.
    public let buckets: [Bucket]
    private let context: MPIContext
    private let gradients: [UnsafeMutableBufferPointer<Float>]
    /// Keeps the parameters whose gradient buffers are used alive.
    private let owners: [AnyObject]
    /// The bucket of each parameter.
    private let bucketOfParameter: [Int]
    /// The wire format of the buckets.
    public let wire: WireFormat
    /// Whether buckets start (non-blocking) as soon as they are ready, or are all reduced (blocking) in `waitAll()`.
    public let overlap: Bool
    /// One contiguous buffer per bucket (float32 wire; nil for a bucket reduced in place; empty without MPI).
    private let buffers: [UnsafeMutableBufferPointer<Float>?]
    /// One contiguous buffer per bucket (bfloat16 wire; empty without MPI).
    private let compressedBuffers: [UnsafeMutableBufferPointer<MPIBFloat16>]

    // The state of the current step.
    private var weight: Float = 1
    private var ready: [Bool]
    private var missing: [Int]  // parameters of each bucket not ready yet
    private var nextBucket = 0  // the next bucket to start (buckets start in order)
    private var requests: [MPIRequest] = []
    private var inStep = false

    /// A reducer over the gradient buffers `gradients` (index i is parameter i, in forward order).
    ///
    /// Every rank builds it from the same network, so the buckets are the same everywhere.
    public init(gradients: [UnsafeMutableBufferPointer<Float>], context: MPIContext, bucketBytes: Int = 25 << 20,
                wire: WireFormat = .float32, overlap: Bool = false, keepingAlive owners: [AnyObject] = []) {
        precondition(bucketBytes > 0, "GradientBucketReducer: bucketBytes must be positive")
        self.context = context
        self.gradients = gradients
        self.owners = owners
        self.wire = wire
        self.overlap = overlap
        let valueBytes = wire == .float32 ? MemoryLayout<Float>.stride : MemoryLayout<MPIBFloat16>.stride
        buckets = Self.layout(counts: gradients.map(\.count), bucketFloats: max(1, bucketBytes / valueBytes))
        var bucketOf = [Int](repeating: 0, count: gradients.count)
        for (b, bucket) in buckets.enumerated() { for m in bucket.members { bucketOf[m.parameter] = b } }
        bucketOfParameter = bucketOf
        let distributed = context.isDistributed
        buffers = distributed && wire == .float32 ? buckets.map { $0.members.count == 1 ? nil : .allocate(capacity: $0.count) } : []
        compressedBuffers = distributed && wire == .bfloat16 ? buckets.map { .allocate(capacity: $0.count) } : []
        ready = [Bool](repeating: false, count: gradients.count)
        missing = buckets.map(\.members.count)
    }

    /// A reducer over the gradients of `parameters` (a network's parameter list, forward order).
    public convenience init(parameters: [Parameter], context: MPIContext, bucketBytes: Int = 25 << 20,
                            wire: WireFormat = .float32, overlap: Bool = false) {
        self.init(gradients: parameters.map { UnsafeMutableBufferPointer(start: $0.gradient.pointer, count: $0.count) },
                  context: context, bucketBytes: bucketBytes, wire: wire, overlap: overlap, keepingAlive: parameters)
    }

    deinit {
        for request in requests { try? request.wait() }  // MPI may still write into the buffers
        for buffer in buffers { buffer?.deallocate() }
        for buffer in compressedBuffers { buffer.deallocate() }
    }

    /// Groups parameters, last first, into buckets closed as soon as they hold `bucketFloats`
    /// values or more; a parameter of `bucketFloats` values or more is a bucket alone (the bucket
    /// before it and the last one may hold fewer).
    public static func layout(counts: [Int], bucketFloats: Int) -> [Bucket] {
        var result: [Bucket] = []
        var current = Bucket(members: [], count: 0)
        for index in counts.indices.reversed() {
            if counts[index] >= bucketFloats && !current.members.isEmpty {
                result.append(current)
                current = Bucket(members: [], count: 0)
            }
            current.members.append(Member(parameter: index, offset: current.count, count: counts[index]))
            current.count += counts[index]
            if current.count >= bucketFloats {
                result.append(current)
                current = Bucket(members: [], count: 0)
            }
        }
        if !current.members.isEmpty { result.append(current) }
        return result
    }

    /// Starts a step: `weight` is this rank's share of the global batch's rows
    /// (`RankPartition.weight(of:)`); the weights of all ranks sum to 1.
    public func beginStep(weight: Float) {
        precondition(!inStep, "GradientBucketReducer: beginStep before the previous step's waitAll")
        precondition(weight.isFinite && weight >= 0 && weight <= 1, "GradientBucketReducer: weight \(weight) outside [0, 1]")
        self.weight = weight
        inStep = true
        for i in ready.indices { ready[i] = false }
        missing = buckets.map(\.members.count)
        nextBucket = 0
    }

    /// Records that parameter `index`'s gradient is final for this step; starts every bucket
    /// that is complete and whose predecessors have started.
    /// The corresponding C function is `MPI_Iallreduce` (and `MPI_Testall` to progress it).
    public func markReady(_ index: Int) throws {
        precondition(inStep, "GradientBucketReducer: markReady outside a step (call beginStep first)")
        precondition(!ready[index], "GradientBucketReducer: parameter \(index) marked ready twice in one step")
        ready[index] = true
        missing[bucketOfParameter[index]] -= 1
        guard context.isDistributed, overlap else { return }
        while nextBucket < buckets.count && missing[nextBucket] == 0 {
            try reduce(nextBucket)
            nextBucket += 1
        }
        // OpenMPI progresses non-blocking collectives only inside MPI calls.
        if let oldest = requests.first, try oldest.test() { requests.removeFirst() }
    }

    /// Marks every parameter not yet marked (a rank without rows, or a backward pass without hooks).
    public func markAllReady() throws {
        for index in ready.indices where !ready[index] { try markReady(index) }
    }

    /// Waits for every bucket's reduction and writes the averaged gradients back.
    /// The corresponding C function is `MPI_Waitall`.
    public func waitAll() throws {
        precondition(inStep, "GradientBucketReducer: waitAll outside a step")
        if let unmarked = ready.firstIndex(of: false) {
            preconditionFailure("GradientBucketReducer: waitAll with parameter \(unmarked) not marked ready; "
                                + "the other ranks would wait for its bucket forever")
        }
        inStep = false
        guard context.isDistributed else {
            if weight != 1 { for g in gradients { scale(g, by: weight) } }
            return
        }
        if overlap {
            for request in requests { try request.wait() }
            requests.removeAll()
        } else {
            for b in buckets.indices { try reduce(b) }
        }
        for (b, bucket) in buckets.enumerated() {
            for m in bucket.members {
                let gradient = gradients[m.parameter]
                switch wire {
                case .float32:
                    guard let buffer = buffers[b] else { continue }  // reduced in place
                    gradient.baseAddress!.update(from: buffer.baseAddress! + m.offset, count: m.count)
                case .bfloat16:
                    let source = compressedBuffers[b].baseAddress! + m.offset
                    for j in 0..<m.count { gradient[j] = source[j].float }
                }
            }
        }
    }

    /// Fills bucket `b` and reduces it: started (`MPI_Iallreduce`) when overlapping, else at once (`MPI_Allreduce`).
    private func reduce(_ b: Int) throws {
        func send<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>) throws {
            if overlap { requests.append(try context.startAllreduce(buffer, .sum)) }
            else { try context.allreduce(buffer, .sum) }
        }
        switch wire {
        case .float32:
            guard let buffer = buffers[b] else {
                let gradient = gradients[buckets[b].members[0].parameter]
                if weight != 1 { fill(gradient, from: gradient) { $0 } }  // in place
                return try send(gradient)
            }
            for m in buckets[b].members {
                fill(UnsafeMutableBufferPointer(rebasing: buffer[m.offset..<(m.offset + m.count)]), from: gradients[m.parameter]) { $0 }
            }
            try send(buffer)
        case .bfloat16:
            let buffer = compressedBuffers[b]
            for m in buckets[b].members {
                fill(UnsafeMutableBufferPointer(rebasing: buffer[m.offset..<(m.offset + m.count)]), from: gradients[m.parameter],
                     MPIBFloat16.init)
            }
            try send(buffer)
        }
    }

    /// Writes weight × gradient, converted, into a bucket's slice.
    @inline(__always)
    private func fill<T>(_ destination: UnsafeMutableBufferPointer<T>, from source: UnsafeMutableBufferPointer<Float>,
                         _ convert: (Float) -> T) {
        if weight == 0 {
            // Not gradient × 0: a rank without rows did not run backward, and stale NaNs × 0 are NaN.
            destination.update(repeating: convert(0))
        } else {
            for j in 0..<destination.count { destination[j] = convert(source[j] * weight) }
        }
    }

    private func scale(_ buffer: UnsafeMutableBufferPointer<Float>, by factor: Float) {
        for j in buffer.indices { buffer[j] *= factor }
    }
}
