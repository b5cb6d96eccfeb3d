// HDF5Dataset: a dataset's shape, layout and type, and reading it whole or by rows.

/// A dataset of an HDF5 file: an n-dimensional array of numbers or strings.
///
/// Rows are slices along dim 0 with all of the other dims (`readRows(10..<20, …)` of an
/// `(N, 5, 64, 64)` dataset reads 10 images). Numbers are converted by HDF5 to the type asked.
public final class HDF5Dataset: @unchecked Sendable {
    let file: HDF5File
    let handle: HDF5Handle
    /// The dataset's path inside the file (`"/images"`).
    public let path: String
    /// The chunk shape and filters, read once (they never change); guarded by the HDF5 lock.
    private var cachedProperties: (chunks: [Int]?, filters: [HDF5Filter])?
    /// Chunks written and read by the parallel deflate paths (for tests and diagnostics); guarded by the lock.
    var parallelChunkWrites = 0, parallelChunkReads = 0
    /// Whether the parallel paths may be used (turned off to measure HDF5's own path); guarded by the lock.
    var parallelDeflateEnabled = true
    /// Called for each unfiltered chunk that `writeRows`/`append` write whole with
    /// `H5Dwrite_chunk`, in chunk order, with the chunk's index along dim 0 and the exact bytes
    /// written (fill-padded for the dataset's last chunk); not for rows that go through
    /// `H5Dwrite`. Lets a caller follow what reaches the file, e.g. a running checksum, without
    /// reading it back. Set it before writing. It runs on another thread while the chunks are
    /// being written, outside the HDF5 lock, and `writeRows` returns after both are done.
    public var onDirectChunkWrite: (@Sendable (_ chunk: Int, _ bytes: UnsafeRawBufferPointer) -> Void)?

    init(file: HDF5File, handle: HDF5Handle, path: String) {
        self.file = file
        self.handle = handle
        self.path = path
    }

    var site: HDF5Site { HDF5Site(file: file.path, object: path) }

    /// The current extent. The corresponding C function is `H5Sget_simple_extent_dims`.
    public var shape: [Int] {
        get throws { try file.whileOpen(site, "shape") { try H5.extent(handle, site).dims } }
    }

    /// The largest extent of each dim; nil means unlimited.
    public var maxShape: [Int?] {
        get throws { try file.whileOpen(site, "maxShape") { try H5.extent(handle, site).maxDims } }
    }

    /// Where each chunk of rows is stored in the file, in row order: byte offset and stored
    /// size, nil for a chunk without storage. Throws for a dataset not chunked in whole rows.
    ///
    /// The corresponding C function is `H5Dget_chunk_info_by_coord`.
    public func chunkLocations() throws -> [(offset: Int, size: Int)?] {
        try file.whileOpen(site, "chunkLocations") {
            let dims = try H5.extent(handle, site).dims
            guard let chunks = try properties().chunks, !dims.isEmpty, Array(chunks.dropFirst()) == Array(dims.dropFirst()) else {
                throw site.error("chunkLocations", "cannot locate chunks", "the dataset is not chunked in whole rows")
            }
            var offset = [Int](repeating: 0, count: dims.count)
            return try stride(from: 0, to: dims[0], by: chunks[0]).map { row in
                offset[0] = row
                return try H5.chunkLocation(handle, offset: offset, site)
            }
        }
    }

    /// The chunk shape, or nil when the dataset is not chunked. The corresponding C function is `H5Pget_chunk`.
    public var chunkShape: [Int]? {
        get throws { try file.whileOpen(site, "chunkShape") { try properties().chunks } }
    }

    /// The element type stored in the file. The corresponding C function is `H5Dget_type`.
    public var elementType: HDF5ElementType {
        get throws { try file.whileOpen(site, "elementType") { try H5.elementType(handle, site) } }
    }

    /// The names of the filters applied to each chunk, in order (e.g. `["shuffle", "deflate"]`).
    ///
    /// The corresponding C function is `H5Pget_filter2`.
    public var filters: [String] {
        get throws { try file.whileOpen(site, "filters") { try properties().filters.map(Self.filterName) } }
    }

    /// The deflate (gzip) compression of the chunks, `.none` without it.
    public var compression: HDF5Compression {
        get throws {
            try file.whileOpen(site, "compression") {
                guard let deflate = try properties().filters.first(where: { $0.id == 1 }) else { return .none }
                return .gzip(level: Int(deflate.values.first ?? 0))
            }
        }
    }

    /// Chunk shape and filters, cached. Call under the lock.
    func properties() throws -> (chunks: [Int]?, filters: [HDF5Filter]) {
        if let cachedProperties { return cachedProperties }
        let properties = try H5.creationProperties(handle, site)
        cachedProperties = properties
        return properties
    }

    static func filterName(_ filter: HDF5Filter) -> String {
        switch filter.id {
        case 1: "deflate"
        case 2: "shuffle"
        case 3: "fletcher32"
        case 4: "szip"
        case 5: "nbit"
        case 6: "scaleoffset"
        default: filter.name.isEmpty ? "filter \(filter.id)" : filter.name
        }
    }

    // MARK: Reading

    /// Reads the whole dataset, converted by HDF5 to `T`, in row-major order.
    ///
    /// The corresponding C function is `H5Dread` (or `H5Dread_chunk`, see `readRows(_:into:)`).
    public func read<T: HDF5Scalar>(as type: T.Type) throws -> [T] {
        let dims = try file.whileOpen(site, "read") { try numericDims("read", T.self) }
        let count = dims.reduce(1, *)
        return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let rows = dims.first {
                try readRows(0..<rows, into: buffer)
            } else {
                try file.whileOpen(site, "read") {
                    try H5.read(handle, T.hdf5ElementType, rows: nil, dims: dims, into: buffer.baseAddress!, site)
                }
            }
            initialized = count
        }
    }

    /// Reads rows `rows` of dim 0 with all of the other dims, converted to `T`.
    public func readRows<T: HDF5Scalar>(_ rows: Range<Int>, as type: T.Type) throws -> [T] {
        let dims = try file.whileOpen(site, "readRows") { try checkedRowDims("readRows", rows, T.self) }
        let count = rows.count * dims.dropFirst().reduce(1, *)
        return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            try readRows(rows, into: buffer)
            initialized = count
        }
    }

    /// Reads rows `rows` of dim 0 into `buffer`, which must hold exactly those rows.
    ///
    /// In a file opened read-only, a dataset with the deflate filter (with or without
    /// shuffle), chunks of whole rows and elements stored as `T` is read chunk by chunk with
    /// `H5Dread_chunk` and inflated on all cores with libdeflate, outside the HDF5 lock;
    /// otherwise HDF5 reads it. The corresponding C functions are `H5Sselect_hyperslab` and `H5Dread`.
    public func readRows<T: HDF5Scalar>(_ rows: Range<Int>, into buffer: UnsafeMutableBufferPointer<T>) throws {
        let (dims, plan) = try file.whileOpen(site, "readRows") {
            let dims = try checkedRowDims("readRows", rows, T.self)
            try checkCount(buffer.count, rows, dims, "readRows")
            return (dims, file.isReadOnly && parallelDeflateEnabled ? try parallelPlan(T.self, dims) : nil)
        }
        guard buffer.count > 0 else { return }
        let rowSize = dims.dropFirst().reduce(1, *)
        if let plan, try readParallel(rows, into: buffer.baseAddress!, rowSize: rowSize, dims: dims, plan: plan) { return }
        try file.whileOpen(site, "readRows") {
            try H5.read(handle, T.hdf5ElementType, rows: rows, dims: dims, into: buffer.baseAddress!, site)
        }
    }

    /// Reads every string of a string dataset (fixed- or variable-length).
    ///
    /// The corresponding C function is `H5Dread`.
    public func readStrings() throws -> [String] {
        try file.whileOpen(site, "readStrings") { try H5.readStrings(handle, site) }
    }

    // MARK: Checks shared with writing (call under the lock)

    /// The dims of a numeric dataset; throws for strings and other types.
    func numericDims<T: HDF5Scalar>(_ operation: String, _ type: T.Type) throws -> [Int] {
        let element = try H5.elementType(handle, site)
        guard element.isNumeric else {
            let hint = element == .string ? "; read it with readStrings()" : ""
            throw site.error(operation, "cannot convert \(element) values to \(T.self)",
                             "the dataset holds \(element == .string ? "strings" : "\(element) values")\(hint)")
        }
        return try H5.extent(handle, site).dims
    }

    /// The dims of a numeric dataset of rank ≥ 1 whose dim 0 contains `rows`.
    func checkedRowDims<T: HDF5Scalar>(_ operation: String, _ rows: Range<Int>, _ type: T.Type) throws -> [Int] {
        let dims = try numericDims(operation, T.self)
        guard let count = dims.first else {
            throw site.error(operation, "cannot select rows", "the dataset is a scalar (0-d); use read(as:)/write(_:)")
        }
        guard rows.lowerBound >= 0, rows.upperBound <= count else {
            throw site.error(operation, "rows \(rows.lowerBound)..<\(rows.upperBound) out of range",
                             "the dataset has \(count) rows (shape \(dims))")
        }
        return dims
    }

    /// Throws unless `count` elements are exactly `rows` rows of a dataset of `dims`.
    func checkCount(_ count: Int, _ rows: Range<Int>, _ dims: [Int], _ operation: String) throws {
        let rowSize = dims.dropFirst().reduce(1, *)
        guard count == rows.count * rowSize else {
            throw site.error(operation, "buffer of \(count) elements does not match rows \(rows.lowerBound)..<\(rows.upperBound)",
                             "\(rows.count) rows of shape \(Array(dims.dropFirst())) need \(rows.count * rowSize) elements")
        }
    }
}
