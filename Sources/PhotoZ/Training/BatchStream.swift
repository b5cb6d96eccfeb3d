import Foundation
import NeuralNet
import PhotoZData

/// One batch for the network: transformed images and their labels.
public struct TrainingBatch: Sendable {
    public var images: [Float]      // (n, 5, S, S), network input (pixel transform applied)
    public var ebv: [Float]         // (n)
    public var zSpec: [Float]       // (n)
    public var objectID: [Int64]    // (n)
    public var count: Int { objectID.count }
}

/// Streams shuffled, augmented training batches from shards on a background thread.
///
/// Each epoch visits every row of the split once in an order that depends only on (seed,
/// epoch): shards in shuffled order, each read in blocks of rows in shuffled order, through a
/// shuffle buffer of `bufferRows` rows. Augmentations of batch b of epoch e come from their own
/// generator seeded by (seed, e, b). So a run resumed at step s sees exactly the batches an
/// uninterrupted run sees from s on. Memory is bounded by the shuffle buffer (plus one read block) and `queueDepth`
/// batches, whatever the number of shards.
public final class BatchStream: @unchecked Sendable {
    public let batchSize: Int
    public let stepsPerEpoch: Int
    private let shards: [DataSet.ShardInfo]
    private let imageSize: Int
    private let seed: UInt64
    private let augment: Bool
    private let transform: PixelTransform
    private let bufferRows: Int
    private let queue: BoundedQueue<Result<TrainingBatch, Error>>
    private var thread: Thread?

    public static let readBlockRows = 64

    /// Starts streaming at global step `startStep` (0 for a new run).
    public init(dataSet: DataSet, split: Split, batchSize: Int, seed: UInt64, augment: Bool, transform: PixelTransform,
                startStep: Int = 0, bufferRows: Int = 1024, queueDepth: Int = 3) throws {
        shards = try dataSet.requireRows(in: split, purpose: "training")
        let rows = shards.reduce(0) { $0 + $1.rows }
        guard rows >= batchSize else {
            throw PhotoZDataError.invalidOption("\(dataSet.path): the \(split.rawValue) split has \(rows) rows, fewer than --batch-size \(batchSize); use a smaller batch")
        }
        self.batchSize = batchSize
        stepsPerEpoch = rows / batchSize
        imageSize = dataSet.imageSize
        self.seed = seed
        self.augment = augment
        self.transform = transform
        self.bufferRows = max(bufferRows, batchSize)
        queue = BoundedQueue(capacity: queueDepth)
        let thread = Thread { [self] in produce(from: startStep) }
        thread.name = "photoz.batches"
        thread.stackSize = 1 << 20
        self.thread = thread
        thread.start()
    }

    deinit { queue.close() }

    /// Stops the background thread (also done when the stream is released).
    public func stop() { queue.close() }

    /// The next batch; throws the reading error that stopped the stream, if any.
    public func next() throws -> TrainingBatch {
        guard let result = queue.pop() else { preconditionFailure("BatchStream used after stop()") }
        return try result.get()
    }

    private func produce(from startStep: Int) {
        var epoch = startStep / stepsPerEpoch
        var skip = startStep % stepsPerEpoch
        do {
            while !queue.isClosed {
                try runEpoch(epoch, skip: skip)
                epoch += 1
                skip = 0
            }
        } catch {
            _ = queue.push(.failure(error))
        }
    }

    private func runEpoch(_ epoch: Int, skip: Int) throws {
        var rng = SplitMix64(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(epoch + 1))
        let pixels = 5 * imageSize * imageSize
        var buffer = ShardBatch(imageSize: imageSize, capacity: bufferRows + Self.readBlockRows)
        var batchIndex = 0
        var pending = ShardBatch(imageSize: imageSize, capacity: batchSize)

        func emit() -> Bool {
            defer { batchIndex += 1 }
            guard batchIndex >= skip else { pending.removeAll(); return true }
            var rows = ShardBatch(imageSize: imageSize, capacity: batchSize)
            swap(&rows, &pending)
            return queue.push(.success(finish(rows, epoch: epoch, index: batchIndex)))
        }
        func drawOne() -> Bool {
            let k = Int(rng.next() % UInt64(buffer.count))
            let last = buffer.count - 1
            pending.objectID.append(buffer.objectID[k]); pending.zSpec.append(buffer.zSpec[k]); pending.ebv.append(buffer.ebv[k])
            pending.images.append(contentsOf: buffer.images[k * pixels..<(k + 1) * pixels])
            // Swap-remove keeps the buffer compact.
            buffer.objectID.swapAt(k, last); buffer.zSpec.swapAt(k, last); buffer.ebv.swapAt(k, last)
            buffer.ra.swapAt(k, last); buffer.dec.swapAt(k, last); buffer.zSpecErr.swapAt(k, last)
            if k != last {  // row k is in `pending` now: the last row takes its place
                buffer.images.withUnsafeMutableBufferPointer { b in
                    (b.baseAddress! + k * pixels).update(from: b.baseAddress! + last * pixels, count: pixels)
                }
            }
            buffer.objectID.removeLast(); buffer.zSpec.removeLast(); buffer.ebv.removeLast()
            buffer.ra.removeLast(); buffer.dec.removeLast(); buffer.zSpecErr.removeLast()
            buffer.images.removeLast(pixels)
            if pending.count == batchSize { return emit() }
            return true
        }

        var order = Array(shards.indices)
        order.shuffle(using: &rng)
        for s in order {
            let info = shards[s]
            let shard = try Shard(path: info.path)
            var blocks = Array(stride(from: 0, to: shard.rows, by: Self.readBlockRows))
            blocks.shuffle(using: &rng)
            for start in blocks {
                try shard.readBatch(start..<min(start + Self.readBlockRows, shard.rows), appendingTo: &buffer)
                while buffer.count > bufferRows {
                    guard drawOne() else { return }
                }
            }
        }
        while buffer.count > 0 && batchIndex < stepsPerEpoch {
            guard drawOne() else { return }
        }
    }

    /// Augments and transforms a batch (the costly part, skipped for batches before `skip`).
    private func finish(_ rows: consuming ShardBatch, epoch: Int, index: Int) -> TrainingBatch {
        var images = rows.images
        rows.images = []  // `images` is now the only reference: edited in place, not copied
        if augment {
            var rng = SplitMix64(seed: seed ^ (UInt64(epoch) << 32 | UInt64(index)) &* 0xD1B5_4A32_D192_ED03)
            let pixels = 5 * imageSize * imageSize
            var scratch = [Float](repeating: 0, count: pixels)
            images.withUnsafeMutableBufferPointer { all in
                scratch.withUnsafeMutableBufferPointer { copy in
                    for k in 0..<rows.count {
                        let d = Dihedral.random(using: &rng)
                        guard d != .identity else { continue }
                        let image = UnsafeMutableBufferPointer(rebasing: all[k * pixels..<(k + 1) * pixels])
                        _ = copy.update(fromContentsOf: image)
                        d.apply(UnsafeBufferPointer(copy), into: image, size: imageSize, planes: 5)
                    }
                }
            }
        }
        transform.apply(&images)
        return TrainingBatch(images: images, ebv: rows.ebv, zSpec: rows.zSpec, objectID: rows.objectID)
    }
}

extension BatchStream {
    /// Images per second the stream delivers on its own (reading, shuffling, augmentation and
    /// pixel transform, no network): the rate a training run can never exceed.
    public static func throughput(dataSet: DataSet, batchSize: Int, minTime: Double = 3, minBatches: Int = 20) throws -> Double {
        let stream = try BatchStream(dataSet: dataSet, split: .train, batchSize: batchSize, seed: 1, augment: true,
                                     transform: .signedSquareRoot)
        defer { stream.stop() }
        _ = try stream.next()  // the first read fills the shuffle buffer
        let start = Date()
        var images = 0, batches = 0
        while batches < minBatches || Date().timeIntervalSince(start) < minTime {
            images += try stream.next().count
            batches += 1
        }
        return Double(images) / Date().timeIntervalSince(start)
    }
}

/// A blocking FIFO of bounded size between a producer thread and a consumer.
final class BoundedQueue<Element>: @unchecked Sendable {
    private var items: [Element] = []
    private let capacity: Int
    private let condition = NSCondition()
    private(set) var isClosed = false

    init(capacity: Int) { self.capacity = capacity }

    /// Waits for room; returns false when the queue was closed.
    func push(_ item: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !isClosed { condition.wait() }
        guard !isClosed else { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Waits for an item; nil once closed and empty.
    func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !isClosed { condition.wait() }
        guard !items.isEmpty else { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    func close() {
        condition.lock()
        isClosed = true
        condition.broadcast()
        condition.unlock()
    }
}
