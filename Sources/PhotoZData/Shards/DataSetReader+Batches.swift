/// How `DataSetReader.batches` orders the rows of a split.
public enum BatchOrder: Sendable, Equatable {
    /// Shard order, then row order. Batches run across shard boundaries; with `padded`, the
    /// last batch is filled up to the batch size with zero rows (`DataBatch.count` tells the
    /// real ones), so a network never sees another batch size (prediction, validation).
    case sequential(padded: Bool)
    /// Shard order, then row order, but no batch spans two shards: a shard's last batch may be
    /// short. For outputs that mirror their source shards (attacks) and per-batch seeds.
    case perShard
    /// Epoch `epoch` of training: every row of the split once, in an order that depends only
    /// on (`seed`, `epoch`) — shards in shuffled order, each read in blocks of
    /// `shuffleBlockRows` rows in shuffled order, drawn at random from a buffer of
    /// `bufferRows` rows. Batch b of epoch e is the same whatever came before, so a run resumed
    /// at a step sees the batches an uninterrupted run sees. Only whole batches are produced
    /// (rows / batch size of them).
    case shuffled(seed: UInt64, epoch: Int, bufferRows: Int)
}

/// A batch of rows, of the columns asked for.
public struct DataBatch: Sendable {
    public var rows: ShardRows
    /// Real rows; `rows.count` is larger when the batch was padded.
    public var count: Int
    /// Position of the batch in its order (from 0; within the epoch for a shuffled order).
    public var index: Int
    /// Index in `DataSetReader.shards` of the shard the rows come from (`.perShard` order).
    public var shard: Int?
}

/// The batches of a sequential order as row ranges of shards, for reading in any order
/// (e.g. a universal perturbation's passes over batches in shuffled order).
public struct BatchPlan: Sendable {
    public struct Span: Sendable {
        /// Index in `DataSetReader.shards`.
        public var shard: Int
        public var rows: Range<Int>
    }
    public let batches: [[Span]]
    /// Real rows over all batches.
    public let rows: Int
    public let batchSize: Int
    public let padded: Bool
    public var count: Int { batches.count }
    public var indices: Range<Int> { batches.indices }
}

extension DataSetReader {
    /// Rows per block read from a shard in the shuffled order.
    public static let shuffleBlockRows = 64

    /// The batches of `split` (nil: all rows) in a sequential order, as row ranges, limited to
    /// its first `maxRows` rows. Throws, naming `purpose`, when the split is empty.
    public func plan(split: Split?, order: BatchOrder, batchSize: Int, maxRows: Int? = nil, purpose: String) throws -> BatchPlan {
        precondition(batchSize > 0, "batch size must be positive")
        if let maxRows, maxRows < 1 { throw PhotoZDataError.invalidOption("the row limit \(maxRows) must be at least 1") }
        try requireRows(in: split, purpose: purpose)
        var batches: [[BatchPlan.Span]] = []
        var current: [BatchPlan.Span] = [], filled = 0, left = maxRows ?? Int.max, total = 0
        let crossing: Bool, padded: Bool
        switch order {
        case let .sequential(p): (crossing, padded) = (true, p)
        case .perShard: (crossing, padded) = (false, false)
        case .shuffled: preconditionFailure("a shuffled order has no plan; use batches(split:order:…)")
        }
        for s in shardIndices(in: split) where left > 0 {
            let end = min(shards[s].rows, left)
            var start = 0
            while start < end {
                let take = min(batchSize - filled, end - start)
                current.append(BatchPlan.Span(shard: s, rows: start..<start + take))
                filled += take
                start += take
                if filled == batchSize || !crossing && start == end {
                    batches.append(current)
                    current = []
                    filled = 0
                }
            }
            left -= end
            total += end
        }
        if !current.isEmpty { batches.append(current) }
        return BatchPlan(batches: batches, rows: total, batchSize: batchSize, padded: padded)
    }

    /// Reads batch `k` of `plan`: its rows of `columns` (padded with zero rows if the plan is).
    public func read(_ plan: BatchPlan, batch k: Int, columns: [ShardColumn] = ShardSchema.requiredColumns) throws -> DataBatch {
        var rows = ShardRows(imageSize: imageSize, columns: columns, capacity: plan.padded ? plan.batchSize : 0)
        for span in plan.batches[k] { try opened[span.shard].read(rows: span.rows, appendingTo: &rows) }
        let count = rows.count
        if plan.padded && count < plan.batchSize { rows.appendZeros(plan.batchSize - count) }
        let shards = Set(plan.batches[k].map(\.shard))
        return DataBatch(rows: rows, count: count, index: k, shard: shards.count == 1 ? shards.first : nil)
    }

    /// The batches of `split` (nil: all rows) in `order`, of `columns` only. `maxRows` limits a
    /// sequential order to the first rows; `startBatch` skips a shuffled epoch's first batches
    /// (drawn, not returned: the next ones are those of an uninterrupted epoch).
    public func batches(split: Split?, order: BatchOrder, batchSize: Int, columns: [ShardColumn] = ShardSchema.requiredColumns,
                        maxRows: Int? = nil, startBatch: Int = 0, purpose: String) throws -> DataBatches {
        if case let .shuffled(seed, epoch, bufferRows) = order {
            let infos = try requireRows(in: split, purpose: purpose)
            let rows = infos.reduce(0) { $0 + $1.rows }
            guard rows >= batchSize else {
                throw PhotoZDataError.invalidOption("\(path): the \(split?.rawValue ?? "whole") split has \(rows) rows, fewer than the batch size \(batchSize); use a smaller batch")
            }
            let state = ShuffledEpoch(reader: self, shards: shardIndices(in: split), seed: seed, epoch: epoch, batchSize: batchSize,
                                      bufferRows: max(bufferRows, batchSize), columns: columns, skip: startBatch, rows: rows)
            return DataBatches(count: rows / batchSize, rows: rows / batchSize * batchSize, source: .shuffled(state))
        }
        let plan = try plan(split: split, order: order, batchSize: batchSize, maxRows: maxRows, purpose: purpose)
        return DataBatches(count: plan.count, rows: plan.rows, source: .planned(self, plan, columns, next: 0))
    }
}

/// The batches of one order, read one at a time: `while let batch = try batches.next() { … }`.
public final class DataBatches {
    /// Batches in all.
    public let count: Int
    /// Real rows in all.
    public let rows: Int
    fileprivate enum Source {
        case planned(DataSetReader, BatchPlan, [ShardColumn], next: Int)
        case shuffled(ShuffledEpoch)
    }
    private var source: Source

    fileprivate init(count: Int, rows: Int, source: Source) {
        self.count = count
        self.rows = rows
        self.source = source
    }

    /// The next batch, nil after the last.
    public func next() throws -> DataBatch? {
        switch source {
        case let .planned(reader, plan, columns, k):
            guard k < plan.count else { return nil }
            source = .planned(reader, plan, columns, next: k + 1)
            return try reader.read(plan, batch: k, columns: columns)
        case let .shuffled(epoch):
            return try epoch.next()
        }
    }
}

/// One epoch of the shuffled order (see `BatchOrder.shuffled`). The draws of the generator,
/// and so the order, are exactly those of photoz 0.1's training stream.
private final class ShuffledEpoch {
    private let reader: DataSetReader
    private var rng: ShuffleGenerator
    private var order: [Int]
    private var blocks: [Int] = []
    private var shardPosition = -1
    private var blockPosition = 0
    private var buffer: ShardRows
    private var pending: ShardRows
    private let batchSize: Int, bufferRows: Int, skip: Int, steps: Int
    private var batchIndex = 0

    init(reader: DataSetReader, shards: [Int], seed: UInt64, epoch: Int, batchSize: Int, bufferRows: Int, columns: [ShardColumn],
         skip: Int, rows: Int) {
        self.reader = reader
        rng = ShuffleGenerator(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(epoch + 1))
        order = shards
        order.shuffle(using: &rng)
        buffer = ShardRows(imageSize: reader.imageSize, columns: columns, capacity: bufferRows + DataSetReader.shuffleBlockRows)
        pending = ShardRows(imageSize: reader.imageSize, columns: columns, capacity: batchSize)
        self.batchSize = batchSize
        self.bufferRows = bufferRows
        self.skip = skip
        steps = rows / batchSize
    }

    func next() throws -> DataBatch? {
        while true {
            if pending.count == batchSize {
                defer { batchIndex += 1 }
                if batchIndex < skip { pending.removeAll(); continue }
                var rows = ShardRows(imageSize: reader.imageSize, columns: pending.columns, capacity: batchSize)
                swap(&rows, &pending)
                return DataBatch(rows: rows, count: batchSize, index: batchIndex, shard: nil)
            }
            if buffer.count > bufferRows { draw(); continue }
            if blockPosition < blocks.count {
                let shard = reader.opened[order[shardPosition]]
                let start = blocks[blockPosition]
                blockPosition += 1
                try shard.read(rows: start..<min(start + DataSetReader.shuffleBlockRows, shard.rows), appendingTo: &buffer)
                continue
            }
            if shardPosition + 1 < order.count {
                shardPosition += 1
                blocks = Array(stride(from: 0, to: reader.opened[order[shardPosition]].rows, by: DataSetReader.shuffleBlockRows))
                blocks.shuffle(using: &rng)
                blockPosition = 0
                continue
            }
            guard buffer.count > 0 && batchIndex < steps else { return nil }
            draw()
        }
    }

    /// Moves a random row of the buffer to the batch being filled.
    private func draw() {
        let k = Int(rng.next() % UInt64(buffer.count))
        buffer.moveRow(k, to: &pending)
    }
}

/// SplitMix64, bit for bit the generator of `NeuralNet.SplitMix64` that photoz 0.1's training
/// stream shuffled with (this target does not depend on NeuralNet): the same seeds give the
/// same orders as before.
struct ShuffleGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
