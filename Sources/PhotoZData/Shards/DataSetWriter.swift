import Foundation
import HDF5
import SafeOutput

/// Writes a data set: a folder of shards and its `manifest.json`. Producers (ingest, attack…)
/// only hand it rows: `append(rows, split:)` … `finish() -> Manifest`.
///
/// It alone owns what makes the folder trustworthy: the staging folder beside the target
/// (nothing is visible at the target until `finish`), the per-split shard writers and their
/// names (`train-00000.h5`, …), the shard provenance attributes, the checksums (computed while
/// writing where possible, else on a background thread while the next shard is written), the
/// manifest, and the swap that puts the finished folder in place — the previous output stays
/// intact until then, and a failed or abandoned run leaves nothing behind.
public final class DataSetWriter {
    /// How the data set is written.
    public struct Options {
        public var imageSize: Int
        /// Rows per shard at most.
        public var shardSize: Int = 1000
        public var compression: ShardCompression = .gzip(4)
        /// Provenance and settings of every shard (its `split` is set per shard).
        public var attributes = ShardAttributes()
        /// Optional columns of the schema to write besides the required ones (e.g. `perturbation`).
        public var optionalColumns: [ShardColumn] = []
        /// Rows each split will most likely receive: lets uncompressed shards reserve their
        /// storage and be hashed while written.
        public var expectedRows: [Split: Int] = [:]
        /// Replace an existing non-empty target.
        public var overwrite = false

        public init(imageSize: Int) { self.imageSize = imageSize }
    }

    public let target: String
    public private(set) var options: Options
    private let staging: StagedFolder
    private let hasher = ShardHasher()
    private var splits: [Split: SplitShards] = [:]
    private var done = false

    /// Prepares to write the data set at `target` (a folder). Throws when `target` exists and
    /// is not empty unless `options.overwrite`.
    public init(target: String, options: Options) throws {
        guard options.shardSize >= 1 else { throw PhotoZDataError.invalidOption("--shard-size \(options.shardSize): a shard holds at least one row") }
        guard (1...ShardSchema.maxImageSize).contains(options.imageSize) else {
            throw PhotoZDataError.invalidOption("image size \(options.imageSize): photoz writes images of 1 to \(ShardSchema.maxImageSize) pixels a side")
        }
        precondition(options.optionalColumns.allSatisfy { $0.presence == .optional }, "optionalColumns lists a required column")
        let url = URL(fileURLWithPath: target).standardizedFileURL
        self.target = url.path
        self.options = options
        // SafeOutput owns the staging folder, the swap and the rule that `overwrite` replaces only
        // a data set photoz wrote (a folder with photoz's manifest), never an arbitrary folder.
        staging = try StagedFolder(target: url.path, replacing: options.overwrite ? .ifRecognised(Manifest.isDataSet) : .never)
    }

    deinit { abandon() }

    /// Replaces the `inputs` attribute of the shards, in the open ones too, until the first shard
    /// is closed: for a producer that learns a checksum of its inputs after it began writing
    /// (convert hashes its source while its first rows are compressed). A shard closes when it
    /// holds `options.shardSize` rows (or at `endShard`/`finish`).
    public func setShardInputs(_ text: String) throws {
        precondition(!done && splits.values.allSatisfy { $0.written.isEmpty }, "shard inputs set after a shard was closed")
        options.attributes.inputs = text
        for s in splits.values { try s.setInputs(text) }
    }

    /// Seconds `finish` spent waiting for the disk to make the data set durable (SafeOutput's
    /// `syncfs` before the swap); 0 before `finish`. Part of the run, shown apart in reports.
    public var durabilitySyncSeconds: Double { staging.syncSeconds }

    /// Where a file that belongs to the data set besides its shards (a report, a perturbation
    /// file) is written before `finish`; it moves into place with the shards.
    public func stagedPath(_ name: String) -> String { (staging.path as NSString).appendingPathComponent(name) }

    /// The final path of `name` inside the data set once finished.
    public func finalPath(_ name: String) -> String { (target as NSString).appendingPathComponent(name) }

    /// Adds rows to `split`; they must hold every column written (the required ones and
    /// `options.optionalColumns`). New shards start as shards fill.
    public func append(_ rows: ShardRows, split: Split) throws {
        try rows.images.withUnsafeBufferPointer { try append(rows, images: $0, split: split) }
    }

    /// Adds rows whose images are `images` (the rows' own `images` column, if any, is not
    /// used): ingest's fast path, writing chunks straight from its read buffers.
    func append(_ rows: ShardRows, images: UnsafeBufferPointer<Float>, split: Split) throws {
        precondition(!done, "append after finish or abandon")
        precondition(rows.imageSize == options.imageSize, "rows of \(rows.imageSize)-pixel images for a data set of \(options.imageSize)")
        try shards(of: split).append(rows, images: images)
    }

    /// Ends the current shard of `split`; its next rows start a new shard, with `attributes`
    /// when given (e.g. an adversarial shard's source) instead of `options.attributes`.
    public func endShard(split: Split, nextAttributes: ShardAttributes? = nil) throws {
        let s = shards(of: split)
        try s.closeCurrent()
        s.nextAttributes = nextAttributes
    }

    /// Closes the last shards, hashes them, lets `describe` fill in the manifest (its `shards`
    /// and `rows` are set here from what was written), writes it and moves the folder into place.
    @discardableResult
    public func finish(_ describe: (_ shards: [Manifest.ShardEntry]) throws -> Manifest) throws -> Manifest {
        precondition(!done, "finish twice")
        do {
            for split in Split.allCases { try splits[split]?.closeCurrent() }
            var entries: [Manifest.ShardEntry] = []
            for split in Split.allCases {
                for shard in splits[split]?.written ?? [] {
                    let sum = try hasher.result(for: stagedPath(shard.file))
                    entries.append(Manifest.ShardEntry(file: shard.file, split: split, rows: shard.rows, sha256: sum.sha256, bytes: sum.bytes))
                }
            }
            var manifest = try describe(entries)
            manifest.shards = entries
            manifest.rows = Dictionary(uniqueKeysWithValues: Split.allCases.map { split in
                (split.rawValue, entries.filter { $0.split == split }.reduce(0) { $0 + $1.rows })
            })
            manifest.imageSize = options.imageSize
            manifest.bands = options.attributes.bands
            try manifest.write(directory: staging.path)
            hasher.drain()
            try staging.commit()
            done = true
            return manifest
        } catch {
            abandon()
            throw error
        }
    }

    /// Stops without keeping anything (also done when the writer is released unfinished).
    public func abandon() {
        guard !done else { return }
        done = true
        for s in splits.values { s.abandon() }
        hasher.drain()
        staging.discard()
    }

    private func shards(of split: Split) -> SplitShards {
        if let s = splits[split] { return s }
        var attributes = options.attributes
        attributes.imageSize = options.imageSize
        let s = SplitShards(split: split, directory: staging.path, options: options, attributes: attributes, hasher: hasher)
        splits[split] = s
        return s
    }
}

/// The shards of one split, numbered `train-00000.h5`, … of at most `shardSize` rows each;
/// each finished shard goes to the hasher.
private final class SplitShards {
    let split: Split
    private let directory: String
    private let options: DataSetWriter.Options
    private var attributes: ShardAttributes
    private let hasher: ShardHasher
    var nextAttributes: ShardAttributes?
    private var current: ShardWriter?
    private var rowsInCurrent = 0
    private(set) var written: [(file: String, rows: Int)] = []

    init(split: Split, directory: String, options: DataSetWriter.Options, attributes: ShardAttributes, hasher: ShardHasher) {
        self.split = split
        self.directory = directory
        self.options = options
        self.attributes = attributes
        self.hasher = hasher
    }

    func append(_ batch: ShardRows, images rowImages: UnsafeBufferPointer<Float>) throws {
        var offset = 0
        let p = batch.pixelsPerImage
        while offset < batch.count {
            if current == nil { try open() }
            let take = min(options.shardSize - rowsInCurrent, batch.count - offset)
            let images = UnsafeBufferPointer(rebasing: rowImages[offset * p..<(offset + take) * p])
            if take == batch.count {
                try current!.append(batch, images: images)
            } else {
                try current!.append(batch.keeping(batch.columns.filter { $0.name != ShardSchema.images }).rows(offset..<offset + take), images: images)
            }
            offset += take
            rowsInCurrent += take
            if rowsInCurrent == options.shardSize { try closeCurrent() }
        }
    }

    private func open() throws {
        let name = split.rawValue + String(format: "-%05d.h5", written.count)
        var a = nextAttributes ?? attributes
        a.imageSize = options.imageSize
        a.split = split
        nextAttributes = nil
        let planned = options.expectedRows[split].map { min(options.shardSize, $0 - written.reduce(0) { $0 + $1.rows }) }
        current = try ShardWriter(path: (directory as NSString).appendingPathComponent(name), attributes: a,
                                  compression: options.compression.hdf5, optionalColumns: options.optionalColumns, plannedRows: planned)
    }

    func closeCurrent() throws {
        guard let writer = current else { return }
        current = nil
        rowsInCurrent = 0
        let rows = try writer.finish()
        written.append(((writer.path as NSString).lastPathComponent, rows))
        if let sha256 = writer.sha256 { hasher.record(writer.path, sha256: sha256) } else { hasher.submit(writer.path) }
    }

    func abandon() { current?.abandon(); current = nil }

    /// The `inputs` of the shards to come and of the open one (see `DataSetWriter.setShardInputs`).
    func setInputs(_ text: String) throws {
        attributes.inputs = text
        try current?.replaceRootAttribute(ShardSchema.Attribute.inputs, .string(text))
    }
}
