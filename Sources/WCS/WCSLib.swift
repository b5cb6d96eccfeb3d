import CWCS
import Foundation

// The only file that calls wcslib. Each call's status is checked here and turned into a
// `WCSError` carrying the function's name and wcslib's own message.

/// One owner of the array of `wcsprm` structs that `wcspih` allocates; `wcsvfree` on deinit.
final class WCSHandle {
    private var count: Int32
    private var array: UnsafeMutablePointer<wcsprm>?
    /// The coordinate description in use (the primary one, alternate ' ').
    let primary: UnsafeMutablePointer<wcsprm>

    private init(count: Int32, array: UnsafeMutablePointer<wcsprm>) {
        self.count = count
        self.array = array
        self.primary = photoz_wcs_at(array, 0)
    }

    deinit {
        _ = wcsvfree(&count, &array)
    }

    /// wcslib keeps detailed messages in `wcsprm::err` only once enabled; its flag is a
    /// process-wide static that is never switched off, so enabling it once is enough.
    private static let enableMessages: Void = { _ = wcserr_enable(1) }()

    /// wcslib's Flex scanners are reentrant since 7.0, but Debian builds vary; parsing is rare
    /// (once per frame) so it is serialised rather than trusted.
    private static let parseLock = NSLock()

    /// Parses the primary coordinate description of an image header made of 80-character cards,
    /// and prepares it with `wcsset`.
    static func parse(cards: [UInt8], source: String) throws(WCSError) -> WCSHandle {
        _ = enableMessages
        precondition(cards.count % 80 == 0, "a FITS header is a whole number of 80-character cards")
        var text = cards + [0]
        var rejected: Int32 = 0, found: Int32 = 0
        var array: UnsafeMutablePointer<wcsprm>?
        parseLock.lock()
        // WCSHDR_all: accept the common non-standard forms real surveys write (RADECSYS,
        // CROTAn, PROJPn…), as astropy does; ctrl 0: no report printed to stderr.
        let status = text.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                wcspih($0, Int32(cards.count / 80), WCSHDR_all, 0, &rejected, &found, &array)
            }
        }
        parseLock.unlock()
        guard status == 0 else {
            if array != nil { _ = wcsvfree(&found, &array) }
            throw WCSError(status: status, function: "wcspih", source: source, message: String(cString: photoz_wcs_status_message(status)))
        }
        guard let array, found > 0 else {
            throw WCSError(status: 0, function: "wcspih", source: source,
                           message: "the header has no WCS keywords (CTYPEn, CRVALn, CRPIXn, CDi_j or CDELTn); the image cannot be placed on the sky")
        }
        let handle = WCSHandle(count: found, array: array)
        let setStatus = wcsset(handle.primary)
        guard setStatus == 0 else { throw handle.error(setStatus, "wcsset", source: source) }
        return handle
    }

    /// The number of axes.
    var axisCount: Int { Int(primary.pointee.naxis) }

    /// The 0-based indices of the celestial longitude and latitude axes, -1 when absent.
    var celestialAxes: (longitude: Int, latitude: Int) { (Int(primary.pointee.lng), Int(primary.pointee.lat)) }

    /// CTYPEn of each axis, trailing blanks removed.
    var axisTypes: [String] {
        guard let ctype = primary.pointee.ctype else { return [] }
        return (0..<axisCount).map { axis in
            withUnsafeBytes(of: ctype[axis]) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            }
        }
    }

    /// Pixel (FITS 1-based) → world for `count` points of `axisCount` values each; per-point
    /// failures (outside the projection's domain) give NaN rather than an error.
    func pixelToWorld(_ pixels: UnsafePointer<Double>, _ world: UnsafeMutablePointer<Double>, count: Int, source: String) throws(WCSError) {
        let n = axisCount
        var intermediate = [Double](repeating: 0, count: count * n)
        var phi = [Double](repeating: 0, count: count), theta = phi
        var status = [Int32](repeating: 0, count: count)
        let result = wcsp2s(primary, Int32(count), Int32(n), pixels, &intermediate, &phi, &theta, world, &status)
        guard result == 0 || result == 8 else { throw error(result, "wcsp2s", source: source) }
        if result == 8 { for k in 0..<count where status[k] != 0 { for a in 0..<n { world[k * n + a] = .nan } } }
    }

    /// World → pixel (FITS 1-based) for `count` points; per-point failures give NaN.
    func worldToPixel(_ world: UnsafePointer<Double>, _ pixels: UnsafeMutablePointer<Double>, count: Int, source: String) throws(WCSError) {
        let n = axisCount
        var intermediate = [Double](repeating: 0, count: count * n)
        var phi = [Double](repeating: 0, count: count), theta = phi
        var status = [Int32](repeating: 0, count: count)
        let result = wcss2p(primary, Int32(count), Int32(n), world, &phi, &theta, &intermediate, pixels, &status)
        guard result == 0 || result == 9 else { throw error(result, "wcss2p", source: source) }
        if result == 9 { for k in 0..<count where status[k] != 0 { for a in 0..<n { pixels[k * n + a] = .nan } } }
    }

    /// The error for a failed call: wcslib's detailed message when it left one.
    private func error(_ status: Int32, _ function: String, source: String) -> WCSError {
        let detail = photoz_wcs_error_message(primary).map { String(cString: $0) }
        return WCSError(status: status, function: function, source: source,
                        message: detail ?? String(cString: photoz_wcs_status_message(status)))
    }
}
