// Writing datasets: whole, by rows, appending; gzip chunks of whole rows compress in parallel.

extension HDF5Dataset {
    /// Writes the whole dataset from `values` in row-major order (count = product of the shape).
    ///
    /// The corresponding C function is `H5Dwrite` (or `H5Dwrite_chunk`, see `writeRows`).
    public func write<T: HDF5Scalar>(_ values: [T]) throws {
        let dims = try file.whileOpen(site, "write") { try numericDims("write", T.self) }
        let count = dims.reduce(1, *)
        guard values.count == count else {
            throw site.error("write", "\(values.count) values do not fill shape \(dims)", "the dataset holds \(count) elements")
        }
        if dims.isEmpty {
            try file.whileOpen(site, "write") {
                try values.withUnsafeBytes { try H5.write(handle, T.hdf5ElementType, rows: nil, dims: dims, from: $0.baseAddress!, site) }
            }
        } else {
            try values.withUnsafeBufferPointer { try writeRows(0..<dims[0], from: $0) }
        }
    }

    /// Writes rows `rows` of dim 0 (inside the current extent) from `buffer`.
    ///
    /// When the dataset has the deflate filter (with or without shuffle), stores `T` without
    /// conversion, and has chunks of whole rows, the chunks that `rows` covers entirely (and
    /// the dataset's last, partial chunk, padded with the fill value) are shuffled and
    /// compressed on all cores with libdeflate and written with `H5Dwrite_chunk`; the rest
    /// goes through `H5Dwrite` and HDF5's own filters. Files read the same either way.
    public func writeRows<T: HDF5Scalar>(_ rows: Range<Int>, from buffer: UnsafeBufferPointer<T>) throws {
        let (dims, plan) = try file.whileOpen(site, "writeRows") {
            let dims = try checkedRowDims("writeRows", rows, T.self)
            try checkCount(buffer.count, rows, dims, "writeRows")
            return (dims, parallelDeflateEnabled ? try parallelPlan(T.self, dims, writing: true) : nil)
        }
        guard !rows.isEmpty else { return }
        let rowSize = dims.dropFirst().reduce(1, *)
        func slow(_ part: Range<Int>) throws {
            guard !part.isEmpty else { return }
            let offset = (part.lowerBound - rows.lowerBound) * rowSize
            try file.whileOpen(site, "writeRows") {
                try H5.write(handle, T.hdf5ElementType, rows: part, dims: dims, from: buffer.baseAddress! + offset, site)
            }
        }
        guard let plan, rowSize > 0 else { return try slow(rows) }
        // Chunks fully inside `rows`, plus the dataset's last chunk when `rows` reaches the end.
        let k = plan.rowsPerChunk
        let first = min((rows.lowerBound + k - 1) / k * k, rows.upperBound)
        let end = rows.upperBound == dims[0] ? rows.upperBound : rows.upperBound / k * k
        guard end > first else { return try slow(rows) }
        try slow(rows.lowerBound..<first)
        try writeParallel(first..<end, rowsFrom: buffer.baseAddress! + (first - rows.lowerBound) * rowSize,
                          rowSize: rowSize, dims: dims, plan: plan)
        try slow(end..<rows.upperBound)
    }

    /// Sets dim 0 to `rows` (the dataset must be chunked and extendable that far).
    ///
    /// The corresponding C function is `H5Dset_extent`.
    public func resize(rows: Int) throws {
        try file.whileOpen(site, "resize") {
            let (dims, maxDims) = try H5.extent(handle, site)
            guard let limit = maxDims.first else {
                throw site.error("resize", "cannot resize", "the dataset is a scalar (0-d)")
            }
            guard rows >= 0, limit.map({ rows <= $0 }) ?? true else {
                throw site.error("resize", "cannot resize dim 0 to \(rows)",
                                 "dim 0 is limited to \(limit ?? 0) rows; create the dataset with maxShape [nil, …] to extend it")
            }
            var newDims = dims
            newDims[0] = rows
            try H5.setExtent(handle, newDims, site)
        }
    }

    /// Extends dim 0 by `buffer.count / rowSize` rows and writes them (see `writeRows`).
    public func append<T: HDF5Scalar>(_ buffer: UnsafeBufferPointer<T>) throws {
        let dims = try file.whileOpen(site, "append") { try numericDims("append", T.self) }
        guard let start = dims.first else { throw site.error("append", "cannot append", "the dataset is a scalar (0-d)") }
        let rowSize = dims.dropFirst().reduce(1, *)
        guard rowSize > 0, buffer.count % rowSize == 0 else {
            throw site.error("append", "cannot append \(buffer.count) elements",
                             "a row of shape \(Array(dims.dropFirst())) has \(rowSize) elements; append whole rows")
        }
        let count = buffer.count / rowSize
        guard count > 0 else { return }
        try resize(rows: start + count)
        try writeRows(start..<start + count, from: buffer)
    }
}
