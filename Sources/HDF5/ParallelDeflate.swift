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
    static func compress(_ chunks: RowChunks, level zlibLevel: Int, shuffleElementSize: Int?) -> DeflatedChunks? {
        let level = libdeflateLevel(forZlibLevel: zlibLevel)
        guard chunks.count > 0, let probe = libdeflate_alloc_compressor(Int32(level)) else { return nil }
        let bound = libdeflate_zlib_compress_bound(probe, chunks.chunkBytes) + storedOverhead(chunks.chunkBytes)
        libdeflate_free_compressor(probe)
        let result = DeflatedChunks(count: chunks.count, stride: bound)
        let workers = min(chunks.count, ProcessInfo.processInfo.activeProcessorCount)
        let sizes = UnsafeMutableBufferPointer<Int>.allocate(capacity: chunks.count)
        sizes.initialize(repeating: 0)
        defer { sizes.deallocate() }
        let shared = SharedOutput(result: result, sizes: sizes)
        // Chunks are handed out one at a time rather than in fixed strides: the cores are shared
        // with the thread reading the next rows, and a fixed share left one worker idle at the
        // end of every group while the other, preempted, finished its own.
        let next = ChunkCounter()
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            guard let workspace = CompressorPool.shared.take(level: level, chunkBytes: chunks.chunkBytes) else { return }
            defer { CompressorPool.shared.give(workspace) }
            while let index = next.claim(below: chunks.count) {
                var raw = chunks.bytes(index, scratch: workspace.scratch)
                var planes = 1
                if let size = shuffleElementSize, size > 1 {
                    shuffle(raw, into: workspace.shuffled, elementSize: size)
                    raw = UnsafeRawBufferPointer(workspace.shuffled)
                    planes = size
                }
                shared.sizes[index] = zlibStream(raw, planes: planes, compressor: workspace.compressor,
                                                 into: shared.result.output(index), capacity: bound)
            }
        }
        result.sizes = Array(sizes)
        return result.sizes.allSatisfy({ $0 > 0 }) ? result : nil
    }

    /// The libdeflate level used for a dataset whose deflate filter has zlib's `level` (what
    /// `--compression gzip:LEVEL` and h5py's `compression_opts` mean): the fastest one that
    /// compresses at least as well as zlib does at that level.
    ///
    /// libdeflate's levels are other algorithms than zlib's, with other trade-offs: its level 4
    /// compressed image chunks 0.7–7 % smaller than zlib's level 4 but took 1.3–1.8× the time of
    /// its level 2, which is still smaller than zlib's 4. Measured per chunk of 4 images
    /// (5×64×64 float32, shuffled, noise planes stored as below), size relative to zlib at the
    /// same level on the whole shuffled chunk (what h5py writes):
    ///
    /// | images | zlib 3 → libdeflate 1 | zlib 4 → 2 | zlib 6 → 4 | zlib 9 → 7 |
    /// |---|---|---|---|---|
    /// | simulated SDSS sky (photoz simulate) | 0.995 | 0.995 | 0.995 | – |
    /// | ingest benchmark MEF cutouts | – | 0.994 | – | – |
    /// | Gaussian noise (convert benchmark) | – | 0.992 | – | – |
    /// | the same MEF cutouts quantised (16 levels per noise σ, as Rice-compressed FITS) | 0.976 | 0.938 | 0.936 | 0.938 |
    ///
    /// (libdeflate 4 against zlib 4, same rows: 0.993, 0.989, 0.987, 0.930 of the size.) Levels 1 and 2
    /// stay themselves; a chunk written through HDF5's own filter (when libdeflate refuses)
    /// uses zlib at the dataset's level.
    static func libdeflateLevel(forZlibLevel level: Int) -> Int { level >= 3 ? level - 2 : level }

    /// The zlib stream of a (shuffled) chunk.
    ///
    /// After the shuffle filter, a chunk of float32 images is four byte planes; the three
    /// planes of low mantissa bytes hold the images' noise and do not compress at all (deflate
    /// at any level gives 1.000 of their size), yet searching them for matches is three
    /// quarters of the work. Leading planes that are noise (`isNoise`) are therefore
    /// written as DEFLATE *stored* blocks (a copy), and libdeflate compresses the rest at the
    /// dataset's level; the result is one ordinary zlib stream (RFC 1950/1951) that HDF5's
    /// deflate filter and every zlib reader decode. On images this is about 3× faster than
    /// compressing the whole chunk and compresses as well (ingest benchmark cutouts: 0.853 of the
    /// raw size at `gzip:4`, zlib's own level 4 on the whole chunk: 0.858).
    ///
    /// - Returns: the stream's length, or 0 when it does not fit in `capacity`.
    static func zlibStream(_ data: UnsafeRawBufferPointer, planes: Int, compressor: OpaquePointer,
                           into output: UnsafeMutableRawPointer, capacity: Int) -> Int {
        let planeBytes = data.count / max(planes, 1)
        var storedBytes = 0
        if planes > 1 && planeBytes > 0 {
            while storedBytes / planeBytes < planes,
                  isNoise(UnsafeRawBufferPointer(rebasing: data[storedBytes..<storedBytes + planeBytes]), compressor: compressor) {
                storedBytes += planeBytes
            }
            if storedBytes / planeBytes == planes { storedBytes = data.count }  // trailing bytes too
        }
        if storedBytes == 0 {
            return libdeflate_zlib_compress(compressor, data.baseAddress, data.count, output, capacity)
        }
        guard capacity >= 2 + storedOverhead(storedBytes) + storedBytes + 4 else { return 0 }
        let out = output.assumingMemoryBound(to: UInt8.self)
        out[0] = 0x78; out[1] = 0x01  // deflate, 32 KiB window; (0x78 << 8 | 0x01) % 31 == 0
        var position = 2
        var offset = 0
        while offset < storedBytes {
            let length = min(65_535, storedBytes - offset)
            let final: UInt8 = offset + length == data.count ? 1 : 0
            out[position] = final  // BFINAL, BTYPE = 00 (stored); the rest of the byte is padding
            out[position + 1] = UInt8(length & 0xff); out[position + 2] = UInt8(length >> 8)
            out[position + 3] = ~UInt8(length & 0xff); out[position + 4] = ~UInt8(length >> 8)
            (output + position + 5).copyMemory(from: data.baseAddress! + offset, byteCount: length)
            position += 5 + length
            offset += length
        }
        if storedBytes < data.count {  // a stored block ends on a byte boundary: the raw stream follows
            let produced = libdeflate_deflate_compress(compressor, data.baseAddress! + storedBytes, data.count - storedBytes,
                                                       output + position, capacity - position - 4)
            guard produced > 0 else { return 0 }
            position += produced
        }
        let adler = libdeflate_adler32(1, data.baseAddress, data.count)
        for k in 0..<4 { out[position + k] = UInt8(truncatingIfNeeded: adler >> (24 - 8 * k)) }
        return position + 4
    }

    /// Byte planes at or above this many bits per byte are stored, not compressed, if a trial
    /// on their first `trialBytes` bytes does not shrink them below `trialRatio` either.
    static let incompressibleEntropy = 7.9
    static let trialBytes = 8192
    static let trialRatio = 0.995

    /// Whether deflate cannot shrink `plane`: an order-0 entropy near 8 bits per byte, and a
    /// trial compression of its start that saves less than 0.5 %. (Quantised images, e.g. from
    /// Rice-compressed FITS files, have near-8-bit planes that deflate still shrinks by 5 %
    /// through repeats; the trial catches them.)
    static func isNoise(_ plane: UnsafeRawBufferPointer, compressor: OpaquePointer) -> Bool {
        guard byteEntropy(plane) >= incompressibleEntropy else { return false }
        let sample = min(trialBytes, plane.count)
        let limit = Int(Double(sample) * trialRatio)
        return withUnsafeTemporaryAllocation(byteCount: max(limit, 1), alignment: 16) { out in
            // libdeflate returns 0 when the output does not fit in `limit` bytes.
            libdeflate_deflate_compress(compressor, plane.baseAddress, sample, out.baseAddress, limit) == 0
        }
    }

    /// Bytes that stored blocks add to `bytes` of data (5 per block of at most 65,535).
    static func storedOverhead(_ bytes: Int) -> Int { 5 * (bytes / 65_535 + 1) }

    /// Order-0 entropy of the bytes, in bits per byte (0 for no bytes).
    static func byteEntropy(_ bytes: UnsafeRawBufferPointer) -> Double {
        guard !bytes.isEmpty else { return 0 }
        // Four tables, summed at the end: consecutive equal bytes (an image's exponent plane is
        // full of them) would otherwise wait on each other's increment of one counter.
        var counts = [Int](repeating: 0, count: 4 * 256)
        counts.withUnsafeMutableBufferPointer { c in
            let base = c.baseAddress!, p = bytes.baseAddress!, n = bytes.count
            var i = 0
            while i + 4 <= n {
                base[Int(p.load(fromByteOffset: i, as: UInt8.self))] += 1
                base[256 + Int(p.load(fromByteOffset: i + 1, as: UInt8.self))] += 1
                base[512 + Int(p.load(fromByteOffset: i + 2, as: UInt8.self))] += 1
                base[768 + Int(p.load(fromByteOffset: i + 3, as: UInt8.self))] += 1
                i += 4
            }
            while i < n { base[Int(p.load(fromByteOffset: i, as: UInt8.self))] += 1; i += 1 }
            for v in 0..<256 { base[v] += base[256 + v] + base[512 + v] + base[768 + v] }
        }
        counts.removeLast(3 * 256)
        let n = Double(bytes.count)
        return counts.reduce(0.0) { h, count in count == 0 ? h : h - Double(count) / n * log2(Double(count) / n) }
    }

    /// HDF5's shuffle filter: for elements of `elementSize` bytes, all first bytes, then all
    /// second bytes, …; trailing bytes that do not fill an element are copied as they are.
    static func shuffle(_ source: UnsafeRawBufferPointer, into target: UnsafeMutableRawBufferPointer, elementSize: Int) {
        precondition(target.count >= source.count, "shuffle: target smaller than source")
        let count = source.count / elementSize
        let input = source.bindMemory(to: UInt8.self).baseAddress!
        let output = target.bindMemory(to: UInt8.self).baseAddress!
        #if _endian(little)
        if elementSize == 4 {  // float32 and int32: four planes written in one pass
            let word = UnsafeRawPointer(input)
            let p0 = output, p1 = output + count, p2 = output + 2 * count, p3 = output + 3 * count
            for index in 0..<count {
                let v = word.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)
                p0[index] = UInt8(truncatingIfNeeded: v); p1[index] = UInt8(truncatingIfNeeded: v >> 8)
                p2[index] = UInt8(truncatingIfNeeded: v >> 16); p3[index] = UInt8(truncatingIfNeeded: v >> 24)
            }
            for index in count * 4..<source.count { output[index] = input[index] }
            return
        }
        #endif
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
        #if _endian(little)
        if elementSize == 4 {  // float32 and int32: four planes read in one pass
            let word = UnsafeMutableRawPointer(output)
            let p0 = input, p1 = input + count, p2 = input + 2 * count, p3 = input + 3 * count
            for index in 0..<count {
                let v = UInt32(p0[index]) | UInt32(p1[index]) << 8 | UInt32(p2[index]) << 16 | UInt32(p3[index]) << 24
                word.storeBytes(of: v, toByteOffset: 4 * index, as: UInt32.self)
            }
            for index in count * 4..<source.count { output[index] = input[index] }
            return
        }
        #endif
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

/// The next chunk to compress, claimed by the workers in turn.
private final class ChunkCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0

    func claim(below count: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }
}

/// A libdeflate compressor and the two chunk buffers a worker uses.
private final class CompressorWorkspace: @unchecked Sendable {
    let level: Int
    let compressor: OpaquePointer
    let scratch: UnsafeMutableRawBufferPointer
    let shuffled: UnsafeMutableRawBufferPointer

    init?(level: Int, chunkBytes: Int) {
        guard let compressor = libdeflate_alloc_compressor(Int32(level)) else { return nil }
        self.level = level
        self.compressor = compressor
        scratch = .allocate(byteCount: chunkBytes, alignment: 64)
        shuffled = .allocate(byteCount: chunkBytes, alignment: 64)
    }

    deinit {
        libdeflate_free_compressor(compressor)
        scratch.deallocate()
        shuffled.deallocate()
    }
}

/// Workspaces kept from one group of chunks to the next: a shard is compressed in groups of
/// 16 chunks, and a fresh compressor and fresh buffers per group and worker (about 1 MB of new
/// pages for 64×64 images) showed as page faults and page zeroing in the kernel's share of a
/// convert. At most one per core and (level, chunk size) is kept.
private final class CompressorPool: @unchecked Sendable {
    static let shared = CompressorPool()
    private let lock = NSLock()
    private var idle: [CompressorWorkspace] = []

    func take(level: Int, chunkBytes: Int) -> CompressorWorkspace? {
        lock.lock()
        if let k = idle.firstIndex(where: { $0.level == level && $0.scratch.count == chunkBytes }) {
            defer { lock.unlock() }
            return idle.remove(at: k)
        }
        lock.unlock()
        return CompressorWorkspace(level: level, chunkBytes: chunkBytes)
    }

    func give(_ workspace: CompressorWorkspace) {
        lock.lock()
        defer { lock.unlock() }
        idle.append(workspace)
        // Bounded: the newest few are kept (one per core), older ones of other sizes go.
        let keep = max(2, ProcessInfo.processInfo.activeProcessorCount)
        if idle.count > keep { idle.removeFirst(idle.count - keep) }
    }
}

/// The output shared by the workers; each writes only its own chunks' slots.
private struct SharedOutput: @unchecked Sendable {
    let result: DeflatedChunks
    let sizes: UnsafeMutableBufferPointer<Int>
}
