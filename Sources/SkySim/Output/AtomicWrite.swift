import FITS
import Foundation
import SafeOutput

/// Writes `directory/name` as a FITS file under a temporary name (`SafeOutput.AtomicFile`),
/// complete and flushed; `commit()` renames it over the target, so a reader never sees a
/// half-written file, and several files can all be written before any is renamed.
func prepareFITS(_ directory: String, _ name: String, _ body: (FITSFile) throws -> Void) throws -> PendingFile {
    try AtomicFile.prepare(to: (directory as NSString).appendingPathComponent(name)) { temporary in
        try writeFITS(temporary, body)
    }
}

/// Creates a FITS file at `path` directly: for files inside a `StagedFolder`, which becomes
/// visible only whole (a temporary name and an fsync per cutout would only cost time).
func writeFITS(_ path: String, _ body: (FITSFile) throws -> Void) throws {
    let file = try FITSFile.create(path)  // a fresh name in a staging folder: nothing to clobber
    do {
        try body(file)
        try file.close()
    } catch {
        _ = try? file.close()
        throw error
    }
}

/// Writes `text` for `directory/name` under a temporary name (`SafeOutput.AtomicFile`); `commit()` renames it.
func prepareText(_ directory: String, _ name: String, _ text: String) throws -> PendingFile {
    try AtomicFile.prepare(Data(text.utf8), to: (directory as NSString).appendingPathComponent(name))
}
