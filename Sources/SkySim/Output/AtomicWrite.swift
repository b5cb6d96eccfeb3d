import FITS
import Foundation
import SafeOutput

/// Creates `directory/name` as a FITS file through `SafeOutput.AtomicFile` (a temporary
/// sibling, flushed and renamed over the target), so a reader never sees a half-written file.
func writeFITSAtomically(_ directory: String, _ name: String, _ body: (FITSFile) throws -> Void) throws {
    try AtomicFile.write(to: (directory as NSString).appendingPathComponent(name)) { temporary in
        try writeFITS(temporary, body)
    }
}

/// Creates a FITS file at `path` directly: for files inside a `StagedFolder`, which becomes
/// visible only whole (a temporary name and an fsync per cutout would only cost time).
func writeFITS(_ path: String, _ body: (FITSFile) throws -> Void) throws {
    let file = try FITSFile.create(path, overwrite: true)
    do {
        try body(file)
        try file.close()
    } catch {
        _ = try? file.close()
        throw error
    }
}

/// Writes `text` to `directory/name` through `SafeOutput.AtomicFile`.
func writeTextAtomically(_ directory: String, _ name: String, _ text: String) throws {
    try AtomicFile.write(Data(text.utf8), to: (directory as NSString).appendingPathComponent(name))
}
