import Foundation
import HDF5

/// The SHA-256 of a file computed while the file is written, instead of reading it all back
/// once it is closed.
///
/// It follows one run of chunks that lie in the file in order and are written in that order
/// (the images of a shard whose storage was reserved at creation). Each chunk is hashed from
/// the writer's memory as it is written; the bytes before and between chunks (HDF5 metadata,
/// written by a flush before the first chunk) are read from the file and kept. After the file
/// is closed, `finish` checks that the kept bytes and the chunks' places are unchanged, then
/// hashes the rest of the file. Anything unexpected (a chunk out of order, moved or of another
/// size, metadata rewritten differently, a failed read) makes `finish` return nil and the
/// caller hashes the whole file: the checksum is never wrong, only sometimes not early.
final class StreamingFileHash: @unchecked Sendable {  // used by one thread at a time
    typealias Location = (offset: Int, size: Int)

    let path: String
    private let descriptor: Int32
    private let chunks: [Location]
    private var hash: SHA256? = SHA256()
    /// The next chunk expected and the number of bytes hashed so far (a file offset).
    private var next = 0, position = 0
    /// File bytes hashed from the file itself, to be compared once the file is closed.
    private var kept: [(offset: Int, bytes: [UInt8])] = []
    private var keptBytes = 0
    private var broken = false

    /// Starts following the file at `path`, whose chunks lie at `chunks` (in write order).
    /// Nil when the places are not in increasing order or the file cannot be opened.
    init?(path: String, chunks: [Location?]) {
        let located = chunks.compactMap { $0 }
        guard located.count == chunks.count, !located.isEmpty,
              zip(located, located.dropFirst()).allSatisfy({ $0.offset + $0.size <= $1.offset }) else { return nil }
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        self.path = path
        self.descriptor = descriptor
        self.chunks = located
    }

    deinit { close(descriptor) }

    /// Chunk `index` now holds `bytes` in the file.
    func chunkWritten(_ index: Int, _ bytes: UnsafeRawBufferPointer) {
        guard !broken else { return }
        guard index == next, index < chunks.count, bytes.count == chunks[index].size, position <= chunks[index].offset,
              hashFromFile(upTo: chunks[index].offset, keeping: true) else {
            broken = true
            return
        }
        hash!.update(bytes)
        position += bytes.count
        next += 1
    }

    /// The file's SHA-256, once it is closed; `chunksAtClose` are the chunks' places read just
    /// before closing. Nil when the early hash cannot be trusted (hash the file whole then).
    func finish(chunksAtClose: [Location?]) -> String? {
        defer { broken = true }
        guard !broken, chunksAtClose.count == chunks.count,
              zip(chunksAtClose, chunks).allSatisfy({ $0.0?.offset == $0.1.offset && $0.0?.size == $0.1.size }) else { return nil }
        for (offset, bytes) in kept {
            var now = [UInt8](repeating: 0, count: bytes.count)
            guard readFully(into: &now, at: offset), now == bytes else { return nil }
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, hashFromFile(upTo: Int(info.st_size), keeping: false) else { return nil }
        return hash.take()!.finalizeHex()
    }

    /// Hashes the file from `position` to `end`, read from the file (kept for `finish` when asked).
    private func hashFromFile(upTo end: Int, keeping: Bool) -> Bool {
        guard end > position else { return end == position }
        if keeping {
            keptBytes += end - position
            guard keptBytes <= 16 << 20 else { return false }  // metadata is small; anything else is not
            var bytes = [UInt8](repeating: 0, count: end - position)
            guard readFully(into: &bytes, at: position) else { return false }
            // The superblock says "open for writing" until libhdf5 closes the file.
            if position == 0 && !HDF5File.asClosed(firstBytes: &bytes) { return false }
            bytes.withUnsafeBytes { hash!.update($0) }
            kept.append((position, bytes))
        } else {
            var buffer = [UInt8](repeating: 0, count: min(end - position, 4 << 20))
            while position < end {
                let count = min(buffer.count, end - position)
                guard readFully(into: &buffer, count: count, at: position) else { return false }
                buffer.withUnsafeBytes { hash!.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                position += count
            }
        }
        position = end
        return true
    }

    private func readFully(into buffer: inout [UInt8], count: Int? = nil, at offset: Int) -> Bool {
        let count = count ?? buffer.count
        return buffer.withUnsafeMutableBytes { raw in
            var done = 0
            while done < count {
                let n = pread(descriptor, raw.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                done += n
            }
            return true
        }
    }
}
