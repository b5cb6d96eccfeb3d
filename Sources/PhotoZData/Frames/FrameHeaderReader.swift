import CBZip2
import CZlib
import Foundation

/// Reads the primary header of a frame file — plain, `.gz` or `.bz2` — by decompressing only
/// as far as its END card.
///
/// cfitsio decompresses a whole `.bz2` file (12 MB for an SDSS frame, about 0.4 s) just to
/// open it, so indexing frames by their headers through cfitsio would decompress every frame
/// twice. Reading the first few blocks with libbz2/zlib costs one bzip2 block (≈ 1/14 of a
/// frame). This is the only file that calls libbz2 and zlib.
enum FrameHeaderReader {
    /// Headers longer than this are refused rather than read without bound (SDSS frames: 3 blocks).
    static let maximumBlocks = 200

    /// The 80-character cards of the primary header, END card excluded.
    static func primaryHeader(_ path: String) throws -> FITSHeaderCards {
        var bytes: [UInt8] = []
        let block = 2880
        var chunk = [UInt8](repeating: 0, count: block)
        let reader = try open(path)
        defer { reader.close() }
        while bytes.count < maximumBlocks * block {
            let got = try reader.read(&chunk)
            guard got == block else {
                throw PhotoZDataError.io(path: path, message: got == 0 && bytes.isEmpty ? "empty file; is it a FITS frame?" : "the primary header ends after \(bytes.count + got) bytes without an END card; the file is truncated or not FITS")
            }
            if bytes.isEmpty && !chunk.starts(with: Array("SIMPLE  =".utf8)) {
                throw PhotoZDataError.io(path: path, message: "not a FITS file (it does not start with SIMPLE =)\(path.hasSuffix(".bz2") || path.hasSuffix(".gz") ? " once decompressed" : "")")
            }
            bytes += chunk
            if let end = FITSHeaderCards.endCard(in: chunk) {
                return FITSHeaderCards(bytes: Array(bytes.prefix(bytes.count - block + end * 80)))
            }
        }
        throw PhotoZDataError.io(path: path, message: "no END card in the first \(maximumBlocks) header blocks; not a FITS frame")
    }

    /// The first `bytes` bytes of a plain, `.gz` or `.bz2` file (the primary HDU: header and
    /// image, not the extensions), decompressed into memory.
    ///
    /// Decompressing here rather than through cfitsio keeps frames in parallel (cfitsio
    /// decompresses whole files inside `ffopen`, under its process-wide lock, one at a time, and
    /// a run deadlocked once in that lock), skips the extensions (a fifth of an SDSS frame), and
    /// writes no temporary file for cfitsio to read back (12 MB each way per SDSS frame).
    static func readPrimaryHDU(_ path: String, bytes: Int) throws -> [UInt8] {
        let reader = try open(path)
        defer { reader.close() }
        var buffer = [UInt8](repeating: 0, count: bytes)
        let got = try reader.read(&buffer)
        guard got == bytes else {
            throw PhotoZDataError.io(path: path, message: "the file ends \(got) bytes into its primary HDU, which its header says is \(bytes) bytes; the file is truncated")
        }
        return buffer
    }

    private protocol Reader {
        func read(_ buffer: inout [UInt8]) throws -> Int
        func close()
    }

    private static func open(_ path: String) throws -> any Reader {
        path.lowercased().hasSuffix(".bz2") ? try BZip2Reader(path) : try GzipReader(path)
    }

    /// zlib's gzread reads plain files as they are and inflates `.gz` ones.
    private final class GzipReader: Reader {
        let path: String
        let file: gzFile
        init(_ path: String) throws {
            guard let file = gzopen(path, "rb") else {
                throw PhotoZDataError.io(path: path, message: "cannot open: \(String(cString: strerror(errno)))")
            }
            self.path = path
            self.file = file
        }
        func read(_ buffer: inout [UInt8]) throws -> Int {
            var total = 0
            while total < buffer.count {
                let n = buffer.withUnsafeMutableBytes { gzread(file, $0.baseAddress! + total, UInt32($0.count - total)) }
                if n < 0 {
                    var code: Int32 = 0
                    let message = gzerror(file, &code).map { String(cString: $0) } ?? "error \(code)"
                    throw PhotoZDataError.io(path: path, message: "cannot decompress (gzread): \(message)")
                }
                if n == 0 { break }
                total += Int(n)
            }
            return total
        }
        func close() { gzclose(file) }
    }

    /// libbz2's streaming reader: decompresses block by block, so stopping early is cheap.
    private final class BZip2Reader: Reader {
        let path: String
        let stream: UnsafeMutablePointer<FILE>
        var bz: UnsafeMutableRawPointer?
        var ended = false
        init(_ path: String) throws {
            guard let stream = fopen(path, "rb") else {
                throw PhotoZDataError.io(path: path, message: "cannot open: \(String(cString: strerror(errno)))")
            }
            var status: Int32 = 0
            bz = BZ2_bzReadOpen(&status, stream, 0, 0, nil, 0)
            guard status == BZ_OK else {
                fclose(stream)
                throw PhotoZDataError.io(path: path, message: "cannot start bzip2 decompression (BZ2_bzReadOpen status \(status))")
            }
            self.path = path
            self.stream = stream
        }
        func read(_ buffer: inout [UInt8]) throws -> Int {
            var total = 0
            while total < buffer.count && !ended {
                var status: Int32 = 0
                let n = buffer.withUnsafeMutableBytes { BZ2_bzRead(&status, bz, $0.baseAddress! + total, Int32($0.count - total)) }
                if status == BZ_STREAM_END { ended = true } else if status != BZ_OK {
                    throw PhotoZDataError.io(path: path, message: "cannot decompress (BZ2_bzRead status \(status)\(status == BZ_DATA_ERROR_MAGIC ? ": not a bzip2 file" : status == BZ_UNEXPECTED_EOF ? ": the file is truncated" : ""))")
                }
                total += Int(max(0, n))
            }
            return total
        }
        func close() {
            var status: Int32 = 0
            BZ2_bzReadClose(&status, bz)
            fclose(stream)
        }
    }
}

/// A FITS header as its raw 80-character cards, with the few typed reads the frame index needs.
struct FITSHeaderCards: Sendable {
    /// Concatenated cards, END excluded.
    let bytes: [UInt8]

    var text: String { String(decoding: bytes, as: UTF8.self) }
    var cardCount: Int { bytes.count / 80 }

    /// The index of the END card within a block, if it holds one.
    static func endCard(in block: [UInt8]) -> Int? {
        let end = Array("END".utf8)
        for card in 0..<block.count / 80 {
            let start = card * 80
            if Array(block[start..<start + 3]) == end && block[start + 3..<start + 8].allSatisfy({ $0 == 0x20 }) { return card }
        }
        return nil
    }

    /// The value text of `keyword` (quotes removed from strings, comment dropped), or nil.
    func value(_ keyword: String) -> String? {
        let key = Array(keyword.utf8) + [UInt8](repeating: 0x20, count: max(0, 8 - keyword.utf8.count))
        for card in 0..<cardCount {
            let start = card * 80
            guard Array(bytes[start..<start + 8]) == key, bytes[start + 8] == UInt8(ascii: "=") else { continue }
            let field = String(decoding: bytes[start + 10..<start + 80], as: UTF8.self)
            let trimmed = field.drop { $0 == " " }
            if trimmed.hasPrefix("'") {
                var inner = "", rest = trimmed.dropFirst()
                while let quote = rest.firstIndex(of: "'") {
                    inner += rest[..<quote]
                    rest = rest[rest.index(after: quote)...]
                    if rest.hasPrefix("'") { inner += "'"; rest = rest.dropFirst() } else { break }
                }
                return inner.trimmingCharacters(in: .whitespaces)
            }
            return String(trimmed.prefix { $0 != "/" }).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    func int(_ keyword: String) -> Int? { value(keyword).flatMap { Int($0) } }
    func double(_ keyword: String) -> Double? {
        value(keyword).flatMap { Double($0.replacingOccurrences(of: "D", with: "E")) }
    }
}
