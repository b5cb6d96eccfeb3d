// Creating numeric datasets: shape, extendable dims, chunks, gzip and shuffle.

extension HDF5Group {
    /// Creates a numeric dataset of `type` elements.
    ///
    /// - Parameters:
    ///   - shape: the initial extent (dims may be 0, e.g. `[0, 5, 64, 64]` to append to).
    ///   - maxShape: the largest extent of each dim, `nil` elements meaning unlimited;
    ///     by default the dataset cannot grow.
    ///   - chunks: the chunk shape. When nil and the dataset needs chunks (compression,
    ///     shuffle or a growable dim), a chunk of whole rows of about 1 MiB is chosen.
    ///     Chunks of `k` rows by the full other dims let `writeRows`/`append` compress
    ///     chunks in parallel.
    ///   - compression: `.gzip(level:)` uses HDF5's deflate filter (level 0–9).
    ///   - shuffle: HDF5's byte shuffle before compression (helps floats compress).
    ///   - reserveStorage: allocate the storage of the whole initial extent at creation and
    ///     never write fill values (unfiltered datasets only): the chunks then lie in the file
    ///     before anything created later, their places are known at once (`chunkLocations`),
    ///     and rows not written read as whatever the file held (zeros in a new file).
    ///
    /// The corresponding C functions are `H5Pset_chunk`, `H5Pset_shuffle`, `H5Pset_deflate`,
    /// `H5Pset_alloc_time`, `H5Pset_fill_time` and `H5Dcreate2`.
    public func createDataset<T: HDF5Scalar>(
        _ name: String, of type: T.Type, shape: [Int], maxShape: [Int?]? = nil,
        chunks: [Int]? = nil, compression: HDF5Compression = .none, shuffle: Bool = false, reserveStorage: Bool = false
    ) throws -> HDF5Dataset {
        let site = self.site.at(joinPath(path, name))
        var layout = try Self.layout(shape: shape, maxShape: maxShape, chunks: chunks, compression: compression,
                                     shuffle: shuffle, elementSize: T.hdf5ElementType.byteCount!, site)
        if reserveStorage {
            guard layout.deflateLevel == nil && !shuffle else {
                throw site.error("createDataset", "cannot create dataset", "storage can be reserved only without filters (compressed chunks have no size yet)")
            }
            layout.reserveStorage = true
        }
        return try file.whileOpen(site, "createDataset") {
            try requireAbsent(name, site)
            let handle = try H5.createDataset(self.handle, name, T.hdf5ElementType, layout, site)
            return HDF5Dataset(file: file, handle: handle, path: site.object!)
        }
    }

    /// Checks the creation arguments and fills in the chunk shape when one is needed.
    static func layout(shape: [Int], maxShape: [Int?]?, chunks: [Int]?, compression: HDF5Compression,
                       shuffle: Bool, elementSize: Int, _ site: HDF5Site) throws -> H5.DatasetLayout {
        func bad(_ message: String) -> HDF5Error { site.error("createDataset", "cannot create dataset", message) }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw bad("shape \(shape) has a negative dim") }
        let maxShape = maxShape ?? shape
        guard maxShape.count == shape.count else {
            throw bad("maxShape has \(maxShape.count) dims but shape \(shape) has \(shape.count)")
        }
        for (dim, limit) in zip(shape, maxShape) where limit.map({ $0 < dim }) ?? false {
            throw bad("maxShape \(describe(maxShape)) is smaller than shape \(shape)")
        }
        var level: Int?
        if case .gzip(let requested) = compression {
            guard (0...9).contains(requested) else { throw bad("gzip level \(requested) is not in 0...9") }
            level = requested
        }
        let growable = zip(shape, maxShape).contains { $0.1 == nil || $0.1! > $0.0 }
        let needsChunks = level != nil || shuffle || growable
        if shape.isEmpty, needsChunks || chunks != nil {
            throw bad("a scalar (0-d) dataset cannot be chunked, compressed or extended")
        }
        var chunkShape = chunks
        if let chunks {
            guard chunks.count == shape.count else {
                throw bad("chunks \(chunks) have \(chunks.count) dims but shape \(shape) has \(shape.count)")
            }
            guard chunks.allSatisfy({ $0 > 0 }) else { throw bad("chunk dims must be positive, got \(chunks)") }
            for (chunk, limit) in zip(chunks, maxShape) where limit.map({ $0 > 0 && chunk > $0 }) ?? false {
                throw bad("chunks \(chunks) exceed the fixed maxShape \(describe(maxShape))")
            }
        } else if needsChunks {
            chunkShape = automaticChunks(shape: shape, maxShape: maxShape, elementSize: elementSize)
        }
        return H5.DatasetLayout(shape: shape, maxShape: maxShape, chunks: chunkShape, deflateLevel: level, shuffle: shuffle)
    }

    /// Whole rows (full other dims) per chunk, about 1 MiB, at least one row.
    static func automaticChunks(shape: [Int], maxShape: [Int?], elementSize: Int) -> [Int] {
        var chunks = shape.map { max($0, 1) }
        for index in chunks.indices.dropFirst() where maxShape[index].map({ $0 > 0 && chunks[index] > $0 }) ?? false {
            chunks[index] = maxShape[index]!
        }
        let rowBytes = chunks.dropFirst().reduce(elementSize, *)
        var rows = max(1, (1 << 20) / max(rowBytes, 1))
        if shape[0] > 0 { rows = min(rows, shape[0]) }
        if let limit = maxShape[0], limit > 0 { rows = min(rows, limit) }
        chunks[0] = rows
        return chunks
    }

    private static func describe(_ maxShape: [Int?]) -> String {
        "[" + maxShape.map { $0.map(String.init) ?? "unlimited" }.joined(separator: ", ") + "]"
    }
}
