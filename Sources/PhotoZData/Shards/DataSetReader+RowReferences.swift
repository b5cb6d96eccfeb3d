// The shuffled order as row references, and reads of chosen rows: under mpirun each rank reads
// only its own rows of each global batch (issue 16), while the order stays that of one process.

/// A row of a data set: index in `DataSetReader.shards` and row in that shard.
public struct RowReference: Sendable, Hashable {
    public var shard: Int
    public var row: Int
    public init(shard: Int, row: Int) {
        self.shard = shard
        self.row = row
    }
}

/// A batch of the shuffled order as row references, before anything is read.
public struct RowBatch: Sendable {
    /// The rows of the batch, in batch order.
    public var rows: [RowReference]
    /// Position of the batch within its epoch (from 0).
    public var index: Int
}

extension DataSetReader {
    /// The batches of epoch `epoch` of `BatchOrder.shuffled(seed:epoch:bufferRows:)` as row
    /// references: exactly the rows, in exactly the order, that `batches(split:order:…)` reads
    /// for that order (the same generator draws, on a buffer of references instead of rows), but
    /// without reading anything. A caller then reads the rows it needs with `read(_:columns:)`.
    /// `startBatch` skips the epoch's first batches (drawn, not returned).
    public func shuffledRowBatches(split: Split?, seed: UInt64, epoch: Int, bufferRows: Int, batchSize: Int, startBatch: Int = 0,
                                   purpose: String) throws -> ShuffledRowBatches {
        precondition(batchSize > 0, "batch size must be positive")
        let infos = try requireRows(in: split, purpose: purpose)
        let rows = infos.reduce(0) { $0 + $1.rows }
        guard rows >= batchSize else {
            throw PhotoZDataError.invalidOption("\(path): the \(split?.rawValue ?? "whole") split has \(rows) rows, fewer than the batch size \(batchSize); use a smaller batch")
        }
        return ShuffledRowBatches(reader: self, shards: shardIndices(in: split), seed: seed, epoch: epoch, batchSize: batchSize,
                                  bufferRows: max(bufferRows, batchSize), skip: startBatch, rows: rows)
    }

    /// Reads `references` (rows of any shards, in any order, repeats allowed) of `columns`,
    /// returned in the order given.
    ///
    /// The rows of each shard are read in increasing order, rows less than an image chunk apart
    /// (`ShardSchema.chunkRows`) in one read, since HDF5 reads (and inflates) whole chunks
    /// anyway: a batch costs one read per run of nearby rows, not one per row. What is read
    /// at once is bounded by the number of references times a chunk.
    public func read(_ references: [RowReference], columns: [ShardColumn] = ShardSchema.requiredColumns) throws -> ShardRows {
        var out = ShardRows(imageSize: imageSize, columns: columns, capacity: references.count)
        guard !references.isEmpty else { return out }
        for r in references {
            guard opened.indices.contains(r.shard) else { preconditionFailure("row reference to shard \(r.shard) of \(opened.count)") }
        }
        // Sorted by (shard, row): the order the file is read in.
        let sorted = references.indices.sorted { (references[$0].shard, references[$0].row) < (references[$1].shard, references[$1].row) }
        var runs: [ShardRows] = []
        var location = [(run: Int, row: Int)](repeating: (0, 0), count: references.count)
        var k = 0
        while k < sorted.count {
            let shard = references[sorted[k]].shard
            let first = references[sorted[k]].row
            var last = first, end = k + 1
            while end < sorted.count, references[sorted[end]].shard == shard,
                  references[sorted[end]].row - last <= ShardSchema.chunkRows {
                last = references[sorted[end]].row
                end += 1
            }
            // `Shard.read` checks the rows against the shard's size (an error naming the file).
            runs.append(try opened[shard].read(rows: first..<(last + 1), columns: columns))
            for j in k..<end { location[sorted[j]] = (runs.count - 1, references[sorted[j]].row - first) }
            k = end
        }
        for (run, row) in location { out.append(rows: row..<(row + 1), of: runs[run]) }
        return out
    }
}

/// The batches of one shuffled epoch as row references: `while let batch = try batches.next() { … }`.
///
/// The draws are those of `ShuffledEpoch` (which reads the rows into its buffer): shards in
/// shuffled order, each in blocks of `DataSetReader.shuffleBlockRows` rows in shuffled order,
/// rows drawn at random from a buffer of `bufferRows` rows, the drawn row's place taken by the
/// buffer's last row. A test checks that both give the same batches.
public final class ShuffledRowBatches {
    /// Batches in the epoch.
    public let count: Int
    private let reader: DataSetReader
    private var rng: ShuffleGenerator
    private var order: [Int]
    private var blocks: [Int] = []
    private var shardPosition = -1
    private var blockPosition = 0
    private var buffer: [RowReference] = []
    private var pending: [RowReference] = []
    private let batchSize: Int, bufferRows: Int, skip: Int
    private var batchIndex = 0

    fileprivate init(reader: DataSetReader, shards: [Int], seed: UInt64, epoch: Int, batchSize: Int, bufferRows: Int, skip: Int, rows: Int) {
        self.reader = reader
        rng = ShuffleGenerator(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(epoch + 1))
        order = shards
        order.shuffle(using: &rng)
        buffer.reserveCapacity(bufferRows + DataSetReader.shuffleBlockRows)
        pending.reserveCapacity(batchSize)
        self.batchSize = batchSize
        self.bufferRows = bufferRows
        self.skip = skip
        count = rows / batchSize
    }

    /// The next batch, nil after the last.
    public func next() -> RowBatch? {
        while true {
            if pending.count == batchSize {
                defer { batchIndex += 1; pending.removeAll(keepingCapacity: true) }
                if batchIndex < skip { continue }
                return RowBatch(rows: pending, index: batchIndex)
            }
            if buffer.count > bufferRows { draw(); continue }
            if blockPosition < blocks.count {
                let shard = order[shardPosition]
                let start = blocks[blockPosition]
                blockPosition += 1
                for row in start..<min(start + DataSetReader.shuffleBlockRows, reader.opened[shard].rows) {
                    buffer.append(RowReference(shard: shard, row: row))
                }
                continue
            }
            if shardPosition + 1 < order.count {
                shardPosition += 1
                blocks = Array(stride(from: 0, to: reader.opened[order[shardPosition]].rows, by: DataSetReader.shuffleBlockRows))
                blocks.shuffle(using: &rng)
                blockPosition = 0
                continue
            }
            guard buffer.count > 0 && batchIndex < count else { return nil }
            draw()
        }
    }

    /// Moves a random row of the buffer to the batch being filled (its place taken by the last
    /// row, as `ShardRows.moveRow` does).
    private func draw() {
        let k = Int(rng.next() % UInt64(buffer.count))
        pending.append(buffer[k])
        buffer[k] = buffer[buffer.count - 1]
        buffer.removeLast()
    }
}
