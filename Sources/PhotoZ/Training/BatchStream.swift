import Foundation
import NeuralNet
import PhotoZData

/// One batch for the network: transformed images and their labels.
public struct TrainingBatch: Sendable {
    public var images: [Float]      // (n, 5, S, S), network input (pixel transform applied)
    public var ebv: [Float]         // (n)
    public var zSpec: [Float]       // (n)
    public var objectID: [Int64]    // (n)
    /// Which rows of the global batch these are: all of them in a single process, this rank's
    /// share under mpirun (`RankPartition`).
    public var rowsOfGlobalBatch: Range<Int>
    /// The rows of the global batch (`--batch-size`).
    public var globalCount: Int
    public var count: Int { objectID.count }

    /// A batch; by default the whole global batch (a single process).
    public init(images: [Float], ebv: [Float], zSpec: [Float], objectID: [Int64], rowsOfGlobalBatch: Range<Int>? = nil,
                globalCount: Int? = nil) {
        self.images = images
        self.ebv = ebv
        self.zSpec = zSpec
        self.objectID = objectID
        self.rowsOfGlobalBatch = rowsOfGlobalBatch ?? 0..<objectID.count
        self.globalCount = globalCount ?? objectID.count
    }
}

/// Streams shuffled, augmented training batches on a background thread.
///
/// The order is the data-set reader's shuffled order (`BatchOrder.shuffled`): each epoch
/// visits every row of the split once in an order that depends only on (seed, epoch), and
/// augmentations of batch b of epoch e come from their own generator seeded by (seed, e, b).
/// So a run resumed at step s sees exactly the batches an uninterrupted run sees from s on.
/// Memory is bounded by the shuffle buffer (rows for a whole batch, row references for a
/// rank's share) and `queueDepth` batches, whatever the number of shards. The thread stops with `stop()` or when the stream is
/// released: it holds only its producer, never the stream.
public final class BatchStream: @unchecked Sendable {
    public let batchSize: Int
    public let stepsPerEpoch: Int
    private let queue: BoundedQueue<Result<TrainingBatch, Error>>
    /// The background work (tests watch it end).
    let producer: BatchProducer

    /// Rows per block read from a shard (the reader's shuffle block).
    public static var readBlockRows: Int { DataSetReader.shuffleBlockRows }

    /// Starts streaming at global step `startStep` (0 for a new run).
    ///
    /// `rows` (nil: all) keeps only those rows of each batch of `batchSize`: a rank's share of
    /// the global batch under mpirun. The order of the batches and of their rows is drawn on row
    /// references (`DataSetReader.shuffledRowBatches`, the single process's order), the same for
    /// every rank, and only the kept rows are read from the shards (row by row, nearby rows
    /// together), augmented and transformed; each row's augmentation is
    /// that of the whole batch (the augmentation generator still draws for every row), so the
    /// ranks' shares put together are exactly the single process's batch.
    public init(dataSet: DataSet, split: Split, batchSize: Int, seed: UInt64, augment: Bool, transform: PixelTransform,
                startStep: Int = 0, bufferRows: Int = 1024, queueDepth: Int = 3, rows kept: Range<Int>? = nil) throws {
        precondition(kept.map { $0.lowerBound >= 0 && $0.upperBound <= batchSize } ?? true, "BatchStream: rows \(kept!) outside a batch of \(batchSize)")
        let rows = try dataSet.requireRows(in: split, purpose: "training").reduce(0) { $0 + $1.rows }
        guard rows >= batchSize else {
            throw PhotoZDataError.invalidOption("\(dataSet.path): the \(split.rawValue) split has \(rows) rows, fewer than --batch-size \(batchSize); use a smaller batch")
        }
        self.batchSize = batchSize
        stepsPerEpoch = rows / batchSize
        let queue = BoundedQueue<Result<TrainingBatch, Error>>(capacity: queueDepth)
        self.queue = queue
        let producer = BatchProducer(reader: dataSet, split: split, batchSize: batchSize, stepsPerEpoch: stepsPerEpoch, seed: seed,
                                     augment: augment, transform: transform, bufferRows: bufferRows, queue: queue,
                                     kept: kept ?? 0..<batchSize)
        self.producer = producer
        let thread = Thread { producer.run(from: startStep) }
        thread.name = "photoz.batches"
        thread.stackSize = 1 << 20
        producer.started()
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
}

/// The stream's background work: reads the reader's shuffled batches epoch after epoch,
/// augments and transforms them, and queues them until the queue is closed.
final class BatchProducer: @unchecked Sendable {
    private let reader: DataSetReader
    private let split: Split
    private let batchSize: Int, stepsPerEpoch: Int
    private let seed: UInt64
    private let augment: Bool
    private let transform: PixelTransform
    private let bufferRows: Int
    private let queue: BoundedQueue<Result<TrainingBatch, Error>>
    /// The rows of each batch delivered (a rank's share).
    private let kept: Range<Int>
    private let lock = NSLock()
    private var running = false

    /// The columns training reads (the others stay on disk).
    static let columns = [ShardSchema.images, ShardSchema.objectID, ShardSchema.zSpec, ShardSchema.ebv].map { ShardSchema.column($0)! }

    init(reader: DataSetReader, split: Split, batchSize: Int, stepsPerEpoch: Int, seed: UInt64, augment: Bool, transform: PixelTransform,
         bufferRows: Int, queue: BoundedQueue<Result<TrainingBatch, Error>>, kept: Range<Int>) {
        self.kept = kept
        self.reader = reader
        self.split = split
        self.batchSize = batchSize
        self.stepsPerEpoch = stepsPerEpoch
        self.seed = seed
        self.augment = augment
        self.transform = transform
        self.bufferRows = bufferRows
        self.queue = queue
    }

    /// Whether the thread is still working.
    var isRunning: Bool { lock.withLock { running } }
    func started() { lock.withLock { running = true } }

    func run(from startStep: Int) {
        defer { lock.withLock { running = false } }
        var epoch = startStep / stepsPerEpoch
        var skip = startStep % stepsPerEpoch
        do {
            while !queue.isClosed {
                if kept == 0..<batchSize {
                    // Every row of every block is used: reading whole blocks into the shuffle
                    // buffer (the same rows in the same order as the references below, tested)
                    // costs far fewer reads than row by row.
                    let batches = try reader.batches(split: split, order: .shuffled(seed: seed, epoch: epoch, bufferRows: bufferRows),
                                                     batchSize: batchSize, columns: Self.columns, startBatch: skip, purpose: "training")
                    while let batch = try batches.next() {
                        guard queue.push(.success(finish(batch.rows, epoch: epoch, index: batch.index))) else { return }
                    }
                } else {
                    // A rank's share: the order is drawn on row references and only its rows are read.
                    let batches = try reader.shuffledRowBatches(split: split, seed: seed, epoch: epoch, bufferRows: bufferRows,
                                                                batchSize: batchSize, startBatch: skip, purpose: "training")
                    while let batch = batches.next() {
                        let rows = try reader.read(Array(batch.rows[kept]), columns: Self.columns)
                        guard queue.push(.success(finish(rows, epoch: epoch, index: batch.index))) else { return }
                    }
                }
                epoch += 1
                skip = 0
            }
        } catch {
            _ = queue.push(.failure(error))
        }
    }

    /// Augments and transforms the kept rows of a batch (`rows`: only those, read for this rank).
    private func finish(_ rows: consuming ShardRows, epoch: Int, index: Int) -> TrainingBatch {
        let n = batchSize
        let imageSize = rows.imageSize
        let pixels = 5 * imageSize * imageSize
        var images = rows.images
        rows.images = []  // `images` is now the only reference: edited in place, not copied
        if augment {
            var rng = SplitMix64(seed: seed ^ (UInt64(epoch) << 32 | UInt64(index)) &* 0xD1B5_4A32_D192_ED03)
            var scratch = [Float](repeating: 0, count: pixels)
            images.withUnsafeMutableBufferPointer { all in
                scratch.withUnsafeMutableBufferPointer { copy in
                    for k in 0..<n {
                        let d = Dihedral.random(using: &rng)  // drawn for every row: the same draws on every rank
                        guard d != .identity, kept.contains(k) else { continue }
                        let j = k - kept.lowerBound
                        let image = UnsafeMutableBufferPointer(rebasing: all[j * pixels..<(j + 1) * pixels])
                        _ = copy.update(fromContentsOf: image)
                        d.apply(UnsafeBufferPointer(copy), into: image, size: imageSize, planes: 5)
                    }
                }
            }
        }
        transform.apply(&images)
        return TrainingBatch(images: images, ebv: rows.ebv, zSpec: rows.zSpec, objectID: rows.objectID, rowsOfGlobalBatch: kept,
                             globalCount: n)
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
