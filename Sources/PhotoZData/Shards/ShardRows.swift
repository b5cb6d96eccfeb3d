/// Rows of a data set held in memory, column by column: the columns of `ShardSchema.columns`
/// chosen at creation (`columns`), each a flat array of its rows in order.
///
/// Reading, writing and reshuffling rows go through the column table, so a new column needs no
/// code here. Rows whose images are held elsewhere (ingest's read buffers) are simply rows
/// without the `images` column, handed over beside the images.
public struct ShardRows: Sendable {
    public let imageSize: Int
    /// The columns held, in table order.
    public let columns: [ShardColumn]
    // The values of each column held, by name and element type. (By name rather than by a
    // slot of the table: catalog columns kept by `--keep-columns` are not in the table.)
    private var f32: [String: [Float]] = [:]
    private var f64: [String: [Double]] = [:]
    private var i64: [String: [Int64]] = [:]

    /// Empty rows holding `columns` (default: the required columns): columns of
    /// `ShardSchema.columns` and catalog columns (`ShardColumn.catalog`), each once.
    public init(imageSize: Int, columns: [ShardColumn] = ShardSchema.requiredColumns, capacity: Int = 0) {
        self.imageSize = imageSize
        let catalog = columns.filter(\.isCatalogColumn)
        self.columns = ShardSchema.columns.filter(columns.contains) + catalog
        precondition(self.columns.count == columns.count && Set(columns.map(\.name)).count == columns.count,
                     "columns must be columns of ShardSchema.columns or catalog columns, each once")
        for c in self.columns {
            switch c.kind {
            case .float32: f32[c.name] = []
            case .float64: f64[c.name] = []
            case .int64: i64[c.name] = []
            }
        }
        reserveCapacity(capacity)
    }

    /// Rows held.
    public var count: Int {
        guard let first = columns.first else { return 0 }
        return elementCount(first) / first.shape.elements(imageSize: imageSize)
    }

    public var pixelsPerImage: Int { Band.allCases.count * imageSize * imageSize }

    public func holds(_ name: String) -> Bool { columns.contains { $0.name == name } }

    private func elementCount(_ column: ShardColumn) -> Int {
        switch column.kind {
        case .float32: f32[column.name]!.count
        case .float64: f64[column.name]!.count
        case .int64: i64[column.name]!.count
        }
    }

    // MARK: Typed access

    /// The values of a float32 column, (rows × elements per row).
    // (`_modify` checks the key without copying the array out: a copy alive during the yield
    // would make every append copy the whole column.)
    public subscript(float32 name: String) -> [Float] {
        get { f32[name] ?? missing(name, .float32) }
        _modify { require(f32.index(forKey: name) != nil, name, .float32); yield &f32[name]! }
    }
    public subscript(float64 name: String) -> [Double] {
        get { f64[name] ?? missing(name, .float64) }
        _modify { require(f64.index(forKey: name) != nil, name, .float64); yield &f64[name]! }
    }
    public subscript(int64 name: String) -> [Int64] {
        get { i64[name] ?? missing(name, .int64) }
        _modify { require(i64.index(forKey: name) != nil, name, .int64); yield &i64[name]! }
    }

    private func missing<T>(_ name: String, _ kind: ShardColumn.ElementKind) -> [T] {
        preconditionFailure("ShardRows: /\(name) is not a \(kind) column of these rows (they hold \(columns.map(\.description).joined(separator: ", ")))")
    }

    private func require(_ held: Bool, _ name: String, _ kind: ShardColumn.ElementKind) {
        if !held { let _: [Float] = missing(name, kind) }
    }

    public var images: [Float] {
        get { self[float32: ShardSchema.images] }
        _modify { yield &self[float32: ShardSchema.images] }
    }
    public var objectID: [Int64] {
        get { self[int64: ShardSchema.objectID] }
        _modify { yield &self[int64: ShardSchema.objectID] }
    }
    public var ra: [Double] {
        get { self[float64: ShardSchema.ra] }
        _modify { yield &self[float64: ShardSchema.ra] }
    }
    public var dec: [Double] {
        get { self[float64: ShardSchema.dec] }
        _modify { yield &self[float64: ShardSchema.dec] }
    }
    public var zSpec: [Float] {
        get { self[float32: ShardSchema.zSpec] }
        _modify { yield &self[float32: ShardSchema.zSpec] }
    }
    public var zSpecErr: [Float] {
        get { self[float32: ShardSchema.zSpecErr] }
        _modify { yield &self[float32: ShardSchema.zSpecErr] }
    }
    public var ebv: [Float] {
        get { self[float32: ShardSchema.ebv] }
        _modify { yield &self[float32: ShardSchema.ebv] }
    }
    /// Optional column of adversarial shards.
    public var perturbation: [Float] {
        get { self[float32: ShardSchema.perturbation] }
        _modify { yield &self[float32: ShardSchema.perturbation] }
    }

    // MARK: Whole-row operations, over every column held

    public mutating func reserveCapacity(_ n: Int) {
        for c in columns {
            let k = n * c.shape.elements(imageSize: imageSize)
            switch c.kind {
            case .float32: f32[c.name]!.reserveCapacity(k)
            case .float64: f64[c.name]!.reserveCapacity(k)
            case .int64: i64[c.name]!.reserveCapacity(k)
            }
        }
    }

    /// Appends rows `range` of `other`, which must hold every column this holds (it may hold more).
    public mutating func append(rows range: Range<Int>, of other: ShardRows) {
        precondition(other.imageSize == imageSize, "rows of \(other.imageSize)-pixel images appended to \(imageSize)-pixel rows")
        for c in columns {
            precondition(other.columns.contains(c), "the rows appended lack \(c)")
            let per = c.shape.elements(imageSize: imageSize)
            let part = range.lowerBound * per..<range.upperBound * per
            switch c.kind {
            case .float32: f32[c.name]!.append(contentsOf: other.f32[c.name]![part])
            case .float64: f64[c.name]!.append(contentsOf: other.f64[c.name]![part])
            case .int64: i64[c.name]!.append(contentsOf: other.i64[c.name]![part])
            }
        }
    }

    /// Appends rows `range` of `other` (which lacks `images`) with their images from `source`
    /// (the images of `other`'s rows, in order).
    public mutating func append(rows range: Range<Int>, of other: ShardRows, images source: UnsafeBufferPointer<Float>) {
        let p = pixelsPerImage
        images.append(contentsOf: UnsafeBufferPointer(rebasing: source[range.lowerBound * p..<range.upperBound * p]))
        for c in columns where c.name != ShardSchema.images {
            precondition(other.columns.contains(c), "the rows appended lack \(c)")
            let per = c.shape.elements(imageSize: imageSize)
            let part = range.lowerBound * per..<range.upperBound * per
            switch c.kind {
            case .float32: f32[c.name]!.append(contentsOf: other.f32[c.name]![part])
            case .float64: f64[c.name]!.append(contentsOf: other.f64[c.name]![part])
            case .int64: i64[c.name]!.append(contentsOf: other.i64[c.name]![part])
            }
        }
    }

    /// Appends zero-valued rows (padding of a fixed-size batch).
    public mutating func appendZeros(_ n: Int) {
        for c in columns {
            let k = n * c.shape.elements(imageSize: imageSize)
            switch c.kind {
            case .float32: f32[c.name]!.append(contentsOf: repeatElement(0, count: k))
            case .float64: f64[c.name]!.append(contentsOf: repeatElement(0, count: k))
            case .int64: i64[c.name]!.append(contentsOf: repeatElement(0, count: k))
            }
        }
    }

    /// Moves row `k` to the end of `other` and fills its place with the last row (the order of
    /// the remaining rows changes; nothing is shifted).
    public mutating func moveRow(_ k: Int, to other: inout ShardRows) {
        let last = count - 1
        // (A column `other` lacks gets an empty, unused entry there: nothing is appended to it.)
        for c in columns {
            let per = c.shape.elements(imageSize: imageSize)
            switch c.kind {
            case .float32: Self.move(&f32[c.name]!, k, last, per, &other.f32[c.name, default: []], other.columns.contains(c))
            case .float64: Self.move(&f64[c.name]!, k, last, per, &other.f64[c.name, default: []], other.columns.contains(c))
            case .int64: Self.move(&i64[c.name]!, k, last, per, &other.i64[c.name, default: []], other.columns.contains(c))
            }
        }
    }

    private static func move<T>(_ values: inout [T], _ k: Int, _ last: Int, _ per: Int, _ target: inout [T], _ keep: Bool) {
        if keep { target.append(contentsOf: values[k * per..<(k + 1) * per]) }
        if k != last {
            values.withUnsafeMutableBufferPointer { v in
                (v.baseAddress! + k * per).update(from: v.baseAddress! + last * per, count: per)
            }
        }
        values.removeLast(per)
    }

    /// Drops the first `n` rows (the arrays keep their capacity).
    public mutating func discardFirst(_ n: Int) {
        for c in columns {
            let k = n * c.shape.elements(imageSize: imageSize)
            switch c.kind {
            case .float32: f32[c.name]!.removeFirst(k)
            case .float64: f64[c.name]!.removeFirst(k)
            case .int64: i64[c.name]!.removeFirst(k)
            }
        }
    }

    /// Removes every row, keeping the arrays' capacity.
    public mutating func removeAll() {
        for c in columns {
            switch c.kind {
            case .float32: f32[c.name]!.removeAll(keepingCapacity: true)
            case .float64: f64[c.name]!.removeAll(keepingCapacity: true)
            case .int64: i64[c.name]!.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Moves the first `n` rows out.
    public mutating func removeFirst(_ n: Int) -> ShardRows {
        var head = ShardRows(imageSize: imageSize, columns: columns, capacity: n)
        head.append(rows: 0..<n, of: self)
        discardFirst(n)
        return head
    }

    /// Rows `range` as new rows.
    public func rows(_ range: Range<Int>) -> ShardRows {
        var part = ShardRows(imageSize: imageSize, columns: columns, capacity: range.count)
        part.append(rows: range, of: self)
        return part
    }

    /// The same rows with only `kept` columns (a subset of `columns`).
    public func keeping(_ kept: [ShardColumn]) -> ShardRows {
        var copy = ShardRows(imageSize: imageSize, columns: kept)
        for c in copy.columns {
            precondition(columns.contains(c), "keeping \(c), which the rows lack")
            switch c.kind {
            case .float32: copy.f32[c.name]! = f32[c.name]!
            case .float64: copy.f64[c.name]! = f64[c.name]!
            case .int64: copy.i64[c.name]! = i64[c.name]!
            }
        }
        return copy
    }

    /// The same rows with float32 column `c` added (`values`: its rows, as many as these rows).
    public func adding(_ c: ShardColumn, float32 values: [Float]) -> ShardRows {
        precondition(c.kind == .float32 && !columns.contains(c), "\(c) cannot be added as float32 values")
        precondition(values.count == count * c.shape.elements(imageSize: imageSize), "\(c) needs one value set per row")
        var copy = ShardRows(imageSize: imageSize, columns: columns + [c])
        for k in copy.columns where k != c {
            switch k.kind {
            case .float32: copy.f32[k.name]! = f32[k.name]!
            case .float64: copy.f64[k.name]! = f64[k.name]!
            case .int64: copy.i64[k.name]! = i64[k.name]!
            }
        }
        copy.f32[c.name]! = values
        return copy
    }

    /// The values of scalar column `c` at row `k` as a Double (display, FITS headers).
    public func scalar(_ c: ShardColumn, row k: Int) -> Double {
        switch c.kind {
        case .float32: Double(f32[c.name]![k])
        case .float64: f64[c.name]![k]
        case .int64: Double(i64[c.name]![k])
        }
    }

    // MARK: HDF5 transfer (used by Shard and ShardWriter)

    /// Runs `body` with the raw bytes of column `c`'s rows `range`.
    func withBytes<R>(of c: ShardColumn, rows range: Range<Int>, _ body: (ColumnBuffer) throws -> R) rethrows -> R {
        let per = c.shape.elements(imageSize: imageSize)
        let part = range.lowerBound * per..<range.upperBound * per
        switch c.kind {
        case .float32: return try f32[c.name]!.withUnsafeBufferPointer { try body(.float32(UnsafeBufferPointer(rebasing: $0[part]))) }
        case .float64: return try f64[c.name]!.withUnsafeBufferPointer { try body(.float64(UnsafeBufferPointer(rebasing: $0[part]))) }
        case .int64: return try i64[c.name]!.withUnsafeBufferPointer { try body(.int64(UnsafeBufferPointer(rebasing: $0[part]))) }
        }
    }

    /// Grows column `c` by `rows` rows and lets `body` fill them; on error the column is restored.
    mutating func appendFilling(_ c: ShardColumn, rows: Int, _ body: (MutableColumnBuffer) throws -> Void) throws {
        let k = rows * c.shape.elements(imageSize: imageSize)
        func fill<T: Numeric>(_ values: inout [T], _ wrap: (UnsafeMutableBufferPointer<T>) -> MutableColumnBuffer) throws {
            let start = values.count
            values.append(contentsOf: repeatElement(0, count: k))
            do {
                try values.withUnsafeMutableBufferPointer { try body(wrap(UnsafeMutableBufferPointer(rebasing: $0[start...]))) }
            } catch {
                values.removeLast(k)
                throw error
            }
        }
        switch c.kind {
        case .float32: try fill(&f32[c.name]!, MutableColumnBuffer.float32)
        case .float64: try fill(&f64[c.name]!, MutableColumnBuffer.float64)
        case .int64: try fill(&i64[c.name]!, MutableColumnBuffer.int64)
        }
    }

    /// Drops the last `rows` rows of column `c` only (undoing a partial `appendFilling`).
    mutating func dropLast(_ rows: Int, of c: ShardColumn) {
        let k = rows * c.shape.elements(imageSize: imageSize)
        switch c.kind {
        case .float32: f32[c.name]!.removeLast(k)
        case .float64: f64[c.name]!.removeLast(k)
        case .int64: i64[c.name]!.removeLast(k)
        }
    }
}

/// A column's values in memory, typed.
enum ColumnBuffer {
    case float32(UnsafeBufferPointer<Float>)
    case float64(UnsafeBufferPointer<Double>)
    case int64(UnsafeBufferPointer<Int64>)
}

enum MutableColumnBuffer {
    case float32(UnsafeMutableBufferPointer<Float>)
    case float64(UnsafeMutableBufferPointer<Double>)
    case int64(UnsafeMutableBufferPointer<Int64>)
}
