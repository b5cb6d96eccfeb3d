/// An error from reading or writing a FITS file: what failed, on which file and HDU, and why.
///
/// Errors raised by cfitsio carry its status code, the name of the C function that failed and
/// cfitsio's own text (`fits_get_errstatus` followed by the `fits_read_errmsg` stack). Errors
/// that photoz detects itself (a missing column, a wrong buffer size, a keyword of the wrong
/// type) have `status == 0` and photoz's own text in `message`.
public struct FITSError: Error, CustomStringConvertible, Sendable {
    /// The cfitsio status code, or 0 when the error is photoz's own.
    public var status: Int32
    /// The cfitsio function (e.g. `ffgpv`) or photoz operation (e.g. `readColumn`) that failed.
    public var function: String
    /// The file the error is about, as given to `FITSFile.open` or `FITSFile.create`.
    public var path: String
    /// The 0-based HDU index (primary = 0) the error is about, when known.
    public var hdu: Int?
    /// cfitsio's status text and error-message stack, or photoz's own explanation.
    public var message: String
    /// What photoz was trying to do, in words (e.g. "cannot read image").
    public var operation: String

    /// Creates an error value; the FITS module creates these, other code usually only reads them.
    public init(status: Int32, function: String, path: String, hdu: Int?, message: String, operation: String = "") {
        self.status = status
        self.function = function
        self.path = path
        self.hdu = hdu
        self.message = message
        self.operation = operation
    }

    /// One line naming the file, the HDU, the operation, the function and the cause, e.g.
    /// `cutouts/123.fits, HDU 2: cannot read image (ffgpv): status 108 error reading from FITS file; …`.
    public var description: String {
        var text = path
        if let hdu { text += ", HDU \(hdu)" }
        text += ": "
        text += operation.isEmpty ? "error" : operation
        text += " (\(function)): "
        if status != 0 { text += "status \(status) " }
        text += message
        return text
    }
}
