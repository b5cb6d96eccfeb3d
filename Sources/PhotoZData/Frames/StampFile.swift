import FITS
import Foundation
import SafeOutput

/// Writes one object's stamp file: a header-only primary HDU describing the object and the
/// cutting, then one float32 image HDU per band (EXTNAME u…z, BUNIT nanomaggy, the stamp's
/// TAN WCS, NMASKED). Masked pixels are NaN. The format is schemas/cutout-files.md.
///
/// A one-off `StampWriter`; the pipeline keeps one per worker. With `useCfitsio`, written
/// keyword by keyword through cfitsio (the reference the tests compare with).
func writeStamp(_ pixels: UnsafeBufferPointer<Float>, object: Placement, frames: [Band: Frame], masked: [Int],
                config: CutoutConfiguration, to path: String, useCfitsio: Bool = false) throws {
    try StampWriter(config: config).write(pixels, object: object, frames: frames, masked: masked, to: path, useCfitsio: useCfitsio)
}

/// What a stamp header card holds: the same value for every stamp of a field, or one of the
/// object's own values, filled in per stamp.
enum StampValue {
    case fixed(FITSValue)
    case objectID, catalogRow, ra, dec
    case masked(Band), frameX(Band), frameY(Band)

    func resolved(object: Placement, masked: [Int]) -> FITSValue {
        switch self {
        case .fixed(let value): value
        case .objectID: .int(Int(object.target.objectID))
        case .catalogRow: .int(object.target.row)
        case .ra: .double(object.target.ra)
        case .dec: .double(object.target.dec)
        case .masked(let band): .int(masked[band.index])
        case .frameX(let band): .double(object.positions[band]!.x)
        case .frameY(let band): .double(object.positions[band]!.y)
        }
    }
}

/// The cards of the stamps of one field's objects, HDU by HDU (primary, then u…z), after the
/// structural ones.
func stampCards(field: FieldID, frames: [Band: Frame], config: CutoutConfiguration) -> [[(key: String, value: StampValue, comment: String?)]] {
    var headers: [[(key: String, value: StampValue, comment: String?)]] = [[
        ("OBJID", .objectID, "catalog object id"),
        ("CATROW", .catalogRow, "1-based catalog row"),
        ("RA", .ra, "[deg] catalog RA, the stamp centre"),
        ("DEC", .dec, "[deg] catalog Dec, the stamp centre"),
        ("RUN", .fixed(.int(field.run)), "SDSS run of the frames used"),
        ("CAMCOL", .fixed(.int(field.camcol)), "SDSS camera column"),
        ("FIELD", .fixed(.int(field.field)), "SDSS field"),
        ("PIXSCALE", .fixed(.double(config.pixelScale)), "[arcsec] stamp pixel side"),
        ("KERNEL", .fixed(.string("LANCZOS3")), "flux-conserving resampling kernel"),
        ("EDGE", .fixed(.string(config.edge.rawValue)), "edge policy: NaN pixels are masked"),
        ("CREATOR", .fixed(.string("photoz cutout \(PhotoZVersion.current)")), nil),
    ]]
    // The stamp's WCS: its reference point is the object (CRVAL = RA, Dec); the reference
    // pixel and the CD matrix depend on the size and scale alone.
    let grid = StampGrid(ra: 0, dec: 0, size: config.size, pixelScale: config.pixelScale)
    let wcs: [(key: String, value: StampValue, comment: String?)] = grid.headerKeywords.map { key, value in
        (key, key == "CRVAL1" ? .ra : key == "CRVAL2" ? .dec : .fixed(.double(value)), nil)
    }
    for band in Band.allCases {
        let frame = frames[band]!
        headers.append([
            ("EXTNAME", .fixed(.string(band.rawValue)), "band"),
            ("BUNIT", .fixed(.string("nanomaggy")), "1 nanomaggy = 3.631e-6 Jy"),
            ("WCSAXES", .fixed(.int(2)), nil),
            ("CTYPE1", .fixed(.string("RA---TAN")), nil),
            ("CTYPE2", .fixed(.string("DEC--TAN")), nil),
            ("CUNIT1", .fixed(.string("deg")), nil),
            ("CUNIT2", .fixed(.string("deg")), nil),
        ] + wcs + [
            ("RADESYS", .fixed(.string(frame.referenceSystem)), nil),
            ("NMASKED", .masked(band), "NaN pixels: kernel left the frame"),
            ("FRAME", .fixed(.string(frame.path.split(separator: "/").last.map(String.init) ?? frame.path)), "source frame"),
            ("FRAMEX", .frameX(band), "object x in the frame (FITS 1-based)"),
            ("FRAMEY", .frameY(band), "object y in the frame (FITS 1-based)"),
        ])
    }
    return headers
}

/// The keywords of one stamp's six HDUs (primary, then u…z), after the structural ones.
func stampKeywords(object: Placement, frames: [Band: Frame], masked: [Int], config: CutoutConfiguration) -> [[(String, FITSValue, String?)]] {
    stampCards(field: object.field, frames: frames, config: config).map { cards in
        cards.map { ($0.key, $0.value.resolved(object: object, masked: masked), $0.comment) }
    }
}

/// Writes stamp files, formatted by photoz byte for byte as cfitsio writes them (tested), one
/// `write` each. Not thread-safe: one per worker.
///
/// Most of a stamp file is the same for every object of a field (the structural cards, the
/// band, units, WCS types, reference pixel, CD matrix, frame names): it is formatted once per
/// field (`StampTemplate`), and per stamp only the object's nine kinds of card (OBJID, CATROW,
/// RA, DEC, CRVAL1/2, NMASKED, FRAMEX, FRAMEY) and the pixels are written into one reused
/// buffer. Formatting whole files per stamp as arrays of cards and Strings cost 0.1–0.25 ms of
/// CPU per stamp (2,000 stamps: 0.23–0.5 s, about as much as the kernel's copy of their 207 MB;
/// now 0.03 ms), and cfitsio keyword by keyword 1 ms. cfitsio still writes the rare field
/// whose strings need its conventions (a frame file name longer than a card holds, non-ASCII
/// text) and a stamp with a non-finite number (which it refuses: a FITS header cannot hold one).
final class StampWriter {
    private let config: CutoutConfiguration
    /// What the template was made from: the field and its frames' names and reference systems.
    private var field: FieldID?
    private var frameKeys: [(path: String, referenceSystem: String)] = []
    private var template: StampTemplate?
    /// The file being written: the template's bytes, then the object's cards and pixels.
    private var buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private let text = UnsafeMutablePointer<CChar>.allocate(capacity: RealText.capacity)

    init(config: CutoutConfiguration) { self.config = config }

    deinit {
        buffer.deallocate()
        text.deallocate()
    }

    /// Writes `pixels` (five bands of size × size, u…z) as the stamp of `object`, whose field's
    /// frames are `frames`, to the new file `path`.
    func write(_ pixels: UnsafeBufferPointer<Float>, object: Placement, frames: [Band: Frame], masked: [Int],
               to path: String, useCfitsio: Bool = false) throws {
        precondition(pixels.count == 5 * config.size * config.size, "a stamp is five bands of \(config.size) × \(config.size) pixels")
        if !useCfitsio && !madeFor(object.field, frames) {
            template = StampTemplate(cards: stampCards(field: object.field, frames: frames, config: config), size: config.size)
            field = object.field
            frameKeys = Band.allCases.map { (frames[$0]!.path, frames[$0]!.referenceSystem) }
            if let template {
                if buffer.count != template.bytes.count {
                    buffer.deallocate()
                    buffer = .allocate(byteCount: template.bytes.count, alignment: 64)
                }
                template.bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
            }
        }
        if !useCfitsio, let template, template.fill(buffer, object: object, masked: masked, pixels: pixels, text: text) {
            try writeNewFile(UnsafeRawBufferPointer(buffer), to: path)
            return
        }
        let n = config.size, plane = n * n
        let headers = stampKeywords(object: object, frames: frames, masked: masked, config: config)
        try writeStagedFITS(to: path) { file in
            try file.createImage(bitpix: 8, shape: [])
            for (key, value, comment) in headers[0] { try file.write(key, value, comment: comment) }
            for band in Band.allCases {
                try file.createImage(bitpix: -32, shape: [n, n])
                try file.writeImage(Array(pixels[band.index * plane..<(band.index + 1) * plane]))
                for (key, value, comment) in headers[band.index + 1] { try file.write(key, value, comment: comment) }
            }
        }
    }

    /// Whether the current template was made for this field and these frames.
    private func madeFor(_ field: FieldID, _ frames: [Band: Frame]) -> Bool {
        guard field == self.field else { return false }
        for band in Band.allCases {
            let frame = frames[band]!, key = frameKeys[band.index]
            guard frame.path == key.path && frame.referenceSystem == key.referenceSystem else { return false }
        }
        return true
    }
}

/// A field's stamp file with its fixed cards formatted (cfitsio's `ffmkky`: values
/// right-aligned to column 30, strings quoted and padded to 8 characters, `" / "` before a
/// comment, cards cut at 80 characters) and a blank slot for each card of the object's own.
struct StampTemplate {
    /// A card filled in per stamp.
    struct Slot {
        /// Of the card in the file.
        var offset: Int
        var value: StampValue
        /// "KEYWORD = ", 10 bytes.
        var prefix: [UInt8]
        /// " / comment", or empty.
        var comment: [UInt8]
    }

    let bytes: [UInt8]
    let slots: [Slot]
    /// Where each band's pixels start.
    let data: [Int]
    let plane: Int

    /// Nil when a fixed card needs cfitsio's conventions (a string that is not printable ASCII
    /// or does not fit one card, a non-finite real).
    init?(cards: [[(key: String, value: StampValue, comment: String?)]], size: Int) {
        let made = withUnsafeTemporaryAllocation(of: CChar.self, capacity: RealText.capacity) { text in
            Self.format(cards: cards, size: size, text: text.baseAddress!)
        }
        guard let made else { return nil }
        (bytes, slots, data) = made
        plane = size * size
    }

    private static func format(cards: [[(key: String, value: StampValue, comment: String?)]], size: Int,
                               text: UnsafeMutablePointer<CChar>) -> (bytes: [UInt8], slots: [Slot], data: [Int])? {
        let plane = size * size
        var slots: [Slot] = [], data: [Int] = []
        let dataBytes = (plane * 4 + 2879) / 2880 * 2880
        var out: [UInt8] = []
        out.reserveCapacity(2880 * 6 + 5 * dataBytes)
        var start = out.count
        Self.card("SIMPLE", Array("T".utf8), "file does conform to FITS standard", &out)
        Self.card("BITPIX", Array("8".utf8), "number of bits per data pixel", &out)
        Self.card("NAXIS", Array("0".utf8), "number of data axes", &out)
        Self.card("EXTEND", Array("T".utf8), "FITS dataset may contain extensions", &out)
        Self.line("COMMENT   FITS (Flexible Image Transport System) format is defined in 'Astronomy", &out)
        Self.line("COMMENT   and Astrophysics', volume 376, page 359; bibcode: 2001A&A...376..359H", &out)
        guard append(cards[0], to: &out, slots: &slots, text: text) else { return nil }
        Self.end(from: start, &out)
        for band in 0..<5 {
            start = out.count
            Self.card("XTENSION", Array("'IMAGE   '".utf8), "IMAGE extension", &out)
            Self.card("BITPIX", Array("-32".utf8), "number of bits per data pixel", &out)
            Self.card("NAXIS", Array("2".utf8), "number of data axes", &out)
            Self.card("NAXIS1", Array(String(size).utf8), "length of data axis 1", &out)
            Self.card("NAXIS2", Array(String(size).utf8), "length of data axis 2", &out)
            Self.card("PCOUNT", Array("0".utf8), "required keyword; must = 0", &out)
            Self.card("GCOUNT", Array("1".utf8), "required keyword; must = 1", &out)
            guard append(cards[band + 1], to: &out, slots: &slots, text: text) else { return nil }
            Self.end(from: start, &out)
            data.append(out.count)
            out += repeatElement(0, count: dataBytes)   // the padding after the pixels stays zero
        }
        return (out, slots, data)
    }

    /// Appends the fixed cards and blank slots for the others; false when a card cannot be formatted here.
    private static func append(_ cards: [(key: String, value: StampValue, comment: String?)], to out: inout [UInt8],
                               slots: inout [Slot], text: UnsafeMutablePointer<CChar>) -> Bool {
        for (key, value, comment) in cards {
            guard comment.map(Self.printable) ?? true else { return false }
            if case .fixed(let fixed) = value {
                guard let formatted = Self.valueText(fixed, text: text) else { return false }
                Self.card(key, formatted, comment, &out)
            } else {
                var prefix = Array(key.utf8.prefix(8))
                prefix += repeatElement(0x20, count: 8 - prefix.count)
                slots.append(Slot(offset: out.count, value: value, prefix: prefix + Array("= ".utf8),
                                  comment: comment.map { Array(" / \($0)".utf8) } ?? []))
                out += repeatElement(0x20, count: 80)
            }
        }
        return true
    }

    /// Writes the object's cards and its pixels (big-endian) into `file`, a copy of `bytes`;
    /// false when a value cannot be written here (a non-finite number).
    func fill(_ file: UnsafeMutableRawBufferPointer, object: Placement, masked: [Int], pixels: UnsafeBufferPointer<Float>,
              text: UnsafeMutablePointer<CChar>) -> Bool {
        precondition(file.count == bytes.count && pixels.count == 5 * plane)
        let base = file.baseAddress!
        for slot in slots {
            let count: Int
            switch slot.value.resolved(object: object, masked: masked) {
            case .int(let v): count = RealText.integer(v, into: text)
            case .double(let v):
                guard let n = RealText.real(v, into: text) else { return false }
                count = n
            case .bool, .string: preconditionFailure("only numbers vary between a field's stamps")
            }
            Self.card(at: base + slot.offset, prefix: slot.prefix, value: UnsafeRawBufferPointer(start: text, count: count), comment: slot.comment)
        }
        for band in 0..<5 {
            let source = pixels.baseAddress! + band * plane, target = base + data[band]
            for k in 0..<plane {
                target.storeBytes(of: source[k].bitPattern.bigEndian, toByteOffset: 4 * k, as: UInt32.self)
            }
        }
        return true
    }

    /// A card with an unquoted value (right-aligned to column 30), cut at or padded to 80 characters.
    private static func card(at card: UnsafeMutableRawPointer, prefix: [UInt8], value: UnsafeRawBufferPointer, comment: [UInt8]) {
        card.initializeMemory(as: UInt8.self, repeating: 0x20, count: 80)
        prefix.withUnsafeBytes { card.copyMemory(from: $0.baseAddress!, byteCount: 10) }
        var at = 10 + max(0, 20 - value.count)
        let v = min(value.count, 80 - at)
        card.advanced(by: at).copyMemory(from: value.baseAddress!, byteCount: v)
        at += v
        let c = min(comment.count, 80 - at)
        if c > 0 { comment.withUnsafeBytes { card.advanced(by: at).copyMemory(from: $0.baseAddress!, byteCount: c) } }
    }

    /// The value field as cfitsio writes it; nil for what only cfitsio writes (long strings).
    static func valueText(_ value: FITSValue, text: UnsafeMutablePointer<CChar>) -> [UInt8]? {
        switch value {
        case .int(let v): return Array(String(v).utf8)
        case .bool(let v): return [v ? UInt8(ascii: "T") : UInt8(ascii: "F")]
        case .double(let v):
            guard let n = RealText.real(v, into: text) else { return nil }
            return UnsafeRawBufferPointer(start: text, count: n).map { $0 }
        case .string(let v):
            guard printable(v) else { return nil }
            var inner: [UInt8] = []
            for c in v.utf8 { inner.append(c); if c == UInt8(ascii: "'") { inner.append(c) } }
            if inner.count < 8 { inner += repeatElement(0x20, count: 8 - inner.count) }
            guard inner.count <= 68 else { return nil }   // cfitsio continues it on CONTINUE cards
            return [UInt8(ascii: "'")] + inner + [UInt8(ascii: "'")]
        }
    }

    private static func printable(_ text: String) -> Bool { text.utf8.allSatisfy { $0 >= 32 && $0 < 127 } }

    /// "KEYWORD = value / comment", the value right-aligned to column 30 (strings left-aligned
    /// from column 11), cut at 80.
    private static func card(_ key: String, _ value: [UInt8], _ comment: String?, _ out: inout [UInt8]) {
        let start = out.count
        out += key.utf8.prefix(8)
        out += repeatElement(0x20, count: 8 - min(8, key.utf8.count))
        out += [UInt8(ascii: "="), 0x20]
        let quoted = value.first == UInt8(ascii: "'")
        if !quoted && value.count < 20 { out += repeatElement(0x20, count: 20 - value.count) }
        out += value
        if quoted && value.count < 20 { out += repeatElement(0x20, count: 20 - value.count) }
        if let comment { out += [0x20, UInt8(ascii: "/"), 0x20]; out += comment.utf8 }
        finish(card: start, &out)
    }

    private static func line(_ text: String, _ out: inout [UInt8]) {
        let start = out.count
        out += text.utf8
        finish(card: start, &out)
    }

    /// Cuts the card begun at `start` at 80 characters or pads it with blanks to 80.
    private static func finish(card start: Int, _ out: inout [UInt8]) {
        if out.count > start + 80 { out.removeLast(out.count - start - 80) } else { out += repeatElement(0x20, count: start + 80 - out.count) }
    }

    /// The END card, and blanks to the end of the header's last 2880-byte block.
    private static func end(from start: Int, _ out: inout [UInt8]) {
        line("END", &out)
        out += repeatElement(0x20, count: (2880 - (out.count - start) % 2880) % 2880)
    }
}

/// Numbers as cfitsio writes them into header cards, into a caller's buffer (no String per
/// number: a stamp has 24 of them).
enum RealText {
    /// Bytes a buffer must hold: two texts of up to 31 bytes (`%.17G` of any double is at most 24).
    static let capacity = 64

    /// The decimal text of `value`; returns its length.
    static func integer(_ value: Int, into text: UnsafeMutablePointer<CChar>) -> Int {
        var magnitude = value.magnitude, count = 0
        repeat {   // the digits backwards, then reversed
            text[count] = CChar(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
            count += 1
        } while magnitude > 0
        if value < 0 { text[count] = CChar(UInt8(ascii: "-")); count += 1 }
        var (i, j) = (0, count - 1)
        while i < j { (text[i], text[j]) = (text[j], text[i]); i += 1; j -= 1 }
        return count
    }

    /// A real as cfitsio writes it for `FITSFile.write` (`ffukyd` with the fewest `%G` digits
    /// that read back exactly, `FITSFile.significantDigits`; a decimal point always, `%.1E`
    /// when `%G` chose an exponent without one); returns its length, nil for a non-finite
    /// value.
    static func real(_ value: Double, into text: UnsafeMutablePointer<CChar>) -> Int? {
        guard value.isFinite else { return nil }
        return fromShortestDigits(value, into: text) ?? bySearch(value, into: text)
    }

    /// `real` from Swift's shortest round-trip digits (`description`: k digits, the closest
    /// to the exact value of those that read back), when they are what the search finds and
    /// `%.kG` prints; nil otherwise (then `bySearch`). Why they are: no k − 1 digits read back
    /// (k is the shortest), and `%.kG` rounds the exact value to the nearest k digits, which
    /// read back whenever some k digits do (they are nearer than those) — except for a power
    /// of two, whose lower rounding gap is half the upper one (left to the search, as are
    /// zero, subnormals, and integers with trailing zeros, where the search starts from the
    /// integer digits). Tested against `bySearch` and cfitsio. 0.1–0.2 µs per number, against
    /// 15 µs for `FITSFile.significantDigits` with Foundation's formatter (a stamp has 14).
    static func fromShortestDigits(_ value: Double, into text: UnsafeMutablePointer<CChar>) -> Int? {
        guard value.isNormal && value.significandBitPattern != 0 else { return nil }
        // The digits, without leading and trailing zeros, into the buffer's second half;
        // value = 0.d₁…dₖ × 10^point.
        let digits = text + capacity / 2
        var k = 0, point = 0, pointSeen = false, zeros = 0, exponent = 0, exponentSign = 1, inExponent = false
        for c in value.description.utf8 {
            if inExponent {
                if c == UInt8(ascii: "-") { exponentSign = -1 } else if c != UInt8(ascii: "+") { exponent = exponent * 10 + Int(c &- UInt8(ascii: "0")) }
                continue
            }
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if k == 0 && c == UInt8(ascii: "0") {   // a leading zero
                    if pointSeen { point -= 1 }
                    continue
                }
                if !pointSeen { point += 1 }
                if c == UInt8(ascii: "0") { zeros += 1; continue }
                guard k + zeros < 18 else { return nil }
                for _ in 0..<zeros { digits[k] = CChar(UInt8(ascii: "0")); k += 1 }
                zeros = 0
                digits[k] = CChar(bitPattern: c)
                k += 1
            case UInt8(ascii: "."): pointSeen = true
            case UInt8(ascii: "e"): inExponent = true
            default: break   // the sign
            }
        }
        point += exponentSign * exponent
        let integerDigits = abs(value) >= 1 ? Int(log10(abs(value)).rounded(.down)) + 1 : 1
        guard k >= 1 && k <= 17 && integerDigits <= k else { return nil }
        // `%.kG`: scientific when the exponent is below −4 or at least k, else fixed; no trailing zeros.
        let e = point - 1
        var count = 0
        func put(_ c: CChar) { text[count] = c; count += 1 }
        func put(ascii c: Unicode.Scalar) { put(CChar(UInt8(ascii: c))) }
        if value < 0 { put(ascii: "-") }
        if e < -4 || e >= k {
            put(digits[0])
            put(ascii: ".")
            if k == 1 { put(ascii: "0") }   // cfitsio's `%.1E` when `%G` gave no point
            for i in 1..<max(k, 1) { put(digits[i]) }
            put(ascii: "E")
            put(ascii: e < 0 ? "-" : "+")
            let magnitude = abs(e)
            if magnitude >= 100 { put(CChar(UInt8(ascii: "0") + UInt8(magnitude / 100))) }
            put(CChar(UInt8(ascii: "0") + UInt8(magnitude / 10 % 10)))
            put(CChar(UInt8(ascii: "0") + UInt8(magnitude % 10)))
        } else if e >= 0 {
            for i in 0...e { put(digits[i]) }
            put(ascii: ".")   // `%G`'s when there are decimals, cfitsio's otherwise
            for i in (e + 1)..<k { put(digits[i]) }
        } else {
            put(ascii: "0")
            put(ascii: ".")
            for _ in 0..<(-e - 1) { put(ascii: "0") }
            for i in 0..<k { put(digits[i]) }
        }
        text[count] = 0
        return strtod(text, nil) == value ? count : nil   // a check: it always reads back
    }

    /// `real` with the digit count `FITSFile.write` uses (`FITSFile.significantDigits`: its
    /// search with Foundation's formatter, 15 µs), formatted by C's `snprintf`.
    static func bySearch(_ value: Double, into text: UnsafeMutablePointer<CChar>) -> Int? {
        guard value.isFinite else { return nil }
        var count = format(text, "%.*G", FITSFile.significantDigits(value), value)
        var hasE = false, hasPoint = false
        for k in 0..<count {
            if text[k] == CChar(UInt8(ascii: "E")) { hasE = true }
            if text[k] == CChar(UInt8(ascii: ".")) { hasPoint = true }
        }
        if hasE && !hasPoint { count = format(text, "%.*E", 1, value) }
        if !hasE && !hasPoint { text[count] = CChar(UInt8(ascii: ".")); count += 1 }
        return count
    }

    /// C's `snprintf(text, capacity / 2, format, digits, value)`; returns the length.
    private static func format(_ text: UnsafeMutablePointer<CChar>, _ format: String, _ digits: Int, _ value: Double) -> Int {
        let n = Int(withVaList([Int32(digits), value]) { vsnprintf(text, capacity / 2, format, $0) })
        precondition(n >= 0 && n < capacity / 2, "vsnprintf of \(value) with \(digits) digits")
        return n
    }
}

/// Creates `path` (which must not exist: a fresh name in the staging folder) holding `bytes`.
func writeNewFile(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
        throw PhotoZDataError.io(path: path, message: "cannot create: \(String(cString: strerror(errno))) (errno \(errno))")
    }
    var written = 0
    var failure: Int32?
    while written < bytes.count {
        let n = write(fd, bytes.baseAddress! + written, bytes.count - written)
        if n < 0 { if errno == EINTR { continue }; failure = errno; break }
        written += n
    }
    // Start writing the stamp to disk now, without waiting: the output's single `syncfs` at the
    // end (SafeOutput) is what makes the stamps durable, but on an idle disk it then waited for
    // all of them at once (2,000 stamps, 207 MB: 0.2–0.3 s, a fifth of the bzip2 limit);
    // written back while the other stamps are cut, that wait mostly disappears. A hint only:
    // its failure changes nothing (syncfs reports I/O errors).
    if failure == nil { WriteBack.start(descriptor: fd) }
    let closed = close(fd) == 0 ? nil : errno
    if let code = failure ?? closed {
        unlink(path)
        throw PhotoZDataError.io(path: path, message: "write failed: \(String(cString: strerror(code))) (errno \(code))")
    }
}

/// Creates a FITS file at `path` directly: stamps are written inside the output's
/// `StagedFolder`, which becomes visible only whole, after one `syncfs` for all of them
/// (SafeOutput). A temporary name, an `fsync` and a rename per stamp, as `AtomicFile` does for
/// a file that is visible at once, bought nothing here and cost a third of the run (2,000
/// stamps: 2.0 s of CPU and waits on the disk).
func writeStagedFITS(to path: String, _ body: (FITSFile) throws -> Void) throws {
    let file = try FITSFile.create(path)  // a fresh name in a fresh staging folder: nothing to clobber
    do { try body(file) } catch { _ = try? file.close(); throw error }
    try file.close()
}

/// C's `snprintf` of numbers: the text Foundation's `String(format:)` gives for these
/// formats (tested through the stamp bytes against cfitsio's), at a fraction of its cost —
/// Foundation's formatter was half of formatting a stamp.
func printfFormat(_ format: String, _ arguments: CVarArg...) -> String {
    var capacity = 64
    while true {
        let (text, needed) = withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { buffer -> (String, Int) in
            let n = Int(withVaList(arguments) { vsnprintf(buffer.baseAddress!, capacity, format, $0) })
            return (n >= 0 && n < capacity ? String(cString: buffer.baseAddress!) : "", n)
        }
        precondition(needed >= 0, "vsnprintf failed on the format \(format)")
        if needed < capacity { return text }
        capacity = needed + 1   // %f of a huge number: format again with room for all of it
    }
}
