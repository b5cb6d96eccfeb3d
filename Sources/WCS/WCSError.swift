/// An error from parsing a FITS WCS header or transforming coordinates with wcslib.
///
/// Carries the wcslib function that failed, its status code and wcslib's own message
/// (`wcsprm::err`, enabled once per process), and what the header belonged to (a file and HDU,
/// or any caller-supplied description) so the message says where to look.
public struct WCSError: Error, CustomStringConvertible, Sendable {
    /// wcslib's status code, or 0 when the error is photoz's own (e.g. no celestial axes).
    public var status: Int32
    /// The wcslib function (e.g. `wcspih`, `wcss2p`) or photoz operation that failed.
    public var function: String
    /// Where the header came from, e.g. `frame-r-002583-2-0136.fits.bz2, HDU 0`.
    public var source: String
    /// wcslib's message, or photoz's own explanation.
    public var message: String

    public init(status: Int32, function: String, source: String, message: String) {
        self.status = status
        self.function = function
        self.source = source
        self.message = message
    }

    /// One line: source, function, status and message.
    public var description: String {
        "\(source): WCS error (\(function)\(status != 0 ? ", status \(status)" : "")): \(message)"
    }
}
