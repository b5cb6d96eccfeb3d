// Fuzz target: the shard reader. The input is one HDF5 file read as a shard and checked as
// `photoz validate` checks it.
import Foundation
import PhotoZData

/// The one place that knows how a shard is read: retarget here when the reader changes.
func readShardForFuzzing(_ path: String) {
    if let shard = try? Shard(path: path) {
        _ = try? shard.read(rows: 0..<min(shard.rows, 3), columns: shard.columns)
        _ = try? shard.objectIDs()
    }
    _ = validate(path: path)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzShard(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    readShardForFuzzing(FuzzScratch.write(data, size, as: "shard.h5"))
    return 0
}
