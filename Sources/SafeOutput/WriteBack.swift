import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts writing a file to the disk while the program goes on, so that the durability sync
/// before a swap (`StagedFolder.commit`, `AtomicFile`) finds little left to wait for.
///
/// A hint only: it never makes anything durable by itself and its failure changes nothing —
/// the sync before the swap is what the guarantee rests on, and it reports I/O errors. Used
/// for files another library writes through their path (HDF5 shards): `WriteBack(path:)`
/// opens its own read-only descriptor (write-back applies to the file, whatever descriptor
/// names it), `start()` after each batch written, `close()` at the end.
///
/// Measured on this project's machine (ext4 on a virtual disk): the single `syncfs` of an
/// uncompressed 2,000-object ingest (164 MB) waited 0.07–0.11 s for data written in the
/// last second; with write-back started after each batch of chunks, see docs/benchmarks.md.
public final class WriteBack {
    private var fd: Int32
    /// Calls that asked the kernel to start write-back (tests check the hint is given).
    public private(set) var started = 0

    /// Opens `path` for the hints; nil when it cannot be opened (no hints then).
    public init?(path: String) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        self.fd = fd
    }

    deinit { close() }

    /// Starts write-back of every dirty page of the file not already being written (the whole
    /// file: the kernel skips clean pages). The corresponding C function is `sync_file_range`
    /// with `SYNC_FILE_RANGE_WRITE`.
    public func start() {
        guard fd >= 0 else { return }
        if Sys.startWriteback(fd, offset: 0, length: 0) { started += 1 }
    }

    /// Starts write-back of a file the caller has open for writing (its own descriptor), with
    /// the same terms as `start()`: a hint, whose failure changes nothing. Used by writers that
    /// write through a descriptor of their own (the cutout's stamp files).
    @discardableResult
    public static func start(descriptor: Int32) -> Bool {
        enabled && Sys.startWriteback(descriptor, offset: 0, length: 0)
    }

    /// Releases the descriptor (no sync: see the type's documentation).
    public func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    /// Whether writers give the hints: yes unless the environment sets
    /// `PHOTOZ_EARLY_WRITEBACK=off`, for benchmarks that compare (the bytes written never depend on it).
    public static let enabled = ProcessInfo.processInfo.environment["PHOTOZ_EARLY_WRITEBACK"] != "off"
}
