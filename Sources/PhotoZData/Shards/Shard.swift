import Foundation
import HDF5

/// A shard opened for reading, its schema checked and its declared sizes bounded.
///
/// Opening fails with a message naming the file when the file is not a photoz shard, is of
/// another schema version, its datasets are not row-aligned, or what it declares (rows, image
/// size) cannot be true of a file of its size: nothing is ever allocated from a declared shape
/// that has not passed these checks. Reads go through `read(_:rows:appendingTo:)`, which first
/// checks that the file is still the one opened (see `FileIdentity`).
public final class Shard: @unchecked Sendable {
    public let path: String
    public let file: HDF5File
    public let rows: Int
    public let imageSize: Int
    public let split: Split?
    /// The optional columns this shard holds (e.g. `perturbation`).
    public let optionalColumns: [ShardColumn]
    /// `schema_minor_version` (0 when absent: written before `labelled` existed).
    public let minorVersion: Int64
    /// Device, inode, size and modification time when opened (or last verified).
    public var identity: FileIdentity { lock.withLock { verified } }
    /// The SHA-256 the manifest lists for this shard, if any.
    public let expectedSHA256: String?
    private var verified: FileIdentity
    private let lock = NSLock()

    /// Opens the shard at `path`; `expectedSHA256` (the manifest's) lets a file rewritten with
    /// the same bytes be told from one replaced by other data.
    public init(path: String, expectedSHA256: String? = nil) throws {
        self.path = path
        self.expectedSHA256 = expectedSHA256
        let identity = try FileIdentity(path: path)
        verified = identity
        file = try HDF5File.open(path, readOnly: true)
        let root = file.root
        guard case let .string(schema)? = try root.attribute(ShardSchema.Attribute.schema) else {
            throw PhotoZDataError.schema(path: path, message: "not a photoz shard: no root attribute 'schema' (expected '\(ShardSchema.name)')")
        }
        guard schema == ShardSchema.name else {
            throw PhotoZDataError.schema(path: path, message: "schema is '\(schema)', not '\(ShardSchema.name)'")
        }
        guard case let .int64(version)? = try root.attribute(ShardSchema.Attribute.schemaVersion) else {
            throw PhotoZDataError.schema(path: path, message: "no integer root attribute 'schema_version'")
        }
        guard version == ShardSchema.version else {
            throw PhotoZDataError.schema(path: path, message: "shard schema version \(version); this photoz reads version \(ShardSchema.version): re-ingest the data with this version")
        }
        if case let .int64(minor)? = try root.attribute(ShardSchema.Attribute.schemaMinorVersion) { minorVersion = minor } else { minorVersion = 0 }
        let layout = try ShardLayout(path: path, root: root, fileBytes: identity.size)
        rows = layout.rows
        imageSize = layout.imageSize
        optionalColumns = layout.optionalColumns
        if case let .string(s)? = try root.attribute(ShardSchema.Attribute.split) { split = Split(rawValue: s) } else { split = nil }
    }

    /// Every column this shard holds.
    public var columns: [ShardColumn] { ShardSchema.requiredColumns + optionalColumns }

    /// The column's dataset, opened for one read: an open dataset keeps up to 1 MiB of chunks
    /// in HDF5's cache, which for every column of every shard of a data set held open by a
    /// reader would add up; opening one costs microseconds.
    private func dataset(_ column: ShardColumn) throws -> HDF5Dataset { try file.root.dataset(column.name) }

    /// Throws when the file at `path` is no longer the one opened (replaced, rewritten or
    /// truncated): its device, inode, size or modification time changed, and — when the
    /// manifest gives its checksum — its bytes are no longer the ones listed.
    public func checkUnchanged() throws {
        let before = identity
        let now = try? FileIdentity(path: path)
        guard now != before else { return }
        if let now, now.size == before.size, let expectedSHA256, (try? SHA256.hexDigest(ofFile: path)) == expectedSHA256 {
            lock.withLock { verified = now }  // the same bytes written again (e.g. copied back): what was read still holds
            return
        }
        throw PhotoZDataError.io(path: path, message: "the shard was replaced or modified while being read (\(before.change(to: now))\(expectedSHA256 == nil ? "" : ", and its bytes no longer match manifest.json's SHA-256")); stop whatever writes this data set and re-run")
    }

    /// Appends rows `range` of the columns of `rows` to it (which must hold only columns this
    /// shard has), reading straight into its storage. On error `rows` is left as it was.
    public func read(rows range: Range<Int>, appendingTo target: inout ShardRows) throws {
        precondition(target.imageSize == imageSize, "the rows hold \(target.imageSize)-pixel images, the shard \(imageSize)")
        guard range.lowerBound >= 0, range.upperBound <= rows else {
            throw PhotoZDataError.schema(path: path, message: "rows \(range.lowerBound)..<\(range.upperBound) asked for, the shard has \(rows)")
        }
        try checkUnchanged()
        var done: [ShardColumn] = []
        do {
            for c in target.columns {
                if c.name == ShardSchema.labelled && !columns.contains(c) {
                    try readDerivedLabels(rows: range, appendingTo: &target)
                    done.append(c)
                    continue
                }
                if c.name == ShardSchema.wcs && !columns.contains(c) {  // no WCS stored: none known (NaN rows)
                    try target.appendFilling(c, rows: range.count) { buffer in
                        guard case let .float64(b) = buffer else { preconditionFailure("wcs is a float64 column") }
                        b.update(repeating: .nan)
                    }
                    done.append(c)
                    continue
                }
                guard columns.contains(c) else {
                    throw PhotoZDataError.schema(path: path, message: "dataset \(c) is missing (it holds \(columns.map(\.description).joined(separator: ", ")))")
                }
                let dataset = try dataset(c)
                try target.appendFilling(c, rows: range.count) { buffer in
                    switch buffer {
                    case let .float32(b): try dataset.readRows(range, into: b)
                    case let .float64(b): try dataset.readRows(range, into: b)
                    case let .int64(b): try dataset.readRows(range, into: b)
                    }
                }
                done.append(c)
            }
        } catch {
            for c in done { target.dropLast(range.count, of: c) }
            throw error
        }
    }

    /// `labelled` of a shard without the column (minor version 0, or written by a stage that did
    /// not carry it): 1 where z_spec is finite. Shards of minor version 0 never hold a
    /// non-finite z_spec, so all their rows are labelled.
    private func readDerivedLabels(rows range: Range<Int>, appendingTo target: inout ShardRows) throws {
        let z = try file.root.dataset(ShardSchema.zSpec)
        var values = [Float](repeating: 0, count: range.count)
        try values.withUnsafeMutableBufferPointer { try z.readRows(range, into: $0) }
        try target.appendFilling(ShardSchema.column(ShardSchema.labelled)!, rows: range.count) { buffer in
            guard case let .int64(b) = buffer else { preconditionFailure("labelled is an int64 column") }
            for k in values.indices { b[k] = values[k].isFinite ? 1 : 0 }
        }
    }

    /// Reads rows `range` of `columns` (default: the required columns).
    public func read(rows range: Range<Int>, columns: [ShardColumn] = ShardSchema.requiredColumns) throws -> ShardRows {
        var out = ShardRows(imageSize: imageSize, columns: columns, capacity: range.count)
        try read(rows: range, appendingTo: &out)
        return out
    }

    /// Reads images of `range` into a (count, 5, S, S) buffer.
    public func readImages(_ range: Range<Int>, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        try checkUnchanged()
        try dataset(ShardSchema.column(ShardSchema.images)!).readRows(range, into: buffer)
    }

    /// Reads a whole scalar column, in blocks (its row count is bounded at opening).
    public func scalarColumn(_ name: String) throws -> ShardRows {
        guard let c = ShardSchema.column(name), c.shape == .scalar else { preconditionFailure("/\(name) is not a scalar column") }
        return try scalarColumn(c)
    }

    /// Reads a whole scalar column (of the table, or a catalog column), in blocks.
    public func scalarColumn(_ c: ShardColumn) throws -> ShardRows {
        precondition(c.shape == .scalar, "\(c) is not a scalar column")
        var out = ShardRows(imageSize: imageSize, columns: [c], capacity: rows)
        for start in stride(from: 0, to: rows, by: 65536) { try read(rows: start..<min(start + 65536, rows), appendingTo: &out) }
        return out
    }

    /// Reads a whole 1-D float32 column (`z_spec`, `z_spec_err`, `ebv`).
    public func floatColumn(_ name: String) throws -> [Float] { try scalarColumn(name)[float32: name] }
    /// Reads the `object_id` column.
    public func objectIDs() throws -> [Int64] { try scalarColumn(ShardSchema.objectID).objectID }

    /// A root attribute as text, for display.
    public func attributeText(_ name: String) throws -> String? {
        try file.root.attribute(name).map(PhotoZData.attributeText)
    }
}

/// The row count and image size a shard's datasets declare, checked against each other, the
/// `rows` and `image_size` attributes and the file's size before anything is read.
struct ShardLayout {
    let rows: Int
    let imageSize: Int
    let optionalColumns: [ShardColumn]

    init(path: String, root: HDF5Group, fileBytes: Int) throws {
        func fail(_ message: String) -> PhotoZDataError { .schema(path: path, message: message) }
        for c in ShardSchema.requiredColumns where !root.contains(c.name) { throw fail("dataset \(c) is missing") }
        let shape = try root.dataset(ShardSchema.images).shape
        guard shape.count == 4, shape[1] == Band.allCases.count, shape[2] == shape[3] else {
            throw fail("/images has shape \(shape); expected (N, 5, S, S)")
        }
        let rows = shape[0], size = shape[2]
        guard size >= 1, size <= ShardSchema.maxImageSize else {
            throw fail("/images declares \(size)×\(size)-pixel images; photoz reads 1 to \(ShardSchema.maxImageSize) pixels a side: the file is damaged or not a photoz shard")
        }
        if case let .int64(declared)? = try root.attribute(ShardSchema.Attribute.imageSize), declared != Int64(size) {
            throw fail("/images is \(size)×\(size) but the root attribute image_size says \(declared): the file is damaged")
        }
        if case let .int64(declared)? = try root.attribute(ShardSchema.Attribute.rows), declared != Int64(rows) {
            throw fail("/images has \(rows) rows but the root attribute rows says \(declared): the file is damaged or its writer did not finish")
        }
        var optional: [ShardColumn] = []
        var rowBytes = 0
        for c in try ShardSchema.columns.filter({ root.contains($0.name) }) + Self.catalogColumns(root, fail) {
            let d = try root.dataset(c.name)
            let expected = c.shape.datasetShape(rows: rows, imageSize: size)
            let found = try d.shape
            guard found == expected else {
                throw fail("\(c) has shape \(found), expected \(expected) (the rows of /images): the datasets are not row-aligned")
            }
            let type = try d.elementType
            guard type == c.kind.hdf5 else { throw fail("\(c) holds \(type) values, expected \(c.kind.rawValue)") }
            if c.presence == .optional { optional.append(c) }
            rowBytes += c.rowBytes(imageSize: size)
        }
        // Declared rows × their bytes must fit in the file's bytes × deflate's best ratio; a
        // huge declared shape in a small file is refused here rather than read.
        let (stored, overflow) = rows.multipliedReportingOverflow(by: rowBytes)
        let (room, roomOverflow) = max(fileBytes, 0).multipliedReportingOverflow(by: ShardSchema.maxCompressionRatio)
        if overflow || (!roomOverflow && stored > room) {
            throw fail("declares \(rows) rows of \(rowBytes) bytes but the file has only \(fileBytes) bytes: the file is damaged or not a photoz shard")
        }
        self.rows = rows
        imageSize = size
        optionalColumns = optional
    }

    /// The catalog columns kept by `ingest --keep-columns`: the datasets of group `catalog`,
    /// int64 (with text `categories` when they are codes) or float64.
    static func catalogColumns(_ root: HDF5Group, _ fail: (String) -> PhotoZDataError) throws -> [ShardColumn] {
        guard root.contains(ShardColumn.catalogGroup) else { return [] }
        let group = try root.group(ShardColumn.catalogGroup)
        var columns: [ShardColumn] = []
        for name in try group.memberNames().sorted() {
            guard try group.isDataset(name) else { throw fail("/catalog/\(name) is a group; /catalog holds only per-row columns") }
            let d = try group.dataset(name)
            let kind: ShardColumn.ElementKind
            switch try d.elementType {
            case .int64: kind = .int64
            case .float64: kind = .float64
            case let other: throw fail("/catalog/\(name) holds \(other) values; catalog columns are int64 or float64")
            }
            var categories: [String]?
            if case let .strings(values)? = try d.attribute("categories") {
                guard kind == .int64 else { throw fail("/catalog/\(name) has categories but float64 values; codes are int64") }
                categories = values
            }
            var unit = ""
            if case let .string(u)? = try d.attribute("unit") { unit = u }
            columns.append(.catalog(name, kind, categories: categories, unit: unit))
        }
        return columns
    }
}

/// Device, inode, size and modification time of a file: what changes when it is replaced,
/// rewritten or truncated.
public struct FileIdentity: Equatable, Sendable {
    public let device: UInt64
    public let inode: UInt64
    public let size: Int
    /// Modification time, seconds and nanoseconds.
    public let modified: Int, modifiedNanoseconds: Int

    public init(path: String) throws {
        var s = stat()
        guard stat(path, &s) == 0 else {
            throw PhotoZDataError.io(path: path, message: "cannot read the file's status: \(String(cString: strerror(errno)))")
        }
        device = UInt64(s.st_dev)
        inode = UInt64(s.st_ino)
        size = Int(s.st_size)
        modified = Int(s.st_mtim.tv_sec)
        modifiedNanoseconds = Int(s.st_mtim.tv_nsec)
    }

    /// What differs from `other` (nil: the file is gone), for messages.
    func change(to other: FileIdentity?) -> String {
        guard let other else { return "the file is gone" }
        if other.device != device || other.inode != inode { return "another file now has its name" }
        if other.size != size { return "its size changed from \(size) to \(other.size) bytes" }
        return "its modification time changed"
    }
}
