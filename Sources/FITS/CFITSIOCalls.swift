import CFITSIO
#if canImport(Glibc)
import Glibc
#endif

// The only file in photoz that calls cfitsio. Every call's status is checked here and a
// failure becomes a `FITSError` carrying the C function's name, cfitsio's status text and
// error-message stack (read, then cleared), the file's path and the HDU. Notes cfitsio
// pushes on that stack during calls that succeed are dropped (see `CFITSIO.marked`).
//
// Thread safety: Debian's libcfitsio is built reentrant (`fits_is_reentrant() == 1`, checked
// by the tests), so distinct `fitsfile` handles may be used on distinct threads at once with
// no lock here. cfitsio's error-message stack is process-wide, though: when two threads fail
// at the same moment, one error's stack may hold the other's lines (the status text is exact).
// cfitsio makes its global lock lazily, on the first open or create, with `pthread_mutex_init`
// over whatever state the lock is in; every call here takes that lock first (`ffpmrk`), so the
// first calls of two threads could leave it corrupt and hang the process later (seen in
// `photoz simulate`, whose cutout writers start on several threads at once; a C reproduction
// hung 2 runs in 100). `CFITSIO.initialized` makes the lock once, before any call.

/// cfitsio's handle for one open file.
typealias FITSHandle = UnsafeMutablePointer<fitsfile>

/// The process-wide parts of the cfitsio choke point: opening, creating and error text.
enum CFITSIO {
    /// cfitsio's one-time set-up (its global lock and its drivers), done before the first call
    /// (Swift runs a static initialiser once, whichever thread gets there first).
    /// The corresponding C function is `fits_init_cfitsio`.
    static let initialized: Void = {
        let status = fits_init_cfitsio()
        precondition(status == 0, "cfitsio could not initialise its global lock (status \(status))")
    }()

    /// Whether the linked cfitsio was built thread-safe. The corresponding C function is `fits_is_reentrant`.
    static var isReentrant: Bool { fits_is_reentrant() != 0 }

    /// The linked cfitsio version, e.g. 4.02. The corresponding C function is `ffvers`.
    static var version: Float {
        var v: Float = 0
        return ffvers(&v)
    }

    /// cfitsio's status text followed by its error-message stack, which this empties.
    /// The corresponding C functions are `ffgerr`, `ffgmsg` and `ffcmsg`.
    static func errorText(status: Int32) -> String {
        _ = initialized
        var statusText = [CChar](repeating: 0, count: Int(FLEN_STATUS))
        ffgerr(status, &statusText)
        var parts = [string(statusText)]
        var line = [CChar](repeating: 0, count: Int(FLEN_ERRMSG))
        while ffgmsg(&line) != 0 { parts.append(string(line)) }
        ffcmsg()
        return parts.joined(separator: "; ")
    }

    /// Throws a `FITSError` when `status` is non-zero.
    static func check(
        _ status: Int32, _ function: String, _ operation: @autoclosure () -> String, path: String, hdu: Int?
    ) throws(FITSError) {
        guard status != 0 else { return }
        throw FITSError(status: status, function: function, path: path, hdu: hdu,
                        message: errorText(status: status), operation: operation())
    }

    /// Opens a file on disk by its literal name (no extended-filename syntax; gzip, bzip2 and
    /// Unix-compressed files are decompressed into memory). The corresponding C function is `ffdkopn`.
    static func open(_ path: String, readWrite: Bool) throws(FITSError) -> FITSHandle {
        var handle: FITSHandle?
        var status: Int32 = 0
        marked(&status) { ffdkopn(&handle, path, readWrite ? READWRITE : READONLY, &$0) }
        try check(status, "ffdkopn", "cannot open FITS file", path: path, hdu: nil)
        guard let handle else { preconditionFailure("ffdkopn returned no handle and no error for \(path)") }
        return handle
    }

    /// Opens a file already read into memory, read-only; `path` names it in messages.
    /// The corresponding C function is `ffomem`.
    static func open(_ path: String, memory image: MemoryImage) throws(FITSError) -> FITSHandle {
        var handle: FITSHandle?
        var status: Int32 = 0
        marked(&status) { ffomem(&handle, path, READONLY, image.base, image.size, 0, nil, &$0) }
        try check(status, "ffomem", "cannot open FITS file", path: path, hdu: nil)
        guard let handle else { preconditionFailure("ffomem returned no handle and no error for \(path)") }
        return handle
    }

    /// Creates an empty file on disk by its literal name; fails if it exists.
    /// The corresponding C function is `ffdkinit`.
    static func create(_ path: String) throws(FITSError) -> FITSHandle {
        var handle: FITSHandle?
        var status: Int32 = 0
        marked(&status) { ffdkinit(&handle, path, &$0) }
        try check(status, "ffdkinit", "cannot create FITS file", path: path, hdu: nil)
        guard let handle else { preconditionFailure("ffdkinit returned no handle and no error for \(path)") }
        return handle
    }

    /// Closes a handle, flushing what was written; returns the status.
    /// The corresponding C function is `ffclos`.
    static func close(_ handle: FITSHandle) -> Int32 {
        var status: Int32 = 0
        marked(&status) { ffclos(handle, &$0) }
        return status
    }

    /// Runs a cfitsio call between `ffpmrk` and `ffcmrk` when it succeeds: cfitsio leaves notes
    /// on its message stack during some successful calls (e.g. "could not find column: ZSCALE"
    /// while handling compressed images), which would otherwise end up in a later error's
    /// message. Lines pushed before the mark (another thread's error in progress) stay.
    @inline(__always)
    static func marked(_ status: inout Int32, _ body: (inout Int32) -> Void) {
        _ = initialized
        ffpmrk()
        body(&status)
        if status == 0 { ffcmrk() }
    }

    /// A Swift string from a NUL-terminated C buffer.
    static func string(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

// MARK: - Header cards in memory (FITSHeader)

extension CFITSIO {
    /// Runs `body` with zeroed stack buffers for a value and a comment (FLEN_VALUE, FLEN_COMMENT).
    private static func withValueBuffers<R>(_ body: (UnsafeMutablePointer<CChar>, UnsafeMutablePointer<CChar>) throws -> R) rethrows -> R {
        try withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(FLEN_VALUE) + Int(FLEN_COMMENT)) { buffer in
            buffer.initialize(repeating: 0)
            return try body(buffer.baseAddress!, buffer.baseAddress! + Int(FLEN_VALUE))
        }
    }

    /// The raw value text of a card (`card`: NUL-terminated, trailing blanks removed) as `ffgkey`
    /// gives it, and for a quoted value the string without its quotes and trailing blanks as
    /// `ffgkls` gives it before any CONTINUE card (nil otherwise); errors as `FITSFile.string(_:)`
    /// reports them. The corresponding C functions are `ffpsvc` and `ffc2s`.
    static func parseString(_ card: UnsafeMutablePointer<CChar>, keyword: String, path: String, hdu: Int) throws(FITSError) -> (raw: String, text: String?) {
        var raw = "", text: String?
        var status: Int32 = 0, function = "ffgkey"
        withValueBuffers { value, unquoted in
            marked(&status) { status in
                guard ffpsvc(card, value, nil, &status) == 0 else { return }
                raw = String(cString: value)
                guard value[0] == 0x27 else { return }
                function = "ffgkls"
                if ffc2s(value, unquoted, &status) == 0 { text = String(cString: unquoted) }
            }
        }
        try check(status, function, function == "ffgkey" ? "cannot read keyword \(keyword)" : "cannot read string keyword \(keyword)", path: path, hdu: hdu)
        return (raw, text)
    }

    /// The raw value text of a card, as `ffgkey` gives it; errors as `FITSFile.cReadKeyword`
    /// reports them. The corresponding C function is `ffpsvc`.
    static func parseValue(_ card: UnsafeMutablePointer<CChar>, keyword: String, path: String, hdu: Int) throws(FITSError) -> String {
        var raw = ""
        var status: Int32 = 0
        withValueBuffers { value, _ in
            marked(&status) { if ffpsvc(card, value, nil, &$0) == 0 { raw = String(cString: value) } }
        }
        try check(status, "ffgkey", "cannot read keyword \(keyword)", path: path, hdu: hdu)
        return raw
    }

    /// The string value and comment a CONTINUE card adds to the string before it, or nil when
    /// `card` is no CONTINUE card, as `ffgcnt` reads them (a value it cannot parse is empty).
    /// The corresponding C functions are `ffpsvc` and `ffc2s`.
    static func continuation(_ card: UnsafeMutablePointer<CChar>) -> (value: String, comment: String)? {
        guard strncmp(card, "CONTINUE  ", 10) == 0 else { return nil }
        memcpy(card, "D2345678= ", 10)  // a dummy name with a value indicator, as ffgcnt does
        return withValueBuffers { value, comment in
            withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(FLEN_VALUE)) { text in
                text.initialize(repeating: 0)
                var ignored: Int32 = 0
                ffpmrk()
                ffpsvc(card, value, comment, &ignored)
                ffc2s(value, text.baseAddress!, &ignored)
                ffcmrk()  // whatever failed only empties the value, as in ffgcnt: its notes are dropped
                return (ignored == 0 ? String(cString: text.baseAddress!) : "", String(cString: comment))
            }
        }
    }

    /// The name, value text and comment of the cards of `header` whose name `include` accepts,
    /// as `ffgkyn` gives them (`FITSFile.headerCards`), every card checked as there: a value
    /// that cannot be parsed, a name with characters FITS does not allow.
    /// The corresponding C functions are `ffpsvc` and `fftrec`.
    static func parseCards(_ header: FITSHeader, where include: (String) -> Bool) throws(FITSError) -> [(name: String, value: String, comment: String)] {
        var kept: [(name: String, value: String, comment: String)] = []
        var status: Int32 = 0
        var failed = 0
        withValueBuffers { value, comment in
            marked(&status) { status in
                for k in 0..<header.count {
                    let keep = include(header.names[k])
                    header.withCard(k) { card in
                        value[0] = 0
                        comment[0] = 0
                        guard ffpsvc(card, value, keep ? comment : nil, &status) == 0 else { return }
                        header.names[k].withCString { name in
                            if fftrec(UnsafeMutablePointer(mutating: name), &status) != 0 {
                                ffpmsg("Name of keyword no. \(k + 1) contains illegal character(s): \(header.names[k])")
                                if (k + 1) % 36 == 0 { ffpmsg("  (This may indicate a missing END keyword).") }
                            }
                        }
                    }
                    if status != 0 { failed = k + 1; return }
                    if keep { kept.append((header.names[k], String(cString: value), String(cString: comment))) }
                }
            }
        }
        try check(status, "ffgkyn", "cannot read header card \(failed)", path: header.path, hdu: header.hdu)
        return kept
    }

    /// A card's integer value as `ffgkyjj` reads it, or nil when it has none or it is no
    /// integer. Plain `NAME    = 123` cards are read here; anything else by cfitsio.
    /// The corresponding C functions are `ffpsvc` and `ffc2jj`.
    static func integerValue(_ card: UnsafeMutablePointer<CChar>) -> Int64? {
        let length = strlen(card)
        // The value of a "= " card is the token after the blanks, up to a blank or a slash (ffpsvc).
        if length > 10, card[8] == 0x3D, card[9] == 0x20, strncmp(card, "HIERARCH ", 9) != 0 {
            var i = 10
            while i < length && card[i] == 0x20 { i += 1 }
            var end = i
            while end < length && card[end] != 0x20 && card[end] != 0x2F { end += 1 }
            let token = UnsafeBufferPointer(start: UnsafeRawPointer(card + i).assumingMemoryBound(to: UInt8.self), count: end - i)
            let digits = token.first == 0x2B || token.first == 0x2D ? token.dropFirst() : token[...]
            if !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int64(String(decoding: token, as: UTF8.self)) {
                return value
            }
        }
        var result: Int64 = 0
        var status: Int32 = 0
        withValueBuffers { value, _ in
            ffpmrk()
            ffpsvc(card, value, nil, &status)
            ffc2jj(value, &result, &status)
            ffcmrk()  // absent or not an integer: the caller's default, without cfitsio's notes
        }
        return status == 0 ? result : nil
    }
}

extension FITSFile {
    /// Runs one cfitsio call on this file's handle and throws if its status is non-zero.
    @inline(__always)
    func call(
        _ function: String, _ operation: @autoclosure () -> String, hdu: Int? = nil,
        _ body: (FITSHandle, inout Int32) -> Void
    ) throws(FITSError) {
        var status: Int32 = 0
        CFITSIO.marked(&status) { body(openHandle, &$0) }
        if status != 0 {
            try CFITSIO.check(status, function, operation(), path: path, hdu: hdu ?? cCurrentHDU())
        }
    }

    /// The 0-based current HDU. The corresponding C function is `ffghdn`.
    func cCurrentHDU() -> Int {
        var number: Int32 = 0
        ffghdn(openHandle, &number)
        return Int(number) - 1
    }

    /// The number of HDUs in the file. The corresponding C function is `ffthdu`.
    func cHDUCount() throws(FITSError) -> Int {
        var count: Int32 = 0
        try call("ffthdu", "cannot count HDUs") { ffthdu($0, &count, &$1) }
        return Int(count)
    }

    /// Moves to a 0-based HDU; returns cfitsio's HDU type. The corresponding C function is `ffmahd`.
    func cMove(to index: Int, operation: @autoclosure () -> String) throws(FITSError) -> Int32 {
        var type: Int32 = 0
        // Moving to a compressed float image leaves notes (absent ZSCALE/ZZERO columns).
        try call("ffmahd", operation(), hdu: index) { ffmahd($0, Int32(index) + 1, &type, &$1) }
        return type
    }

    /// The cfitsio type code of the current HDU. The corresponding C function is `ffghdt`.
    func cCurrentHDUType() throws(FITSError) -> Int32 {
        var type: Int32 = 0
        try call("ffghdt", "cannot read the HDU type") { ffghdt($0, &type, &$1) }
        return type
    }

    /// Moves to the next HDU; returns its type, or nil when the current HDU is the last one
    /// (cfitsio's END_OF_FILE, whose message is dropped). The corresponding C function is `ffmrhd`.
    func cMoveToNext() throws(FITSError) -> Int32? {
        var type: Int32 = 0
        var status: Int32 = 0
        ffpmrk()
        ffmrhd(openHandle, 1, &type, &status)
        if status == 0 || status == END_OF_FILE {
            ffcmrk()
            return status == 0 ? type : nil
        }
        let next = cCurrentHDU() + 1
        try CFITSIO.check(status, "ffmrhd", "cannot move to HDU \(next)", path: path, hdu: next)
        return nil
    }

    /// Moves to the first HDU whose EXTNAME (or HDUNAME) is `name`, any version; returns its type.
    /// The corresponding C functions are `ffmnhd` and `ffghdt`.
    func cMove(toExtname name: String, operation: @autoclosure () -> String) throws(FITSError) -> Int32 {
        var cName = Array(name.utf8CString)
        try call("ffmnhd", operation()) { ffmnhd($0, ANY_HDU, &cName, 0, &$1) }
        var type: Int32 = 0
        try call("ffghdt", operation()) { ffghdt($0, &type, &$1) }
        return type
    }

    /// NAXISn of the current image HDU, NAXIS1 first. The corresponding C functions are `ffgidm` and `ffgiszll`.
    func cImageShape() throws(FITSError) -> [Int] {
        var naxis: Int32 = 0
        try call("ffgidm", "cannot read image dimensions") { ffgidm($0, &naxis, &$1) }
        var naxes = [Int64](repeating: 0, count: Int(naxis))
        try call("ffgiszll", "cannot read image dimensions") { ffgiszll($0, naxis, &naxes, &$1) }
        return naxes.map { Int($0) }
    }

    /// The BITPIX equivalent to the stored one once BSCALE/BZERO apply. The corresponding C function is `ffgiet`.
    func cImageEquivalentBitpix() throws(FITSError) -> Int {
        var type: Int32 = 0
        try call("ffgiet", "cannot read image type") { ffgiet($0, &type, &$1) }
        return Int(type)
    }

    /// The size in bytes of the current HDU's data as its header cards declare it:
    /// |BITPIX|/8 × GCOUNT × (PCOUNT + NAXIS1 × … × NAXISn), computed without trusting cfitsio's
    /// own sums (its C arithmetic wraps around for hostile headers). Throws when a card is
    /// negative or the product does not fit 64 bits: such a header describes no real file.
    func cDeclaredDataBytes(_ function: String, _ operation: @autoclosure () -> String) throws(FITSError) -> Int64 {
        // A read-only file's header is read once (FITSHeader) instead of searched six times, two
        // of them through the whole header where PCOUNT and GCOUNT are absent (primary HDUs).
        let header = mode == .readOnly ? try? self.header() : nil
        func card(_ name: String, default value: Int64) -> Int64 {
            guard let header else { return integerCard(name, default: value) }
            return header.integer(name) ?? value
        }
        func fail(_ message: String) -> FITSError {
            FITSError(status: 0, function: function, path: path, hdu: cCurrentHDU(), message: message, operation: operation())
        }
        let bitpix = card("BITPIX", default: 8), naxis = card("NAXIS", default: 0)
        guard (0...999).contains(naxis) else { throw fail("NAXIS = \(naxis) is outside 0...999") }
        var elements: Int64 = naxis > 0 ? 1 : 0
        // Keyword names and messages are made only when needed: this runs before every data read.
        func axisName(_ axis: Int64) -> String { axis == 0 ? "NAXIS1" : axis == 1 ? "NAXIS2" : "NAXIS\(axis + 1)" }
        func factors(through last: Int64) -> [String] { (0...last).map { "\(axisName($0)) = \(card(axisName($0), default: 0))" } }
        for axis in 0..<naxis {
            let length = card(axisName(axis), default: 0)
            guard length >= 0 else { throw fail("NAXIS\(axis + 1) = \(length) is negative") }
            let (product, overflow) = elements.multipliedReportingOverflow(by: length)
            guard !overflow else {
                throw fail("the header declares more data than 64-bit sizes hold (\(factors(through: axis).joined(separator: " × ")) × …): the header is corrupt")
            }
            elements = product
        }
        let groups = card("GCOUNT", default: 1), extra = card("PCOUNT", default: 0)
        guard groups >= 0, extra >= 0 else { throw fail("GCOUNT = \(groups), PCOUNT = \(extra): neither may be negative") }
        let bytesPerElement = abs(bitpix) / 8
        let (perGroup, o1) = extra.addingReportingOverflow(elements)
        let (values, o2) = perGroup.multipliedReportingOverflow(by: groups)
        let (bytes, o3) = values.multipliedReportingOverflow(by: bytesPerElement)
        guard !o1, !o2, !o3 else {
            throw fail("BITPIX = \(bitpix), GCOUNT = \(groups), PCOUNT = \(extra) and \(naxis > 0 ? factors(through: naxis - 1).joined(separator: ", ") : "") declare more data than 64-bit sizes hold: the header is corrupt")
        }
        return bytes
    }

    /// An integer card of the current header, or `value` when it is absent or not an integer
    /// (cfitsio reports a bad mandatory card when it parses the header).
    func integerCard(_ name: String, default value: Int64) -> Int64 {
        var result: Int64 = 0
        var local: Int32 = 0
        ffpmrk()
        ffgkyjj(openHandle, name, &result, nil, &local)
        ffcmrk()
        return local == 0 ? result : value
    }

    /// For a tile-compressed image: throws when one tile (ZTILE1 × ZTILE2 × …, which cfitsio
    /// allocates whole to decompress it) has more than `FITSFile.maximumPixelsOfCompressedImage`
    /// pixels: a few bytes of header could otherwise make cfitsio allocate gigabytes.
    func checkCompressedTiles(_ function: String, _ operation: @autoclosure () -> String) throws(FITSError) {
        var status: Int32 = 0
        var compressed: Int32 = 0
        CFITSIO.marked(&status) { compressed = fits_is_compressed_image(openHandle, &$0) }
        guard status == 0, compressed != 0 else { return }
        let axes = integerCard("ZNAXIS", default: 0)
        guard (0...999).contains(axes) else { return }  // cfitsio refuses such a header itself
        var pixels: Int64 = 1
        for axis in 0..<axes {
            let length = integerCard("ZTILE\(axis + 1)", default: axis == 0 ? integerCard("ZNAXIS1", default: 1) : 1)
            let (product, overflow) = pixels.multipliedReportingOverflow(by: max(length, 1))
            pixels = overflow ? .max : product
        }
        guard pixels > Int64(FITSFile.maximumPixelsOfCompressedImage) else { return }
        throw FITSError(status: 0, function: function, path: path, hdu: cCurrentHDU(),
                        message: "a tile of this compressed image has \(pixels) pixels (ZTILEn), more than the \(FITSFile.maximumPixelsOfCompressedImage) photoz lets cfitsio decompress at once: the header is corrupt",
                        operation: operation())
    }

    /// Throws, as a read past the end of a file on disk would, when the current HDU's data as
    /// its header declares it (`cDeclaredDataBytes`) runs past the end of the file. Every read of
    /// data checks this before allocating: cfitsio's memory driver (files read whole, and
    /// `.gz`/`.bz2` files decompressed by cfitsio) would read past the end of its buffer, and a
    /// header may declare sizes whose products overflow or dwarf the file.
    func checkDataInFile(_ function: String, _ operation: @autoclosure () -> String) throws(FITSError) {
        var status: Int32 = 0
        var head: Int64 = 0, start: Int64 = 0, end: Int64 = 0
        CFITSIO.marked(&status) { ffghadll(openHandle, &head, &start, &end, &$0) }
        try CFITSIO.check(status, "ffghadll", operation(), path: path, hdu: cCurrentHDU())
        let declared = try cDeclaredDataBytes(function, operation())
        // cfitsio's `filesize` is the size of what it reads: the file on disk, the image read
        // into memory, or the decompressed bytes of a .gz file.
        let fptr = openHandle.pointee.Fptr!
        let size = image.map { Int64($0.size.pointee) } ?? max(fptr.pointee.filesize, fptr.pointee.logfilesize)
        let (dataEnd, overflow) = start.addingReportingOverflow(declared)
        // A file open for writing may hold data not yet flushed: only the sizes are checked.
        guard mode == .readOnly, overflow || dataEnd > size else { return }
        throw FITSError(status: END_OF_FILE, function: function, path: path, hdu: cCurrentHDU(),
                        message: "the file ends at byte \(size), before the end of this HDU's data (byte \(overflow ? "beyond 2^63" : String(dataEnd)), as its header declares it): it is truncated or its header is corrupt",
                        operation: operation())
    }

    /// Reads `count` pixels from the first one as Float, scaled; undefined (BLANK) pixels become NaN.
    /// The corresponding C function is `ffgpv`.
    ///
    /// In an uncompressed floating-point image NaN is already the undefined value, so cfitsio's
    /// per-pixel null check (a scalar loop that turns NaN into NaN) is skipped there; integer
    /// images (BLANK) and tile-compressed ones (ZBLANK) keep it.
    func cReadPixels(into buffer: UnsafeMutablePointer<Float>, count: Int) throws(FITSError) {
        try checkDataInFile("ffgpv", "cannot read image")
        try checkCompressedTiles("ffgpv", "cannot read image")
        var null = Float.nan
        var anyNull: Int32 = 0
        var stored: Int32 = 0
        var plainFloat = false
        var status: Int32 = 0
        CFITSIO.marked(&status) { status in
            if ffgidt(openHandle, &stored, &status) == 0 && stored < 0 { plainFloat = fits_is_compressed_image(openHandle, &status) == 0 }
        }
        if status != 0 { plainFloat = false }  // ffgpv below reports whatever is wrong
        try withUnsafeMutablePointer(to: &null) { null throws(FITSError) in
            try call("ffgpv", "cannot read image") { ffgpv($0, TFLOAT, 1, Int64(count), plainFloat ? nil : null, buffer, &anyNull, &$1) }
        }
    }

    /// Reads the section between 1-based inclusive corners as Float, scaled, NaN for BLANK.
    /// The corresponding C function is `ffgsv`.
    func cReadSection(first: [Int], last: [Int], into buffer: UnsafeMutablePointer<Float>) throws(FITSError) {
        try checkDataInFile("ffgsv", "cannot read image section")
        try checkCompressedTiles("ffgsv", "cannot read image section")
        var blc = first
        var trc = last
        var inc = [Int](repeating: 1, count: first.count)
        var null = Float.nan
        var anyNull: Int32 = 0
        try call("ffgsv", "cannot read image section") { ffgsv($0, TFLOAT, &blc, &trc, &inc, &null, buffer, &anyNull, &$1) }
    }

    /// Appends an image HDU (tile-compressed when asked; floats losslessly) and moves to it.
    /// The corresponding C functions are `fits_set_compression_type`, `fits_set_quantize_level` and `ffcrimll`.
    ///
    /// cfitsio keeps the requested compression in the file handle, so it is reset right after
    /// (a quantize level cannot be reset, but is only used for floating-point images, which
    /// always set it here). The table of a compressed image is written at creation, so its
    /// parameters are fixed from then on.
    func cCreateImage(bitpix: Int, shape: [Int], compression: FITSTileCompression?) throws(FITSError) {
        let operation = "cannot create \(compression == nil ? "" : "tile-compressed ")image HDU (BITPIX \(bitpix), shape \(shape))"
        if let compression {
            let type = compression == .rice ? RICE_1 : GZIP_1
            try call("fits_set_compression_type", operation) { fits_set_compression_type($0, type, &$1) }
            if bitpix < 0 {  // no quantization: floats are compressed losslessly
                try call("fits_set_quantize_level", operation) { fits_set_quantize_level($0, 0, &$1) }
            }
        }
        var naxes = shape.map { Int64($0) }
        defer {
            if compression != nil {
                var reset: Int32 = 0
                fits_set_compression_type(openHandle, 0, &reset)
            }
        }
        // Creating a compressed image leaves notes on the message stack.
        try call("ffcrimll", operation) { ffcrimll($0, Int32(bitpix), Int32(naxes.count), &naxes, &$1) }
    }

    /// Whether the current HDU is a tile-compressed image. The corresponding C function is `fits_is_compressed_image`.
    func cIsCompressedImage() throws(FITSError) -> Bool {
        var status: Int32 = 0
        var compressed: Int32 = 0
        CFITSIO.marked(&status) { compressed = fits_is_compressed_image(openHandle, &$0) }
        try CFITSIO.check(status, "fits_is_compressed_image", "cannot read image type", path: path, hdu: cCurrentHDU())
        return compressed != 0
    }

    /// The BITPIX stored in the header (for compressed images, ZBITPIX). The corresponding C function is `ffgidt`.
    func cImageStoredBitpix() throws(FITSError) -> Int {
        var type: Int32 = 0
        try call("ffgidt", "cannot read image type") { ffgidt($0, &type, &$1) }
        return Int(type)
    }

    /// Writes `count` pixels of cfitsio type `type` from the first one. With `scaled`, cfitsio
    /// applies the inverse of BSCALE/BZERO as they stand in the header now (so the header is
    /// re-read first); without, the values are stored as given (scaling switched off for the
    /// write, then the header re-read). The corresponding C functions are `ffrdef`, `ffpscl` and `ffppr`.
    func cWritePixels(_ pixels: UnsafeRawPointer, type: Int32, count: Int, scaled: Bool) throws(FITSError) {
        try call("ffrdef", "cannot write image") { ffrdef($0, &$1) }
        if !scaled { try call("ffpscl", "cannot write image") { ffpscl($0, 1, 0, &$1) } }
        // Writing compressed tiles leaves notes on the message stack.
        try call("ffppr", "cannot write image") {
            ffppr($0, type, 1, Int64(count), UnsafeMutableRawPointer(mutating: pixels), &$1)
        }
        if !scaled { try call("ffrdef", "cannot write image") { ffrdef($0, &$1) } }
    }
}

// MARK: - Header

extension FITSFile {
    /// The raw value text and comment of a keyword, or nil when it is absent.
    /// The corresponding C function is `ffgkey`.
    func cReadKeyword(_ name: String) throws(FITSError) -> (value: String, comment: String)? {
        var value = [CChar](repeating: 0, count: Int(FLEN_VALUE))
        var comment = [CChar](repeating: 0, count: Int(FLEN_COMMENT))
        var status: Int32 = 0
        ffpmrk()
        ffgkey(openHandle, name, &value, &comment, &status)
        if status == 0 || status == KEY_NO_EXIST { ffcmrk() }  // an absent keyword is no error: drop its note
        if status == KEY_NO_EXIST { return nil }
        try CFITSIO.check(status, "ffgkey", "cannot read keyword \(name)", path: path, hdu: cCurrentHDU())
        return (CFITSIO.string(value), CFITSIO.string(comment))
    }

    /// A string keyword's value, following the CONTINUE long-string convention, without quotes
    /// and trailing blanks. The corresponding C functions are `ffgkls` and `fffree`.
    func cReadLongString(_ name: String) throws(FITSError) -> String {
        var value: UnsafeMutablePointer<CChar>?
        var status: Int32 = 0
        CFITSIO.marked(&status) { ffgkls(openHandle, name, &value, nil, &$0) }
        defer { if let value { var s: Int32 = 0; fffree(value, &s) } }
        try CFITSIO.check(status, "ffgkls", "cannot read string keyword \(name)", path: path, hdu: cCurrentHDU())
        return value.map { String(cString: $0) } ?? ""
    }

    /// Every card of the current header in one call, for `FITSHeader`: the cards as cfitsio
    /// reads them and each card's keyword name. The corresponding C functions are `ffhdr2str`
    /// and `ffgknm`.
    func cReadHeader() throws(FITSError) -> FITSHeader {
        let hdu = cCurrentHDU()
        // A file read whole into memory holds the cards as cfitsio reads them, from the header's
        // start (ffghadll) for as many cards as it counted (ffghsp): copied from there, without
        // ffhdr2str's card-by-card reads (a fifth of an uncompressed ingest's header work).
        if let image, let base = image.base.pointee {
            var headStart: Int64 = 0, dataStart: Int64 = 0, dataEnd: Int64 = 0
            var count: Int32 = 0, more: Int32 = 0
            try call("ffghadll", "cannot read header", hdu: hdu) { ffghadll($0, &headStart, &dataStart, &dataEnd, &$1) }
            try call("ffghsp", "cannot read header", hdu: hdu) { ffghsp($0, &count, &more, &$1) }
            let end = headStart + Int64(count) * 80
            if headStart >= 0, count >= 0, end <= Int64(image.size.pointee) {
                return header(hdu: hdu, records: UnsafeRawBufferPointer(start: base + Int(headStart), count: Int(count) * 80))
            }
        }
        var text: UnsafeMutablePointer<CChar>?
        var count: Int32 = 0
        try call("ffhdr2str", "cannot read header", hdu: hdu) { ffhdr2str($0, 0, nil, 0, &text, &count, &$1) }
        guard let text else { preconditionFailure("ffhdr2str returned no header and no error for \(path)") }
        defer { var status: Int32 = 0; fffree(text, &status) }
        let cards = max(Int(count) - 1, 0)  // ffhdr2str appends an END card
        return header(hdu: hdu, records: UnsafeRawBufferPointer(start: text, count: cards * 80))
    }

    /// A `FITSHeader` of the cards in `records` (80 bytes each), named as `ffgknm` names them:
    /// up to the first blank, `=` or NUL (at most 74 characters), read here; a HIERARCH card's
    /// name by `ffgknm` itself.
    private func header(hdu: Int, records: UnsafeRawBufferPointer) -> FITSHeader {
        let cards = records.count / 80
        var names: [String] = []
        names.reserveCapacity(cards)
        let hierarch = Array("HIERARCH ".utf8)
        for k in 0..<cards {
            let card = UnsafeRawBufferPointer(rebasing: records[k * 80..<k * 80 + 80])
            if !card.starts(with: hierarch) {
                let end = card.prefix(Int(FLEN_KEYWORD) - 1).firstIndex { $0 == 0x20 || $0 == 0x3D || $0 == 0 } ?? Int(FLEN_KEYWORD) - 1
                names.append(String(decoding: card[..<end], as: UTF8.self))
                continue
            }
            withUnsafeTemporaryAllocation(of: CChar.self, capacity: 81 + Int(FLEN_KEYWORD)) { buffer in
                let text = buffer.baseAddress!, name = text + 81
                var length = 80
                while length > 0 && card[length - 1] == 0x20 { length -= 1 }
                UnsafeMutableRawPointer(text).copyMemory(from: card.baseAddress!, byteCount: length)
                text[length] = 0
                name[0] = 0
                var nameLength: Int32 = 0, status: Int32 = 0
                ffgknm(text, name, &nameLength, &status)  // no status set, no message
                names.append(String(cString: name))
            }
        }
        return FITSHeader(path: path, hdu: hdu, records: [UInt8](records), names: names)
    }

    /// The number of cards in the current header (END excluded). The corresponding C function is `ffghsp`.
    func cCardCount() throws(FITSError) -> Int {
        var count: Int32 = 0
        var more: Int32 = 0
        try call("ffghsp", "cannot read header") { ffghsp($0, &count, &more, &$1) }
        return Int(count)
    }

    /// The name, raw value text and comment of the 1-based card `number`. The corresponding C function is `ffgkyn`.
    func cReadCard(_ number: Int) throws(FITSError) -> (name: String, value: String, comment: String) {
        var name = [CChar](repeating: 0, count: Int(FLEN_KEYWORD))
        var value = [CChar](repeating: 0, count: Int(FLEN_VALUE))
        var comment = [CChar](repeating: 0, count: Int(FLEN_COMMENT))
        try call("ffgkyn", "cannot read header card \(number)") { ffgkyn($0, Int32(number), &name, &value, &comment, &$1) }
        return (CFITSIO.string(name), CFITSIO.string(value), CFITSIO.string(comment))
    }

    /// Updates or appends a keyword; a nil comment keeps an existing card's comment.
    /// The corresponding C functions are `ffukls`, `ffuky` (TLONGLONG), `ffukyd` and `ffukyl`.
    func cUpdateKeyword(_ name: String, _ value: FITSValue, significantDigits: Int, comment: String?) throws(FITSError) {
        let operation = "cannot write keyword \(name)"
        switch value {
        case .string(let text):
            try call("ffukls", operation) { ffukls($0, name, text, comment, &$1) }
        case .int(let int):
            var v = Int64(int)
            try call("ffuky", operation) { ffuky($0, TLONGLONG, name, &v, comment, &$1) }
        case .double(let double):
            try call("ffukyd", operation) { ffukyd($0, name, double, Int32(-significantDigits), comment, &$1) }
        case .bool(let bool):
            try call("ffukyl", operation) { ffukyl($0, name, bool ? 1 : 0, comment, &$1) }
        }
    }

    /// Appends a COMMENT card (several when the text is long). The corresponding C function is `ffpcom`.
    func cWriteComment(_ text: String) throws(FITSError) {
        try call("ffpcom", "cannot write COMMENT") { ffpcom($0, text, &$1) }
    }

    /// Appends a HISTORY card (several when the text is long). The corresponding C function is `ffphis`.
    func cWriteHistory(_ text: String) throws(FITSError) {
        try call("ffphis", "cannot write HISTORY") { ffphis($0, text, &$1) }
    }
}

// MARK: - Tables

extension FITSFile {
    /// Appends a BINTABLE HDU with `rows` rows and the given TTYPE/TFORM/TUNIT, and moves to it.
    /// The corresponding C function is `ffcrtb`.
    func cCreateBinaryTable(name: String, rows: Int, types: [String], forms: [String], units: [String]) throws(FITSError) {
        let strings = [types, forms, units].map { $0.map { strdup($0) } }
        defer { strings.joined().forEach { free($0) } }
        var ttype = strings[0], tform = strings[1], tunit = strings[2]
        try call("ffcrtb", "cannot create binary table \(name)") {
            ffcrtb($0, BINARY_TBL, Int64(rows), Int32(types.count), &ttype, &tform, &tunit, name, &$1)
        }
    }

    /// Writes `count` values of cfitsio type `type` into 1-based column `column` from row 1.
    /// The corresponding C function is `ffpcl`.
    func cWriteColumn(_ column: Int, name: String, type: Int32, values: UnsafeRawPointer, count: Int) throws(FITSError) {
        try call("ffpcl", "cannot write column \(name)") {
            ffpcl($0, type, Int32(column), 1, 1, Int64(count), UnsafeMutableRawPointer(mutating: values), &$1)
        }
    }

    /// The number of rows of the current table. The corresponding C function is `ffgnrwll`.
    func cRowCount() throws(FITSError) -> Int {
        var rows: Int64 = 0
        try call("ffgnrwll", "cannot read table row count") { ffgnrwll($0, &rows, &$1) }
        return Int(rows)
    }

    /// The number of columns of the current table. The corresponding C function is `ffgncl`.
    func cColumnCount() throws(FITSError) -> Int {
        var columns: Int32 = 0
        try call("ffgncl", "cannot read table column count") { ffgncl($0, &columns, &$1) }
        return Int(columns)
    }

    /// The equivalent cfitsio type code (TZERO/TSCAL applied; negative for variable-length
    /// arrays), repeat count and width of a 1-based column. The corresponding C function is `ffeqtyll`.
    func cColumnType(_ column: Int, name: String) throws(FITSError) -> (type: Int32, repeat: Int, width: Int) {
        var type: Int32 = 0
        var repeatCount: Int64 = 0
        var width: Int64 = 0
        try call("ffeqtyll", "cannot read the type of column \(name)") { ffeqtyll($0, Int32(column), &type, &repeatCount, &width, &$1) }
        return (type, Int(repeatCount), Int(width))
    }

    /// Reads `count` elements of a 1-based column from row 1 as cfitsio type `type` (TLONGLONG,
    /// TFLOAT, TDOUBLE, TLOGICAL…); `null` (or nil for none) replaces undefined values.
    /// The corresponding C function is `ffgcv`.
    func cReadColumn(_ column: Int, name: String, type: Int32, count: Int, null: UnsafeMutableRawPointer?,
                     into buffer: UnsafeMutableRawPointer) throws(FITSError) {
        try checkDataInFile("ffgcv", "cannot read column \(name)")
        var anyNull: Int32 = 0
        try call("ffgcv", "cannot read column \(name)") { ffgcv($0, type, Int32(column), 1, 1, Int64(count), null, buffer, &anyNull, &$1) }
    }

    /// Reads `rows` strings of at most `width` bytes from a 1-based column, trailing blanks removed.
    /// The corresponding C function is `ffgcv` with TSTRING.
    func cReadStringColumn(_ column: Int, name: String, rows: Int, width: Int) throws(FITSError) -> [String] {
        try checkDataInFile("ffgcv", "cannot read column \(name)")
        let stride = width + 1
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: rows * stride)
        defer { storage.deallocate() }
        storage.initialize(repeating: 0, count: rows * stride)
        var pointers: [UnsafeMutablePointer<CChar>?] = (0..<rows).map { storage + $0 * stride }
        var empty: CChar = 0
        var anyNull: Int32 = 0
        try call("ffgcv", "cannot read column \(name)") {
            ffgcv($0, TSTRING, Int32(column), 1, 1, Int64(rows), &empty, &pointers, &anyNull, &$1)
        }
        return (0..<rows).map { row in
            var text = String(cString: storage + row * stride)
            while text.last == " " { text.removeLast() }  // cfitsio leaves one blank of an all-blank field
            return text
        }
    }
}
