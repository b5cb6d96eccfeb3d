import Foundation

/// Writes the rows of one split as numbered shards (`train-00000.h5`, …) of at most
/// `shardSize` rows each; each finished shard is handed to `hasher`, when given.
final class SplitShardWriter {
    let split: Split
    private let directory: String
    private let shardSize: Int
    private let attributes: ShardAttributes
    private let compression: ShardCompression
    private let hasher: ShardHasher?
    /// Rows the split will most likely receive (objects not yet read may still be skipped).
    private let expectedRows: Int?
    private var current: ShardWriter?
    private(set) var written: [(file: String, rows: Int)] = []

    init(split: Split, directory: String, shardSize: Int, attributes: ShardAttributes, compression: ShardCompression,
         hasher: ShardHasher? = nil, expectedRows: Int? = nil) {
        self.split = split
        self.directory = directory
        self.shardSize = shardSize
        var attributes = attributes
        attributes.split = split
        self.attributes = attributes
        self.compression = compression
        self.hasher = hasher
        self.expectedRows = expectedRows
    }

    /// Adds rows, starting new shards as they fill.
    func append(_ batch: ShardBatch) throws {
        try batch.images.withUnsafeBufferPointer { try append(batch, images: $0) }
    }

    /// Adds the rows of `batch` whose images are `rowImages` (see `ShardWriter.append(_:images:)`).
    func append(_ batch: ShardBatch, images rowImages: UnsafeBufferPointer<Float>) throws {
        var offset = 0
        while offset < batch.count {
            if current == nil {
                let name = split.rawValue + String(format: "-%05d.h5", written.count)
                let planned = expectedRows.map { min(shardSize, $0 - written.reduce(0) { $0 + $1.rows }) }
                current = try ShardWriter(path: (directory as NSString).appendingPathComponent(name), attributes: attributes,
                                          compression: compression.hdf5, plannedRows: planned)
            }
            let take = min(shardSize - rowsInCurrent, batch.count - offset)
            let images = UnsafeBufferPointer(rebasing: rowImages[offset * batch.pixelsPerImage..<(offset + take) * batch.pixelsPerImage])
            if take == batch.count {
                try current!.append(batch, images: images)
            } else {
                var part = ShardBatch(imageSize: batch.imageSize)
                part.appendWithoutImages(rows: offset..<offset + take, of: batch)
                try current!.append(part, images: images)
            }
            offset += take
            rowsInCurrent += take
            if rowsInCurrent == shardSize { try closeCurrent() }
        }
    }

    /// Rows given to the current shard (written or buffered).
    private var rowsInCurrent = 0

    private func closeCurrent() throws {
        guard let writer = current else { return }
        let rows = try writer.finish()
        written.append(((writer.path as NSString).lastPathComponent, rows))
        if let sha256 = writer.sha256 { hasher?.record(writer.path, sha256: sha256) } else { hasher?.submit(writer.path) }
        current = nil
        rowsInCurrent = 0
    }

    /// Closes the last shard.
    func finish() throws { try closeCurrent() }

    /// Drops the shard being written (on error).
    func abandon() { current?.abandon(); current = nil }
}
