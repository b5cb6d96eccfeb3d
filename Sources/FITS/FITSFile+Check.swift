// FITSFile+Check: a FITS file's headers read by cfitsio in a child process before photoz opens it.
import CIsolatedCheck

extension FITSFile {
    /// Moves through every HDU of the file at `path` with cfitsio in a forked child process,
    /// reading each header and each table's column definitions, and throws when cfitsio crashed
    /// or hung there; a file is checked once per identity (device, inode, size, modification
    /// time) and process.
    ///
    /// cfitsio 4.2 parses a table's column keywords while it moves to the HDU and aborts on some
    /// corrupt ones (the catalog fuzzer found a glibc fortify abort in `ffgtbp`), before any
    /// check of photoz's can run. Called for catalogs, which are one file per command; cutouts
    /// (thousands per command) are not checked this way. Errors cfitsio reports cleanly are
    /// left to the reader. `PHOTOZ_METADATA_CHECK=off` skips the check. The C function is
    /// `photoz_check_file` (Sources/CIsolatedCheck).
    public static func checkInSeparateProcess(_ path: String) throws {
        let result = photoz_check_file(PHOTOZ_CHECK_FITS, path, 30, nil, nil)
        guard result.outcome != PHOTOZ_CHECK_PASSED, result.outcome != PHOTOZ_CHECK_DISABLED else { return }
        var text = [CChar](repeating: 0, count: 1024)
        photoz_check_explain(result, "cfitsio", &text, UInt(text.count))
        let explanation = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let advice = result.outcome == PHOTOZ_CHECK_NOT_RUN
            ? "free memory or processes and try again; for files you trust, PHOTOZ_METADATA_CHECK=off skips the check"
            : "the file is corrupt or not FITS, so photoz did not open it; get a fresh copy (or write it again "
              + "with the program that made it); on a very slow disk, PHOTOZ_METADATA_CHECK_TIMEOUT=SECONDS (default 30) gives the check more time"
        throw FITSError(status: 0, function: "metadata check", path: path, hdu: nil,
                        message: explanation + "; " + advice, operation: "cfitsio could not read this file's headers")
    }
}
