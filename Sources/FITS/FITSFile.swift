import Foundation

/// An open FITS file: the one owner of a cfitsio handle, closed by `close()` or on deinit.
///
/// A `FITSFile` is used by one thread at a time; distinct `FITSFile`s may be used on distinct
/// threads at once (cfitsio is built reentrant). Gzip (`.gz`), bzip2 (`.bz2`) and Unix
/// `.Z` files open transparently (read-only, decompressed in memory), and tile-compressed
/// images (`.fits.fz`) read as ordinary image HDUs. Paths are taken literally: cfitsio's
/// extended-filename syntax (`file.fits[1]`) is not interpreted.
///
/// HDU indices are 0-based: the primary HDU is 0 (cfitsio counts from 1).
public final class FITSFile {
    /// How a file is opened.
    public enum Mode: Sendable { case readOnly, readWrite }

    /// The path the file was opened or created with.
    public let path: String
    /// Whether the file may be written (`create` opens files read-write).
    public let mode: Mode
    /// The cfitsio handle; nil once closed.
    private var handle: FITSHandle?
    /// The file's bytes, when it was read whole into memory (`open(_:wholeInMemory:)`); kept
    /// until the handle is gone.
    let image: MemoryImage?
    /// The last header read by `header()` in a read-only file (whose headers never change),
    /// for its HDU: later calls for that HDU, and the size checks before its data is read,
    /// use it instead of asking cfitsio for keyword after keyword.
    var headerCache: FITSHeader?

    private init(path: String, mode: Mode, handle: FITSHandle, image: MemoryImage? = nil) {
        self.path = path
        self.mode = mode
        self.handle = handle
        self.image = image
    }

    deinit {
        if let handle { _ = CFITSIO.close(handle) }
    }

    /// The live handle; using a closed file is a bug.
    var openHandle: FITSHandle {
        guard let handle else { preconditionFailure("FITSFile \(path) used after close()") }
        return handle
    }

    /// Opens an existing FITS file, positioned at the primary HDU.
    ///
    /// Throws when the file is missing, unreadable or not FITS. The corresponding C function is `ffdkopn`.
    public static func open(_ path: String, mode: Mode = .readOnly) throws -> FITSFile {
        FITSFile(path: path, mode: mode, handle: try CFITSIO.open(path, readWrite: mode == .readWrite))
    }

    /// Opens a small FITS file read-only by reading it whole with one system call and letting
    /// cfitsio parse it from memory (about 25 fewer system calls per file than `open`, which
    /// reads headers a block at a time). Reading a cut-off file fails as it does from disk:
    /// cfitsio's memory driver bounds header reads but not large data reads, so every data read
    /// first checks that the HDU's data, as its header declares it, lies inside the file.
    /// Files that are compressed as a whole (`.gz`, `.bz2`, `.Z`), larger than `limit` bytes,
    /// or not regular files are opened with `open`.
    ///
    /// The corresponding C function is `ffomem`.
    public static func open(_ path: String, wholeInMemory limit: Int) throws -> FITSFile {
        let lower = path.lowercased()
        guard !lower.hasSuffix(".gz"), !lower.hasSuffix(".bz2"), !lower.hasSuffix(".z"),
              let image = MemoryImage(path: path, limit: limit) else { return try open(path) }
        return FITSFile(path: path, mode: .readOnly, handle: try CFITSIO.open(path, memory: image), image: image)
    }

    /// Creates a new, empty FITS file; the first `createImage` or `createBinaryTable` makes its
    /// primary HDU.
    ///
    /// Throws when the file exists, unless `overwrite` is true (then it is replaced).
    /// The corresponding C function is `ffdkinit`.
    public static func create(_ path: String, overwrite: Bool = false) throws -> FITSFile {
        if FileManager.default.fileExists(atPath: path) {
            guard overwrite else {
                throw FITSError(status: 0, function: "create", path: path, hdu: nil,
                                message: "the file exists; pass overwrite: true to replace it",
                                operation: "cannot create FITS file")
            }
            do {
                try FileManager.default.removeItem(atPath: path)
            } catch {
                throw FITSError(status: 0, function: "create", path: path, hdu: nil,
                                message: "cannot remove the existing file: \(error)",
                                operation: "cannot create FITS file")
            }
        }
        return FITSFile(path: path, mode: .readWrite, handle: try CFITSIO.create(path))
    }

    /// Opens a file, runs `body` with it and closes it, reporting close errors (flush failures).
    public static func withFile<R>(_ path: String, mode: Mode = .readOnly, _ body: (FITSFile) throws -> R) throws -> R {
        let file = try open(path, mode: mode)
        let result: R
        do {
            result = try body(file)
        } catch {
            _ = try? file.close()
            throw error
        }
        try file.close()
        return result
    }

    /// Flushes and closes the file; later calls on it are bugs. Closing twice does nothing.
    ///
    /// Throws when pending writes cannot be flushed. The corresponding C function is `ffclos`.
    public func close() throws {
        guard let handle else { return }
        self.handle = nil
        try CFITSIO.check(CFITSIO.close(handle), "ffclos", "cannot close FITS file", path: path, hdu: nil)
    }

    /// The number of HDUs in the file, including one being written. The corresponding C function is `ffthdu`.
    public func hduCount() throws -> Int {
        // cfitsio counts an HDU only once the next one starts or the file is flushed.
        max(try cHDUCount(), cCurrentHDU() + 1)
    }

    /// The 0-based index of the current HDU (primary = 0). The corresponding C function is `ffghdn`.
    public var currentHDU: Int { cCurrentHDU() }

    /// Makes the 0-based HDU `index` current and returns its type.
    ///
    /// Throws when the file has no such HDU. The corresponding C function is `ffmahd`.
    @discardableResult
    public func moveTo(hdu index: Int) throws -> FITSHDUType {
        guard index >= 0 else {
            throw FITSError(status: 0, function: "moveTo(hdu:)", path: path, hdu: index,
                            message: "HDU indices start at 0 (the primary HDU)", operation: "cannot move to HDU \(index)")
        }
        do {
            return Self.hduType(try cMove(to: index, operation: "cannot move to HDU \(index)"))
        } catch {
            var error = error
            if let count = try? hduCount() { error.message += " (the file has \(count) HDU\(count == 1 ? "" : "s"), 0...\(count - 1))" }
            throw error
        }
    }

    /// Makes the next HDU current and returns its type, or nil (staying put) when the current
    /// HDU is the last one.
    ///
    /// Visiting a file's HDUs this way reads each header once; `hduCount()` reads every header
    /// first (cfitsio counts by moving through the file), which for tile-compressed images
    /// also parses each HDU's compression keywords. The corresponding C function is `ffmrhd`.
    public func moveToNextHDU() throws -> FITSHDUType? {
        try cMoveToNext().map(Self.hduType)
    }

    /// The current HDU's header, read in one pass (see `FITSHeader`): for looking up several
    /// keywords, each lookup a scan of the cards in memory. In a read-only file the header is
    /// kept until another HDU's is read, so asking again for the same HDU costs nothing.
    ///
    /// The corresponding C function is `ffhdr2str`.
    public func header() throws -> FITSHeader {
        if let headerCache, headerCache.hdu == cCurrentHDU() { return headerCache }
        let header = try cReadHeader()
        if mode == .readOnly { headerCache = header }
        return header
    }

    /// The type of the current HDU. The corresponding C function is `ffghdt`.
    public func currentHDUType() throws -> FITSHDUType {
        Self.hduType(try cCurrentHDUType())
    }

    /// Makes the first HDU whose EXTNAME (or HDUNAME) equals `extname` current and returns its type.
    ///
    /// Throws when no HDU has that name. The corresponding C function is `ffmnhd`.
    @discardableResult
    public func moveTo(extname: String) throws -> FITSHDUType {
        Self.hduType(try cMove(toExtname: extname, operation: "cannot move to the HDU named \(extname)"))
    }

    /// The Swift name of a cfitsio HDU type code.
    static func hduType(_ code: Int32) -> FITSHDUType {
        switch code {
        case 1: .asciiTable
        case 2: .binaryTable
        default: .image
        }
    }

    /// Throws unless the file was opened for writing (cfitsio itself would only fail at close).
    func requireWritable(_ operation: @autoclosure () -> String) throws {
        guard mode == .readWrite else {
            throw ownError("write", operation(), "the file is open read-only; open it with mode: .readWrite")
        }
    }

    /// Throws when `text` holds characters a FITS header or string column cannot (only
    /// printable ASCII, 0x20–0x7E, is allowed).
    func requireASCII(_ text: String, _ operation: @autoclosure () -> String, what: @autoclosure () -> String) throws {
        guard text.utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }) else {
            throw ownError("write", operation(), "\(what()) '\(text)' holds characters other than printable ASCII, which FITS does not allow")
        }
    }

    /// An error of photoz's own about the current HDU.
    func ownError(_ function: String, _ operation: String, _ message: String) -> FITSError {
        FITSError(status: 0, function: function, path: path, hdu: cCurrentHDU(), message: message, operation: operation)
    }
}

/// A file's bytes in memory, and the pointer and size cfitsio's memory driver keeps the
/// addresses of (they must stay put while the handle is open).
final class MemoryImage {
    let base: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let size: UnsafeMutablePointer<Int>

    /// Reads the regular file at `path` whole; nil when it cannot (the caller opens it from disk
    /// and reports whatever is wrong), is empty or is larger than `limit`.
    init?(path: String, limit: Int) {
        let descriptor = Foundation.open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { Foundation.close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 0, info.st_size <= limit else { return nil }
        let count = Int(info.st_size)
        // cfitsio reads whole 2880-byte records: a file whose size is not a multiple of 2880
        // (cut off, or hostile) would make its memory driver copy past the end of a buffer of
        // exactly `count` bytes (found by fuzzing). The buffer is rounded up and zero-padded;
        // cfitsio is still told the true size, so reads of data beyond it fail as from disk.
        let capacity = (count + 2879) / 2880 * 2880
        guard let bytes = calloc(capacity, 1) else { return nil }
        var done = 0
        while done < count {
            let n = read(descriptor, bytes + done, count - done)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            done += n
        }
        guard done == count else {  // changed while read: let the disk path report it
            free(bytes)
            return nil
        }
        base = .allocate(capacity: 1)
        base.initialize(to: bytes)
        size = .allocate(capacity: 1)
        size.initialize(to: count)
    }

    deinit {
        free(base.pointee)
        base.deallocate()
        size.deallocate()
    }
}
