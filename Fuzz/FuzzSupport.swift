// Shared by every fuzz target: the input bytes become a file in a per-process scratch folder
// (on /dev/shm when it exists), because photoz's readers take paths, as the commands do.
import Foundation
import HDF5

enum FuzzScratch {
    /// The scratch folder, created once per process; libFuzzer's fork mode runs one process per job.
    static let folder: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let path = "\(base)/photoz-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: "/dev/shm/photoz-fuzz-\(getpid())") }
        return path
    }()

    /// Writes the input under `name` in the scratch folder and returns its path.
    ///
    /// The readers check a file once per identity (device, inode, size, modification time):
    /// rewriting one path faster than its modification time ticks would reuse the previous
    /// input's verdict, so every verdict is forgotten first.
    static func write(_ data: UnsafePointer<UInt8>, _ size: Int, as name: String) -> String {
        HDF5File.forgetMetadataChecks()
        let path = "\(folder)/\(name)"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(descriptor >= 0, "cannot write the fuzz input to \(path)")
        var done = 0
        while done < size {
            let n = Foundation.write(descriptor, data + done, size - done)
            precondition(n > 0, "cannot write the fuzz input to \(path)")
            done += n
        }
        close(descriptor)
        return path
    }
}
