import CCrypto
import Foundation

/// SHA-256 (FIPS 180-4), used for the checksums in manifests and file provenance.
///
/// Computed by OpenSSL's libcrypto, which uses the CPU's SHA extensions where it has them:
/// ingest hashes every byte of every shard it writes, and a portable implementation was half
/// of an uncompressed ingest's time. Tested against `sha256sum` and the FIPS test vectors.
public struct SHA256: ~Copyable {
    private let context: OpaquePointer

    public init() {
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            preconditionFailure("libcrypto cannot start a SHA-256 digest (out of memory?)")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Feeds bytes into the hash.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        precondition(EVP_DigestUpdate(context, base, bytes.count) == 1, "libcrypto: SHA-256 update failed")
    }

    public mutating func update(_ data: Data) { data.withUnsafeBytes { update($0) } }

    /// Finishes the hash and returns it as 64 lowercase hexadecimal digits.
    public consuming func finalizeHex() -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(context, &digest, &length) == 1 && length == 32, "libcrypto: SHA-256 final failed")
        let hex = Array("0123456789abcdef".utf8)
        return String(decoding: digest.flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 15)]] }, as: UTF8.self)
    }

    /// The SHA-256 of a file's contents: mapped into memory, or read in 4 MiB blocks where it
    /// cannot be mapped (an empty file, a pipe).
    public static func hexDigest(ofFile path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw PhotoZDataError.io(path: path, message: "cannot open the file to compute its SHA-256: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var hash = SHA256()
        // Mapped, the file is hashed straight from the page cache without a copy.
        var info = stat()
        if fstat(fd, &info) == 0, info.st_size > 0,
           let map = mmap(nil, Int(info.st_size), PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED {
            defer { munmap(map, Int(info.st_size)) }
            _ = madvise(map, Int(info.st_size), MADV_SEQUENTIAL)
            hash.update(UnsafeRawBufferPointer(start: map, count: Int(info.st_size)))
            return hash.finalizeHex()
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw PhotoZDataError.io(path: path, message: "cannot read the file to compute its SHA-256: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            hash.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return hash.finalizeHex()
    }

    /// The SHA-256 of some bytes.
    public static func hexDigest(of data: Data) -> String {
        var hash = SHA256()
        hash.update(data)
        return hash.finalizeHex()
    }
}
