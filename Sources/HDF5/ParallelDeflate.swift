// Compressing HDF5 chunks on all cores with libdeflate (the only file that calls libdeflate).
//
// HDF5's deflate filter compresses one chunk at a time on the calling thread. For chunks of
// whole rows we do HDF5's work ourselves, in parallel: byte-shuffle (when the dataset has
// the shuffle filter), zlib-compress with libdeflate at the dataset's level, and hand the
// results to H5Dwrite_chunk. HDF5's own filters (zlib inflate, unshuffle) read them back.
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

/// The output shared by the workers; each writes only its own chunks' slots.
private struct SharedOutput: @unchecked Sendable {
    let result: DeflatedChunks
    let sizes: UnsafeMutableBufferPointer<Int>
}
