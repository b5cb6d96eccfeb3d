import Dispatch
import Foundation

/// Computes the SHA-256 and size of finished shards on a background thread, so hashing one
/// shard overlaps reading and writing the next.
final class ShardHasher: @unchecked Sendable {
    private let queue = DispatchQueue(label: "photoz.ingest.hash")
    private let lock = NSLock()
    private var results: [String: Result<(sha256: String, bytes: Int), Error>] = [:]

    /// Starts hashing the file at `path`.
    func submit(_ path: String) {
        queue.async { [self] in
            let result = Result { () throws -> (sha256: String, bytes: Int) in
                let bytes = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
                return (try SHA256.hexDigest(ofFile: path), bytes)
            }
            lock.lock()
            results[path] = result
            lock.unlock()
        }
    }

    /// Records a checksum computed while the file was written (see `ShardWriter.sha256`).
    func record(_ path: String, sha256: String) {
        let result = Result { () throws -> (sha256: String, bytes: Int) in
            (sha256, try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0)
        }
        lock.lock()
        results[path] = result
        lock.unlock()
    }

    /// Waits for every submitted file and returns its checksum and size.
    func result(for path: String) throws -> (sha256: String, bytes: Int) {
        queue.sync {}
        lock.lock()
        defer { lock.unlock() }
        guard let result = results[path] else { preconditionFailure("ShardHasher: \(path) was never submitted") }
        return try result.get()
    }

    /// Waits for the hashes in flight (before the files they read are moved or removed).
    func drain() { queue.sync {} }
}
