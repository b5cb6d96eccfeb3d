import Dispatch
// The parallel chunk paths: compress whole-row chunks on all cores and write them with
// H5Dwrite_chunk; read stored chunks with H5Dread_chunk and inflate them on all cores.

extension HDF5Dataset {
    /// How the parallel paths treat this dataset's chunks.
    struct ParallelPlan {
        var rowsPerChunk: Int
        /// The deflate level; nil for a dataset without filters, whose whole chunks are written
        /// as they are, straight from the caller's rows (no copy through HDF5's chunk cache).
        var level: Int?
        var pipeline: ParallelDeflate.Pipeline
    }

    /// The parallel plan, or nil when the layout, filters or type need HDF5's own path: the
    /// dataset must have chunks of whole rows, the deflate filter alone or after shuffle (or,
    /// when `writing`, no filter at all), and store `T` natively (no conversion). Call under the lock.
    func parallelPlan<T: HDF5Scalar>(_ type: T.Type, _ dims: [Int], writing: Bool = false) throws -> ParallelPlan? {
        let (chunks, filters) = try properties()
        guard let chunks, chunks.count == dims.count, chunks.count >= 1,
              Array(chunks.dropFirst()) == Array(dims.dropFirst()) else { return nil }
        let ids = filters.map(\.id)
        if ids.isEmpty && writing && chunks[0] > 0, try H5.storesNative(handle, T.hdf5ElementType, site) {
            return ParallelPlan(rowsPerChunk: chunks[0], level: nil, pipeline: ParallelDeflate.Pipeline(deflateBit: 0, shuffle: nil))
        }
        guard ids == [1] || ids == [2, 1], let level = filters.last?.values.first, level <= 9 else { return nil }
        guard try H5.storesNative(handle, T.hdf5ElementType, site) else { return nil }
        let shuffle = ids.count == 2 ? (bit: 0, elementSize: MemoryLayout<T>.stride) : nil
        return ParallelPlan(rowsPerChunk: chunks[0], level: Int(level),
                            pipeline: ParallelDeflate.Pipeline(deflateBit: ids.count - 1, shuffle: shuffle))
    }

    /// Compresses the chunks starting at row `rows.lowerBound` (chunk-aligned) in parallel and
    /// writes them; `rows` ends on a chunk boundary or at the end of the dataset.
    func writeParallel<T: HDF5Scalar>(_ rows: Range<Int>, rowsFrom base: UnsafePointer<T>, rowSize: Int,
                                      dims: [Int], plan: ParallelPlan) throws {
        let elementSize = MemoryLayout<T>.stride
        var fill = [UInt8](repeating: 0, count: elementSize)
        if rows.count % plan.rowsPerChunk != 0 {
            try file.whileOpen(site, "writeRows") {
                try fill.withUnsafeMutableBytes { try H5.fillValue(handle, T.hdf5ElementType, into: $0.baseAddress!, site) }
            }
        }
        let chunkBytes = plan.rowsPerChunk * rowSize * elementSize
        guard let level = plan.level else {  // no filter: whole chunks straight from the rows
            let chunks = RowChunks(base: UnsafeRawPointer(base), rowBytes: rowSize * elementSize,
                                   rowsPerChunk: plan.rowsPerChunk, rows: rows.count, fill: fill)
            let write: @Sendable () throws -> Void = {
                let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 64)
                defer { scratch.deallocate() }
                try self.file.whileOpen(self.site, "writeRows") {
                    var offset = [Int](repeating: 0, count: dims.count)
                    for index in 0..<chunks.count {
                        offset[0] = rows.lowerBound + index * plan.rowsPerChunk
                        try H5.writeChunk(self.handle, offset: offset, chunks.bytes(index, scratch: scratch), self.site)
                    }
                    self.parallelChunkWrites += chunks.count
                }
            }
            guard let observer = onDirectChunkWrite else { return try write() }
            // The observer reads the same bytes while they are written, on another core.
            let failure = ErrorBox()
            DispatchQueue.concurrentPerform(iterations: 2) { part in
                if part == 0 {
                    do { try write() } catch { failure.error = error }
                    return
                }
                let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 64)
                defer { scratch.deallocate() }
                for index in 0..<chunks.count {
                    observer(rows.lowerBound / plan.rowsPerChunk + index, chunks.bytes(index, scratch: scratch))
                }
            }
            if let error = failure.error { throw error }
            return
        }
        // Groups of about 64 MiB of raw chunks bound the memory the compressed copies take.
        let groupRows = max(1, (64 << 20) / max(chunkBytes, 1)) * plan.rowsPerChunk
        for groupStart in stride(from: rows.lowerBound, to: rows.upperBound, by: groupRows) {
            let groupEnd = min(groupStart + groupRows, rows.upperBound)
            let source = base + (groupStart - rows.lowerBound) * rowSize
            let chunks = RowChunks(base: UnsafeRawPointer(source), rowBytes: rowSize * elementSize,
                                   rowsPerChunk: plan.rowsPerChunk, rows: groupEnd - groupStart, fill: fill)
            let compressed = ParallelDeflate.compress(chunks, level: level,
                                                      shuffleElementSize: plan.pipeline.shuffle?.elementSize)
            try file.whileOpen(site, "writeRows") {
                guard let compressed else {  // libdeflate refused: HDF5's own filter
                    return try H5.write(handle, T.hdf5ElementType, rows: groupStart..<groupEnd, dims: dims, from: source, site)
                }
                var offset = [Int](repeating: 0, count: dims.count)
                for index in 0..<compressed.count {
                    offset[0] = groupStart + index * plan.rowsPerChunk
                    try H5.writeChunk(handle, offset: offset, compressed[index], site)
                }
                parallelChunkWrites += compressed.count
            }
        }
    }

    /// Reads the stored chunks that `rows` touches and inflates them in parallel into `base`.
    ///
    /// - Returns: false when a chunk has no storage or cannot be decoded; the caller then
    ///   reads through `H5Dread`, which supplies fill values or reports the damage.
    func readParallel<T: HDF5Scalar>(_ rows: Range<Int>, into base: UnsafeMutablePointer<T>, rowSize: Int,
                                     dims: [Int], plan: ParallelPlan) throws -> Bool {
        let k = plan.rowsPerChunk
        let rowBytes = rowSize * MemoryLayout<T>.stride
        let destination = RowDestination(base: UnsafeMutableRawPointer(base), rows: rows, rowBytes: rowBytes, rowsPerChunk: k)
        let firstChunk = rows.lowerBound / k, endChunk = (rows.upperBound + k - 1) / k
        let groupChunks = max(1, (64 << 20) / max(k * rowBytes, 1))
        for groupStart in stride(from: firstChunk, to: endChunk, by: groupChunks) {
            let groupEnd = min(groupStart + groupChunks, endChunk)
            let stored: [StoredChunk]? = try file.whileOpen(site, "readRows") {
                var list: [StoredChunk] = []
                var offset = [Int](repeating: 0, count: dims.count)
                for chunk in groupStart..<groupEnd {
                    offset[0] = chunk * k
                    guard let raw = try H5.readRawChunk(handle, offset: offset, site) else { return nil }
                    list.append(StoredChunk(bytes: raw.bytes, filterMask: raw.filterMask))
                }
                return list
            }
            guard let stored, ParallelDeflate.decompress(stored, firstChunk: groupStart, into: destination,
                                                         pipeline: plan.pipeline) else { return false }
            H5.locked { parallelChunkReads += stored.count }
        }
        return true
    }
}

/// The error of one of two concurrent parts (each part sets it at most once, read after they join).
private final class ErrorBox: @unchecked Sendable {
    var error: Error?
}
