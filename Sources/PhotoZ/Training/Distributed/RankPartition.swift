// RankPartition: which rows of a global batch, or which objects of a split, each rank handles.

/// Contiguous shares of `count` items among `ranks` processes: rows of a global training batch,
/// or objects to predict or attack.
///
/// Rank r gets `range(of: r)`; the first `count % ranks` ranks get one item more, so shares
/// differ by at most one and concatenating them in rank order gives `0..<count` (what a gather
/// to rank 0 rebuilds). When there are more ranks than items, the last ranks get empty ranges:
/// they still take part in every collective (with a weight of 0 in the gradient average), so
/// they neither hang the others nor crash.
///
/// Training: the global batch of step s is the one a single process reads for (seed, epoch,
/// step) — the data order does not depend on the number of ranks — and rank r trains on rows
/// `range(of: r)` of it, with `weight(of: r)` in the gradient average, so N ranks follow the
/// same trajectory as one process with the same `--batch-size` (up to floating-point order).
public struct RankPartition: Sendable, Equatable {
    /// The number of items shared out.
    public let count: Int
    /// The number of ranks.
    public let ranks: Int

    public init(count: Int, ranks: Int) {
        precondition(count >= 0, "RankPartition: a negative count (\(count))")
        precondition(ranks >= 1, "RankPartition: at least one rank (got \(ranks))")
        self.count = count
        self.ranks = ranks
    }

    /// The items of `rank`: `count / ranks` of them, one more for the first `count % ranks` ranks.
    public func range(of rank: Int) -> Range<Int> {
        precondition((0..<ranks).contains(rank), "RankPartition: rank \(rank) of \(ranks)")
        let base = count / ranks, extra = count % ranks
        let start = rank * base + min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }

    /// The weight of `rank`'s mean gradient in the global batch's mean gradient: its rows over
    /// all rows (0 for a rank without rows, and for an empty batch).
    ///
    /// Each rank's loss is the mean over its own rows, so the global mean gradient is
    /// Σ_r (n_r / B) · g_r; equal weights 1/N would overweight the smaller shares when B is not a
    /// multiple of N.
    public func weight(of rank: Int) -> Float {
        count == 0 ? 0 : Float(range(of: rank).count) / Float(count)
    }

    /// The rank that handles item `index`.
    public func rank(of index: Int) -> Int {
        precondition((0..<count).contains(index), "RankPartition: item \(index) of \(count)")
        let base = count / ranks, extra = count % ranks
        let bigRanks = extra * (base + 1)  // the items of the ranks with one more
        return index < bigRanks ? index / (base + 1) : extra + (index - bigRanks) / base
    }
}
