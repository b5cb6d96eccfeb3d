import Foundation

/// A world coordinate system read from a FITS image header with wcslib: any projection and
/// any distortion wcslib knows (TAN, SIP, TPV, ZEA, CAR…, equatorial or galactic).
///
/// Pixel coordinates follow the FITS convention: the centre of the first pixel is (1, 1), and
/// its edges are at 0.5 and 1.5. World coordinates are in the header's units (degrees for
/// celestial axes), in axis order. A `WCS` may be shared between threads: wcslib keeps scratch
/// space inside its structs, so transformations are serialised by a lock; batch calls keep
/// the locking cost negligible.
public final class WCS: @unchecked Sendable {
    /// Where the header came from, used in error messages.
    public let source: String
    private let handle: WCSHandle
    private let lock = NSLock()

    /// Parses the primary WCS of an image header given as concatenated 80-character cards
    /// (as they are stored in a FITS file; the END card and anything after it is ignored).
    ///
    /// Throws when the header has no WCS or wcslib rejects it (singular matrix, unknown
    /// projection…), with wcslib's message. The corresponding C functions are `wcspih` and `wcsset`.
    public init(header: String, source: String) throws(WCSError) {
        var bytes = Array(header.utf8)
        if let end = Self.endCard(bytes) { bytes.removeSubrange((end * 80)...) }
        guard !bytes.isEmpty, bytes.count % 80 == 0 else {
            throw WCSError(status: 0, function: "wcspih", source: source,
                           message: "a FITS header is a whole number of 80-character cards; got \(bytes.count) characters")
        }
        self.source = source
        handle = try WCSHandle.parse(cards: bytes, source: source)
    }

    /// Builds a header from `(keyword, value)` pairs, value text as in a FITS card (strings
    /// quoted), and parses it. Convenient for grids photoz defines itself.
    public convenience init(keywords: [(String, String)], source: String) throws(WCSError) {
        let cards = keywords.map { key, value in
            let card = key.padding(toLength: 8, withPad: " ", startingAt: 0) + "= " + value
            return card.count >= 80 ? String(card.prefix(80)) : card.padding(toLength: 80, withPad: " ", startingAt: 0)
        }
        try self.init(header: cards.joined(), source: source)
    }

    /// The number of WCS axes.
    public var axisCount: Int { handle.axisCount }

    /// CTYPEn of each axis, e.g. `["RA---TAN", "DEC--TAN"]`.
    public var axisTypes: [String] { handle.axisTypes }

    /// Whether the WCS has a celestial longitude and latitude axis pair.
    public var isCelestial: Bool { handle.celestialAxes.longitude >= 0 && handle.celestialAxes.latitude >= 0 }

    /// Pixel → world for points given as consecutive `axisCount`-tuples (FITS 1-based pixels).
    /// Points outside the projection's domain give NaN.
    ///
    /// The corresponding C function is `wcsp2s`.
    public func pixelToWorld(_ pixels: [Double]) throws(WCSError) -> [Double] {
        try transform(pixels, toWorld: true)
    }

    /// World → pixel for points given as consecutive `axisCount`-tuples; FITS 1-based pixels.
    /// Points that have no pixel (the far side of the sky for TAN) give NaN.
    ///
    /// The corresponding C function is `wcss2p`.
    public func worldToPixel(_ world: [Double]) throws(WCSError) -> [Double] {
        try transform(world, toWorld: false)
    }

    /// Sky position (longitude, latitude in degrees) of a pixel of a 2-axis celestial image.
    public func sky(x: Double, y: Double) throws(WCSError) -> (longitude: Double, latitude: Double) {
        let world = try pixelToWorld(try celestialTuple(x, y))
        let (lng, lat) = handle.celestialAxes
        return (world[lng], world[lat])
    }

    /// Pixel position (FITS 1-based) of a sky position on a 2-axis celestial image.
    public func pixel(longitude: Double, latitude: Double) throws(WCSError) -> (x: Double, y: Double) {
        let (lng, lat) = handle.celestialAxes
        var world = try celestialTuple(0, 0)
        world[lng] = longitude
        world[lat] = latitude
        let pixels = try worldToPixel(world)
        return (pixels[0], pixels[1])
    }

    /// Pixel positions of many sky positions at once, `(longitude, latitude)` pairs in, `(x, y)`
    /// pairs out; one lock and one wcslib call for all of them.
    public func pixels(sky: [Double]) throws(WCSError) -> [Double] {
        try requireCelestialImage()
        let (lng, lat) = handle.celestialAxes
        guard lng != 0 || lat != 1 else { return try worldToPixel(sky) }
        var world = sky
        for k in stride(from: 0, to: sky.count - 1, by: 2) { world[k + lng] = sky[k]; world[k + lat] = sky[k + 1] }
        return try worldToPixel(world)
    }

    private func transform(_ input: [Double], toWorld: Bool) throws(WCSError) -> [Double] {
        let n = axisCount
        guard input.count % n == 0 else {
            throw WCSError(status: 0, function: toWorld ? "wcsp2s" : "wcss2p", source: source,
                           message: "\(input.count) values are not whole \(n)-axis coordinate tuples")
        }
        let count = input.count / n
        var output = [Double](repeating: .nan, count: input.count)
        guard count > 0 else { return output }
        lock.lock()
        defer { lock.unlock() }
        try input.withUnsafeBufferPointer { (inBuffer) throws(WCSError) in
            try output.withUnsafeMutableBufferPointer { (outBuffer) throws(WCSError) in
                if toWorld {
                    try handle.pixelToWorld(inBuffer.baseAddress!, outBuffer.baseAddress!, count: count, source: source)
                } else {
                    try handle.worldToPixel(inBuffer.baseAddress!, outBuffer.baseAddress!, count: count, source: source)
                }
            }
        }
        return output
    }

    private func requireCelestialImage() throws(WCSError) {
        guard axisCount == 2, isCelestial else {
            throw WCSError(status: 0, function: "celestial", source: source,
                           message: "expected a 2-axis celestial WCS; found axes \(axisTypes.joined(separator: ", "))")
        }
    }

    private func celestialTuple(_ x: Double, _ y: Double) throws(WCSError) -> [Double] {
        try requireCelestialImage()
        return [x, y]
    }

    /// The index of the END card, if any.
    private static func endCard(_ bytes: [UInt8]) -> Int? {
        let end = Array("END     ".utf8)
        var card = 0
        while (card + 1) * 80 <= bytes.count {
            if Array(bytes[card * 80..<card * 80 + 8]) == end { return card }
            card += 1
        }
        return nil
    }
}
