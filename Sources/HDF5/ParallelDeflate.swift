// Compressing and decompressing HDF5 chunks on all cores with libdeflate (the only file that
// calls libdeflate).
//
// HDF5's deflate filter works one chunk at a time on the calling thread. For chunks of whole
// rows we do HDF5's work ourselves, in parallel: byte-shuffle (when the dataset has the
// shuffle filter), zlib-compress with libdeflate at the dataset's level, and hand the results
// to H5Dwrite_chunk; HDF5's own filters (zlib inflate, unshuffle) read them back. Reading
// goes the other way: H5Dread_chunk, then inflate and unshuffle in parallel.
import CDeflate
import Dispatch
import Foundation

/// Consecutive chunks of whole rows in a caller's buffer; the last one may be short.
struct RowChunks: @unchecked Sendable {
    /// The first row of the first chunk.
    let base: UnsafeRawPointer
    /// Bytes in one row (all dims after dim 0).
    let rowBytes: Int
    let rowsPerChunk: Int
    /// Rows available from `base`.
    let rows: Int
    /// One element's fill value, used to pad a short last chunk to the full chunk size.
    let fill: [UInt8]

    var chunkBytes: Int { rowsPerChunk * rowBytes }
    var count: Int { (rows + rowsPerChunk - 1) / rowsPerChunk }

    /// The raw bytes of chunk `index`: in place when whole, else copied into `scratch` and padded.
    func bytes(_ index: Int, scratch: UnsafeMutableRawBufferPointer) -> UnsafeRawBufferPointer {
        let first = index * rowsPerChunk
        let present = min(rowsPerChunk, rows - first)
        let start = base + first * rowBytes
        if present == rowsPerChunk { return UnsafeRawBufferPointer(start: start, count: chunkBytes) }
        let used = present * rowBytes
        scratch.baseAddress!.copyMemory(from: start, byteCount: used)
        if fill.allSatisfy({ $0 == 0 }) {
            scratch.baseAddress!.advanced(by: used).initializeMemory(as: UInt8.self, repeating: 0, count: chunkBytes - used)
        } else {
            for offset in Swift.stride(from: used, to: chunkBytes, by: fill.count) {
                for (k, byte) in fill.enumerated() { scratch[offset + k] = byte }
            }
        }
        return UnsafeRawBufferPointer(start: scratch.baseAddress, count: chunkBytes)
    }
}

/// Compressed chunks in one allocation, each at a fixed stride.
final class DeflatedChunks: @unchecked Sendable {
    let count: Int
    private let stride: Int
    private let storage: UnsafeMutableRawPointer
    /// Compressed size of each chunk; 0 means the chunk could not be compressed.
    fileprivate var sizes: [Int]

    fileprivate init(count: Int, stride: Int) {
        self.count = count
        self.stride = stride
        storage = .allocate(byteCount: max(count * stride, 1), alignment: 64)
        sizes = [Int](repeating: 0, count: count)
    }

    deinit { storage.deallocate() }

    fileprivate func output(_ index: Int) -> UnsafeMutableRawPointer { storage + index * stride }

    /// The zlib stream of chunk `index`.
    subscript(index: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage + index * stride, count: sizes[index]) }

    /// Total compressed bytes.
    var totalBytes: Int { sizes.reduce(0, +) }
}

enum ParallelDeflate {
    /// Shuffles then zlib-compresses every chunk of `chunks` on all cores.
    ///
    /// - Parameters:
    ///   - level: the deflate level (0–9, as HDF5's gzip filter).
    ///   - shuffleElementSize: the element size when the dataset has the shuffle filter.
    /// - Returns: the compressed chunks, or nil when libdeflate could not compress them (the
    ///   caller then writes through HDF5's own filter). The C functions are
    ///   `libdeflate_alloc_compressor` and `libdeflate_zlib_compress`.
    static func compress(_ chunks: RowChunks, level: Int, shuffleElementSize: Int?) -> DeflatedChunks? {
        guard chunks.count > 0, let probe = libdeflate_alloc_compressor(Int32(level)) else { return nil }
        let bound = libdeflate_zlib_compress_bound(probe, chunks.chunkBytes)
        libdeflate_free_compressor(probe)
        let result = DeflatedChunks(count: chunks.count, stride: bound)
        let workers = min(chunks.count, ProcessInfo.processInfo.activeProcessorCount)
        let sizes = UnsafeMutableBufferPointer<Int>.allocate(capacity: chunks.count)
        sizes.initialize(repeating: 0)
        defer { sizes.deallocate() }
        let shared = SharedOutput(result: result, sizes: sizes)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            guard let compressor = libdeflate_alloc_compressor(Int32(level)) else { return }
            defer { libdeflate_free_compressor(compressor) }
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: chunks.chunkBytes, alignment: 64)
            let shuffled = UnsafeMutableRawBufferPointer.allocate(byteCount: chunks.chunkBytes, alignment: 64)
            defer { scratch.deallocate(); shuffled.deallocate() }
            for index in Swift.stride(from: worker, to: chunks.count, by: workers) {
                var raw = chunks.bytes(index, scratch: scratch)
                if let size = shuffleElementSize, size > 1 {
                    shuffle(raw, into: shuffled, elementSize: size)
                    raw = UnsafeRawBufferPointer(shuffled)
                }
                shared.sizes[index] = libdeflate_zlib_compress(compressor, raw.baseAddress, raw.count,
                                                               shared.result.output(index), bound)
            }
        }
        result.sizes = Array(sizes)
        return result.sizes.allSatisfy({ $0 > 0 }) ? result : nil
    }

    /// HDF5's shuffle filter: for elements of `elementSize` bytes, all first bytes, then all
    /// second bytes, …; trailing bytes that do not fill an element are copied as they are.
    static func shuffle(_ source: UnsafeRawBufferPointer, into target: UnsafeMutableRawBufferPointer, elementSize: Int) {
        precondition(target.count >= source.count, "shuffle: target smaller than source")
        let count = source.count / elementSize
        let input = source.bindMemory(to: UInt8.self).baseAddress!
        let output = target.bindMemory(to: UInt8.self).baseAddress!
        for byte in 0..<elementSize {
            let row = output + byte * count
            var from = input + byte
            for index in 0..<count {
                row[index] = from.pointee
                from += elementSize
            }
        }
        let tail = count * elementSize
        for index in tail..<source.count { output[index] = input[index] }
    }
}

/// A chunk as stored in the file: its filtered bytes and HDF5's filter mask (bit i set: the
/// pipeline's filter i was skipped for this chunk).
struct StoredChunk: Sendable {
    var bytes: [UInt8]
    var filterMask: UInt32
}

/// Where decoded chunks go: rows `rows` of a caller's buffer.
struct RowDestination: @unchecked Sendable {
    /// Row `rows.lowerBound`.
    let base: UnsafeMutableRawPointer
    let rows: Range<Int>
    let rowBytes: Int
    let rowsPerChunk: Int

    /// Copies the rows of chunk `chunk` (decoded at `decoded`) that fall inside `rows`.
    func place(chunk: Int, from decoded: UnsafeRawPointer) {
        let chunkStart = chunk * rowsPerChunk
        let first = max(chunkStart, rows.lowerBound), end = min(chunkStart + rowsPerChunk, rows.upperBound)
        guard end > first else { return }
        (base + (first - rows.lowerBound) * rowBytes).copyMemory(from: decoded + (first - chunkStart) * rowBytes,
                                                                 byteCount: (end - first) * rowBytes)
    }
}

extension ParallelDeflate {
    /// The positions of the dataset's filters in its pipeline (the bits of a chunk's filter mask).
    struct Pipeline: Sendable {
        var deflateBit: Int
        /// The shuffle filter's bit and the element size, when the dataset has shuffle.
        var shuffle: (bit: Int, elementSize: Int)?
    }

    /// Inflates and unshuffles `stored` (chunks `firstChunk`, `firstChunk + 1`, …) on all cores
    /// and copies their rows into `destination`.
    ///
    /// - Returns: false when a chunk cannot be decoded (the caller then reads through HDF5,
    ///   which reports the problem). The C function is `libdeflate_zlib_decompress`.
    static func decompress(_ stored: [StoredChunk], firstChunk: Int, into destination: RowDestination,
                           pipeline: Pipeline) -> Bool {
        guard !stored.isEmpty else { return true }
        let chunkBytes = destination.rowsPerChunk * destination.rowBytes
        let workers = min(stored.count, ProcessInfo.processInfo.activeProcessorCount)
        let failed = UnsafeMutableBufferPointer<Bool>.allocate(capacity: stored.count)
        failed.initialize(repeating: false)
        defer { failed.deallocate() }
        let flags = SharedFlags(failed: failed)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let mine = Swift.stride(from: worker, to: stored.count, by: workers)
            guard let decompressor = libdeflate_alloc_decompressor() else {
                for index in mine { flags.failed[index] = true }
                return
            }
            defer { libdeflate_free_decompressor(decompressor) }
            let inflated = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 64)
            let unshuffled = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 64)
            defer { inflated.deallocate(); unshuffled.deallocate() }
            for index in mine {
                let chunk = stored[index]
                let decoded: Bool = chunk.bytes.withUnsafeBytes { bytes in
                    if chunk.filterMask & (1 << pipeline.deflateBit) != 0 {  // stored without deflate
                        guard bytes.count == chunkBytes else { return false }
                        inflated.copyMemory(from: bytes)
                        return true
                    }
                    var produced = 0
                    let result = libdeflate_zlib_decompress(decompressor, bytes.baseAddress, bytes.count,
                                                            inflated.baseAddress, chunkBytes, &produced)
                    return result == LIBDEFLATE_SUCCESS && produced == chunkBytes
                }
                guard decoded else { flags.failed[index] = true; continue }
                var data = UnsafeRawBufferPointer(inflated)
                if let shuffle = pipeline.shuffle, shuffle.elementSize > 1, chunk.filterMask & (1 << shuffle.bit) == 0 {
                    unshuffle(data, into: unshuffled, elementSize: shuffle.elementSize)
                    data = UnsafeRawBufferPointer(unshuffled)
                }
                destination.place(chunk: firstChunk + index, from: data.baseAddress!)
            }
        }
        return !failed.contains(true)
    }

    /// The inverse of `shuffle`: element i's byte j comes from position j·count + i.
    static func unshuffle(_ source: UnsafeRawBufferPointer, into target: UnsafeMutableRawBufferPointer, elementSize: Int) {
        precondition(target.count >= source.count, "unshuffle: target smaller than source")
        let count = source.count / elementSize
        let input = source.bindMemory(to: UInt8.self).baseAddress!
        let output = target.bindMemory(to: UInt8.self).baseAddress!
        for byte in 0..<elementSize {
            let row = input + byte * count
            var to = output + byte
            for index in 0..<count {
                to.pointee = row[index]
                to += elementSize
            }
        }
        let tail = count * elementSize
        for index in tail..<source.count { output[index] = input[index] }
    }
}

/// Per-chunk failure flags shared by the decompressing workers (each sets only its own).
private struct SharedFlags: @unchecked Sendable {
    let failed: UnsafeMutableBufferPointer<Bool>
}

/// The output shared by the workers; each writes only its own chunks' slots.
private struct SharedOutput: @unchecked Sendable {
    let result: DeflatedChunks
    let sizes: UnsafeMutableBufferPointer<Int>
}
