import PhotoZData

/// The rows of a split cut into batches that never span two shards, optionally limited to
/// the first `maxRows` rows (in shard order). Batches are read on demand.
struct RowBatches {
    struct Batch {
        var shard: Int
        var rows: Range<Int>
    }

    let shards: [DataSet.ShardInfo]
    let batches: [Batch]
    /// Rows over all batches.
    let rows: Int

    init(dataSet: DataSet, split: Split?, batchSize: Int, maxRows: Int? = nil, purpose: String) throws {
        precondition(batchSize > 0, "batch size must be positive")
        if let maxRows, maxRows < 1 { throw PhotoZDataError.invalidOption("the row limit \(maxRows) must be at least 1") }
        shards = try dataSet.requireRows(in: split, purpose: purpose)
        var list: [Batch] = []
        var left = maxRows ?? Int.max
        for (s, info) in shards.enumerated() where left > 0 {
            let end = min(info.rows, left)
            for start in stride(from: 0, to: end, by: batchSize) { list.append(Batch(shard: s, rows: start..<min(start + batchSize, end))) }
            left -= end
        }
        batches = list
        rows = list.reduce(0) { $0 + $1.rows.count }
    }

    var count: Int { batches.count }
    var indices: Range<Int> { batches.indices }

    /// Reads batch `k` (opening its shard).
    func read(_ k: Int) throws -> ShardBatch {
        try Shard(path: shards[batches[k].shard].path).readBatch(batches[k].rows)
    }
}
