import CZlib
import Foundation

/// Writes an `.npz` as `numpy.savez` does: a zip of stored (uncompressed) `.npy` entries,
/// ZIP64 where an entry or an offset passes 4 GiB. Entries are streamed: `begin` an array of a
/// known shape, `write` its bytes in row order, `end` it (the CRC-32 is computed on the way and
/// patched into the local header, whose sizes are known in advance).
final class NpzWriter {
    private let path: String
    private let fd: Int32
    private var offset = 0
    private var central: [(name: String, crc: UInt32, size: Int, offset: Int)] = []
    private var current: (name: String, headerOffset: Int, size: Int, written: Int, crc: UInt32)?

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PhotoZDataError.io(path: path, message: "cannot create: \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    private static let zip64Limit = 0xFFFF_FFFF

    /// Starts array `name` of `dtype` and `shape` (C order).
    func begin(_ name: String, dtype: NumpyDType, shape: [Int]) throws {
        precondition(current == nil, "begin before end")
        let npyHeader = Self.npyHeader(dtype: dtype, shape: shape)
        let size = npyHeader.count + shape.reduce(dtype.size, *)
        let file = Array((name + ".npy").utf8)
        let zip64 = size >= Self.zip64Limit
        var h = Bytes()
        h.u32(0x0403_4B50); h.u16(zip64 ? 45 : 20); h.u16(0); h.u16(0)  // signature, version, flags, stored
        h.u16(0); h.u16(0x21)  // time 00:00:00, date 1980-01-01
        h.u32(0)  // CRC-32, patched by `end`
        h.u32(zip64 ? UInt32(Self.zip64Limit) : UInt32(size)); h.u32(zip64 ? UInt32(Self.zip64Limit) : UInt32(size))
        h.u16(file.count); h.u16(zip64 ? 20 : 0)
        h.bytes += file
        if zip64 { h.u16(1); h.u16(16); h.u64(size); h.u64(size) }
        current = (name + ".npy", offset, size, 0, 0)
        try put(h.bytes)
        try npyHeader.withUnsafeBytes { try write($0) }
    }

    /// Appends bytes of the current array.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var c = current else { preconditionFailure("write outside an array") }
        precondition(c.written + bytes.count <= c.size, "more bytes than the array's shape")
        if bytes.count > 0 {
            c.crc = UInt32(crc32_z(UInt(c.crc), bytes.baseAddress!.assumingMemoryBound(to: Bytef.self), bytes.count))
            try put(bytes)
        }
        c.written += bytes.count
        current = c
    }

    /// Ends the current array: every byte its shape needs must have been written.
    func end() throws {
        guard let c = current else { preconditionFailure("end outside an array") }
        precondition(c.written == c.size, "\(c.name): \(c.written) of \(c.size) bytes written")
        var crc = c.crc.littleEndian
        guard pwrite(fd, &crc, 4, off_t(c.headerOffset + 14)) == 4 else { throw failure("write failed") }
        central.append((c.name, c.crc, c.size, c.headerOffset))
        current = nil
    }

    /// Writes an array held in memory.
    func array<T>(_ name: String, dtype: NumpyDType, shape: [Int], _ values: [T]) throws {
        try begin(name, dtype: dtype, shape: shape)
        try values.withUnsafeBytes { try write($0) }
        try end()
    }

    /// Writes the central directory and flushes the file to disk.
    func finish() throws {
        precondition(current == nil, "finish inside an array")
        let start = offset
        var d = Bytes()
        for e in central {
            let file = Array(e.name.utf8)
            let bigSize = e.size >= Self.zip64Limit, bigOffset = e.offset >= Self.zip64Limit
            var extra = Bytes()
            if bigSize { extra.u64(e.size); extra.u64(e.size) }
            if bigOffset { extra.u64(e.offset) }
            d.u32(0x0201_4B50); d.u16(45); d.u16(bigSize || bigOffset ? 45 : 20); d.u16(0); d.u16(0); d.u16(0); d.u16(0x21)
            d.u32(e.crc)
            d.u32(bigSize ? UInt32(Self.zip64Limit) : UInt32(e.size)); d.u32(bigSize ? UInt32(Self.zip64Limit) : UInt32(e.size))
            d.u16(file.count); d.u16(extra.bytes.isEmpty ? 0 : 4 + extra.bytes.count); d.u16(0); d.u16(0); d.u16(0)
            d.u32(0o100644 << 16)  // external attributes: a regular file, rw-r--r--
            d.u32(bigOffset ? UInt32(Self.zip64Limit) : UInt32(e.offset))
            d.bytes += file
            if !extra.bytes.isEmpty { d.u16(1); d.u16(extra.bytes.count); d.bytes += extra.bytes }
        }
        let size = d.bytes.count
        var end = Bytes()
        let zip64 = start >= Self.zip64Limit || central.count >= 0xFFFF || central.contains { $0.size >= Self.zip64Limit || $0.offset >= Self.zip64Limit }
        if zip64 {
            let record = start + size
            end.u32(0x0606_4B50); end.u64(44); end.u16(45); end.u16(45); end.u32(0); end.u32(0)
            end.u64(central.count); end.u64(central.count); end.u64(size); end.u64(start)
            end.u32(0x0706_4B50); end.u32(0); end.u64(record); end.u32(1)
        }
        end.u32(0x0605_4B50); end.u16(0); end.u16(0)
        end.u16(min(central.count, 0xFFFF)); end.u16(min(central.count, 0xFFFF))
        end.u32(UInt32(min(size, Self.zip64Limit))); end.u32(UInt32(min(start, Self.zip64Limit))); end.u16(0)
        try put(d.bytes)
        try put(end.bytes)
        guard fsync(fd) == 0 else { throw failure("fsync failed") }
    }

    private func put(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try put($0) } }

    private func put(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw failure("write failed") }
            done += n
        }
        offset += bytes.count
    }

    private func failure(_ what: String) -> PhotoZDataError {
        .io(path: path, message: "\(what): \(String(cString: strerror(errno))) (errno \(errno))")
    }

    /// The `.npy` header (version 1.0, or 2.0 if longer than 65535 bytes), padded with spaces
    /// so that the data start at a multiple of 64 bytes, as numpy writes it.
    static func npyHeader(dtype: NumpyDType, shape: [Int]) -> [UInt8] {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var text = "{'descr': '\(dtype)', 'fortran_order': False, 'shape': \(dims), }"
        let prefix = text.utf8.count + 11 < 65536 ? 10 : 12
        while (prefix + text.utf8.count + 1) % 64 != 0 { text += " " }
        text += "\n"
        let n = text.utf8.count
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [prefix == 10 ? 1 : 2, 0]
        if prefix == 10 { out += [UInt8(n & 0xFF), UInt8(n >> 8)] } else { out += (0..<4).map { UInt8((n >> (8 * $0)) & 0xFF) } }
        return out + Array(text.utf8)
    }
}

/// Little-endian byte building.
private struct Bytes {
    var bytes: [UInt8] = []
    mutating func u16(_ v: Int) { bytes += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
    mutating func u32(_ v: UInt32) { for k in 0..<4 { bytes.append(UInt8((v >> (8 * UInt32(k))) & 0xFF)) } }
    mutating func u32(_ v: Int) { u32(UInt32(truncatingIfNeeded: v)) }
    mutating func u64(_ v: Int) { for k in 0..<8 { bytes.append(UInt8((UInt64(v) >> (8 * UInt64(k))) & 0xFF)) } }
}
