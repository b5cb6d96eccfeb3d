import FITS
import Foundation

/// Creates `directory/name` as a FITS file under a temporary name (`.name.partial`), runs
/// `body` on it, closes it and renames it into place, so a reader never sees a half-written file.
func writeFITSAtomically(_ directory: String, _ name: String, _ body: (FITSFile) throws -> Void) throws {
    let final = (directory as NSString).appendingPathComponent(name)
    let temporary = (directory as NSString).appendingPathComponent(".\(name).partial")
    let file = try FITSFile.create(temporary, overwrite: true)
    do {
        try body(file)
        try file.close()
    } catch {
        _ = try? file.close()
        try? FileManager.default.removeItem(atPath: temporary)
        throw error
    }
    try renameReplacing(temporary, final)
}

/// Writes `text` to `directory/name` through a temporary file and a rename.
func writeTextAtomically(_ directory: String, _ name: String, _ text: String) throws {
    let final = (directory as NSString).appendingPathComponent(name)
    let temporary = (directory as NSString).appendingPathComponent(".\(name).partial")
    do {
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
    } catch {
        throw SimulationError.fileSystem(path: temporary, message: error.localizedDescription)
    }
    try renameReplacing(temporary, final)
}

/// Renames `source` to `destination`, replacing a file there (POSIX rename is atomic).
func renameReplacing(_ source: String, _ destination: String) throws {
    guard rename(source, destination) == 0 else {
        let message = String(cString: strerror(errno))
        try? FileManager.default.removeItem(atPath: source)
        throw SimulationError.fileSystem(path: destination, message: "rename from \(source) failed: \(message)")
    }
}
