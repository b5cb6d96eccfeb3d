import CZlib
import Foundation

/// A zip archive opened for reading its entries as streams: what `numpy.savez` and
/// `numpy.savez_compressed` write (`.npz`), stored or deflated, with or without ZIP64.
///
/// Every offset and size read from the archive is checked against the file's size before it is
/// used, so a damaged or hostile file is refused with a message, never read out of bounds, and
/// nothing is allocated from a declared size.
final class ZipArchive {
    struct Entry {
        var name: String
        /// 0 stored, 8 deflated.
        var method: Int
        var compressedSize: Int
        var uncompressedSize: Int
        var localHeaderOffset: Int
    }

    let path: String
    let file: ReadableFile
    let entries: [Entry]

    init(path: String) throws {
        self.path = path
        file = try ReadableFile(path: path)
        entries = try Self.readDirectory(file, path)
    }

    func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }

    private static func readDirectory(_ file: ReadableFile, _ path: String) throws -> [Entry] {
        func bad(_ what: String) -> PhotoZDataError { .schema(path: path, message: "not a readable zip/npz archive: \(what)") }
        let size = file.size
        guard size >= 22 else { throw bad("\(size) bytes, too short for a zip directory") }
        // The end-of-central-directory record lies in the last 22 + 65535 bytes (its comment).
        let tailStart = max(0, size - 22 - 65535)
        let tail = try file.read(at: tailStart, count: size - tailStart)
        guard let eocd = stride(from: tail.count - 22, through: 0, by: -1).first(where: { tail.u32($0) == 0x0605_4B50 }) else {
            throw bad("no end-of-central-directory record (is it a .npz file?)")
        }
        var count = Int(tail.u16(eocd + 10)), directorySize = Int(tail.u32(eocd + 12)), directoryOffset = Int(tail.u32(eocd + 16))
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // ZIP64: the locator just before the record points at the ZIP64 record.
            let locator = tailStart + eocd - 20
            guard locator >= 0, try file.read(at: locator, count: 20).u32(0) == 0x0706_4B50 else { throw bad("ZIP64 sizes without a ZIP64 locator") }
            let record = Int(clamping: try file.read(at: locator + 8, count: 8).u64(0))
            guard record >= 0, record <= size - 56 else { throw bad("ZIP64 record offset \(record) outside the file") }
            let r = try file.read(at: record, count: 56)
            guard r.u32(0) == 0x0606_4B50 else { throw bad("no ZIP64 end-of-central-directory record where the locator points") }
            count = Int(clamping: r.u64(32))
            directorySize = Int(clamping: r.u64(40))
            directoryOffset = Int(clamping: r.u64(48))
        }
        guard directoryOffset >= 0, directorySize >= 0, directoryOffset <= size, directorySize <= size - directoryOffset else {
            throw bad("central directory (\(directorySize) bytes at \(directoryOffset)) outside the file's \(size) bytes")
        }
        guard count <= directorySize / 46 else { throw bad("\(count) entries cannot fit a \(directorySize)-byte directory") }
        let directory = try file.read(at: directoryOffset, count: directorySize)
        var entries: [Entry] = []
        var p = 0
        for k in 0..<count {
            guard p + 46 <= directory.count, directory.u32(p) == 0x0201_4B50 else { throw bad("directory entry \(k) is damaged") }
            let flags = directory.u16(p + 8), method = Int(directory.u16(p + 10))
            var compressed = Int(directory.u32(p + 20)), uncompressed = Int(directory.u32(p + 24))
            let nameLength = Int(directory.u16(p + 28)), extraLength = Int(directory.u16(p + 30)), commentLength = Int(directory.u16(p + 32))
            var offset = Int(directory.u32(p + 42))
            guard p + 46 + nameLength + extraLength + commentLength <= directory.count else { throw bad("directory entry \(k) runs past the directory") }
            let name = String(decoding: directory[p + 46..<p + 46 + nameLength], as: UTF8.self)
            // ZIP64 extra field: the 64-bit values of the fields set to 0xFFFFFFFF, in this order.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = directory.u16(e), length = Int(directory.u16(e + 2))
                guard e + 4 + length <= extraEnd else { break }
                if id == 1 {
                    var q = e + 4
                    func next() -> Int? {
                        guard q + 8 <= e + 4 + length else { return nil }
                        defer { q += 8 }
                        return Int(clamping: directory.u64(q))
                    }
                    if uncompressed == 0xFFFF_FFFF, let v = next() { uncompressed = v }
                    if compressed == 0xFFFF_FFFF, let v = next() { compressed = v }
                    if offset == 0xFFFF_FFFF, let v = next() { offset = v }
                }
                e += 4 + length
            }
            guard flags & 1 == 0 else { throw bad("entry \(name) is encrypted") }
            guard method == 0 || method == 8 else { throw bad("entry \(name) uses compression method \(method); photoz reads stored (0) and deflated (8) entries (numpy.savez and savez_compressed)") }
            guard offset >= 0, compressed >= 0, uncompressed >= 0, offset <= size, compressed <= size - offset else {
                throw bad("entry \(name): \(compressed) bytes at \(offset) lie outside the file's \(size) bytes")
            }
            if method == 0, compressed != uncompressed { throw bad("stored entry \(name) declares \(uncompressed) bytes but holds \(compressed)") }
            entries.append(Entry(name: name, method: method, compressedSize: compressed, uncompressedSize: uncompressed, localHeaderOffset: offset))
            p += 46 + nameLength + extraLength + commentLength
        }
        return entries
    }

    /// A stream of the bytes of `entry`, read in order.
    func stream(_ entry: Entry) throws -> ZipEntryStream {
        let header = try file.read(at: entry.localHeaderOffset, count: min(30, file.size - entry.localHeaderOffset))
        guard header.count == 30, header.u32(0) == 0x0403_4B50 else {
            throw PhotoZDataError.schema(path: path, message: "entry \(entry.name): no local header at offset \(entry.localHeaderOffset)")
        }
        let start = entry.localHeaderOffset + 30 + Int(header.u16(26)) + Int(header.u16(28))
        guard start <= file.size, entry.compressedSize <= file.size - start else {
            throw PhotoZDataError.schema(path: path, message: "entry \(entry.name): its \(entry.compressedSize) bytes run past the end of the file (truncated?)")
        }
        return try ZipEntryStream(archive: self, entry: entry, dataStart: start)
    }
}

/// The bytes of one zip entry, read sequentially in caller-sized pieces; deflated entries are
/// inflated with zlib as they are read, never beyond the declared size.
final class ZipEntryStream {
    let archive: ZipArchive
    let entry: ZipArchive.Entry
    private let dataStart: Int
    /// Compressed bytes consumed so far.
    private var consumed = 0
    /// Uncompressed bytes produced so far.
    private(set) var position = 0
    private var zstream = z_stream()
    private var inflating = false
    static let inputBlock = 1 << 20
    /// Compressed bytes being inflated; zlib points into it between calls.
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: ZipEntryStream.inputBlock, alignment: 16)

    init(archive: ZipArchive, entry: ZipArchive.Entry, dataStart: Int) throws {
        self.archive = archive
        self.entry = entry
        self.dataStart = dataStart
        if entry.method == 8 {
            // Raw deflate (no zlib header), as zip stores it: window bits −15.
            let status = inflateInit2_(&zstream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else { throw failure("inflateInit2 failed (zlib status \(status))") }
            inflating = true
        }
    }

    deinit {
        if inflating { inflateEnd(&zstream) }
        input.deallocate()
    }

    private func failure(_ what: String) -> PhotoZDataError {
        .schema(path: archive.path, message: "entry \(entry.name), byte \(position): \(what)")
    }

    /// Fills `buffer` with the next bytes of the entry; throws if the entry ends first.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        guard buffer.count <= entry.uncompressedSize - position else {
            throw failure("asked for \(buffer.count) bytes but only \(entry.uncompressedSize - position) remain")
        }
        if entry.method == 0 {
            try archive.file.read(at: dataStart + position, into: buffer)
            position += buffer.count
            return
        }
        zstream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
        zstream.avail_out = UInt32(buffer.count)
        while zstream.avail_out > 0 {
            if zstream.avail_in == 0 {
                let take = min(Self.inputBlock, entry.compressedSize - consumed)
                guard take > 0 else { throw failure("the compressed data end early (truncated file?)") }
                try archive.file.read(at: dataStart + consumed, into: UnsafeMutableRawBufferPointer(rebasing: input[0..<take]))
                consumed += take
                zstream.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                zstream.avail_in = UInt32(take)
            }
            let before = zstream.avail_out
            let status = inflate(&zstream, Z_NO_FLUSH)
            if status == Z_STREAM_END, zstream.avail_out > 0 { throw failure("the compressed data end before the declared \(entry.uncompressedSize) bytes") }
            guard status == Z_OK || status == Z_STREAM_END || (status == Z_BUF_ERROR && zstream.avail_out < before) else {
                throw failure("corrupt deflate data (zlib status \(status)\(zstream.msg.map { ": " + String(cString: $0) } ?? ""))")
            }
        }
        position += buffer.count
    }

    /// Reads `count` bytes into a new array (small pieces: headers).
    func read(count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try read(into: $0) }
        return bytes
    }
}

/// A file read with `pread`, its size taken once at opening.
final class ReadableFile {
    let path: String
    let size: Int
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PhotoZDataError.io(path: path, message: "cannot open: \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw PhotoZDataError.io(path: path, message: "not a regular file")
        }
        size = Int(st.st_size)
    }

    deinit { close(fd) }

    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                throw PhotoZDataError.io(path: path, message: n == 0 ? "ends at byte \(offset + done), expected \(offset + buffer.count) (truncated?)"
                                                                       : "read failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    func read(at offset: Int, count: Int) throws -> [UInt8] {
        precondition(count >= 0 && count <= size, "read of \(count) bytes from a \(size)-byte file")
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try read(at: offset, into: $0) }
        return bytes
    }
}

extension Array where Element == UInt8 {
    func u16(_ i: Int) -> UInt16 { UInt16(self[i]) | UInt16(self[i + 1]) << 8 }
    func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) | UInt32(u16(i + 2)) << 16 }
    func u64(_ i: Int) -> UInt64 { UInt64(u32(i)) | UInt64(u32(i + 4)) << 32 }
}
