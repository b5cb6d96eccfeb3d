/// The header of one HDU, read with one cfitsio call, for looking up several keywords of it.
///
/// `FITSFile.string(_:)` and its siblings ask cfitsio for one keyword at a time, and cfitsio
/// finds it by reading the header card by card, the whole header for a keyword that is absent.
/// A reader that looks up several keywords of each HDU (a cutout's band, scaling, unit and WCS)
/// reads the header once with `FITSFile.header()` and looks them up here instead: the cards are
/// parsed exactly as by the keyword reads (cfitsio's own card parser), so the values and errors
/// are the same. One difference: a keyword that appears more than once is its first card here;
/// cfitsio's search starts after the card it read last, so which one those reads see depends on
/// the keywords read before.
public struct FITSHeader: Sendable {
    /// The file, as opened.
    public let path: String
    /// The 0-based HDU (primary = 0) this header belongs to.
    public let hdu: Int
    /// The cards, 80 bytes each, END excluded, as cfitsio reads them.
    let records: [UInt8]
    /// Each card's keyword name as cfitsio gives it (`ffgknm`: up to the first blank or `=`;
    /// the name after `HIERARCH`).
    let names: [String]
    /// The names with a–z read as A–Z, as cfitsio compares them with the keyword asked for.
    let keys: [String]

    init(path: String, hdu: Int, records: [UInt8], names: [String]) {
        precondition(records.count == names.count * 80, "one name per 80-byte card")
        self.path = path
        self.hdu = hdu
        self.records = records
        self.names = names
        keys = names.map { name in
            name.utf8.contains { $0 >= 0x61 && $0 <= 0x7A }
                ? String(decoding: name.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, as: UTF8.self) : name
        }
    }

    /// The number of cards, END excluded.
    public var count: Int { names.count }

    /// A string keyword's value with quotes and trailing blanks removed (CONTINUE long strings
    /// joined); nil when the keyword is absent or has no value. As `FITSFile.string(_:)`.
    ///
    /// Throws when the value is not a string.
    public func string(_ keyword: String) throws -> String? {
        guard let card = firstCard(keyword) else { return nil }
        let (raw, text) = try withCard(card) { try CFITSIO.parseString($0, keyword: keyword, path: path, hdu: hdu) }
        let value = FITSFile.trimmingBlanks(raw)
        guard !value.isEmpty else { return nil }
        let kind = FITSFile.kind(of: value)
        guard kind == .string, let text else { throw wrongType(keyword, value, kind, wanted: "a string") }
        return longString(text, after: card)
    }

    /// A numeric keyword's value (integer or floating point, `D` exponents accepted); nil when
    /// the keyword is absent or has no value. As `FITSFile.double(_:)`.
    ///
    /// Throws when the value is not a number.
    public func double(_ keyword: String) throws -> Double? {
        guard let card = firstCard(keyword) else { return nil }
        return try number(card, keyword)
    }

    /// The numeric value of every card named `keyword`, in header order (absent or empty values
    /// left out): for keywords that must be sane wherever they appear, as cfitsio applies the
    /// last BSCALE or BZERO of a header to its pixels.
    ///
    /// Throws when one of them is not a number.
    public func doubles(_ keyword: String) throws -> [Double] {
        var values: [Double] = []
        for card in keys.indices where keys[card] == keyword {
            if let value = try number(card, keyword) { values.append(value) }
        }
        return values
    }

    /// The header's cards, END excluded, as `FITSFile.headerCards()` gives them, keeping those
    /// whose name `include` accepts. Every card is checked as there: a card whose value cannot
    /// be parsed or whose name has characters FITS does not allow throws, kept or not.
    public func cards(where include: (String) -> Bool = { _ in true }) throws -> [FITSCard] {
        try CFITSIO.parseCards(self, where: include).map { card in
            FITSCard(name: card.name, value: card.value.hasPrefix("'") ? FITSFile.unquote(card.value) : card.value, comment: card.comment)
        }
    }

    /// An integer card as cfitsio reads it (`ffgkyjj`), or nil when it is absent, has no value
    /// or is no integer (for the sizes the data checks compute).
    func integer(_ keyword: String) -> Int64? {
        guard let card = firstCard(keyword) else { return nil }
        return withCard(card) { CFITSIO.integerValue($0) }
    }

    /// The index of the first card named `keyword` (upper case), or nil.
    func firstCard(_ keyword: String) -> Int? {
        keys.firstIndex(of: keyword)
    }

    /// Runs `body` with card `card` as a NUL-terminated C string without trailing blanks (as
    /// cfitsio hands a card to its parsers).
    func withCard<R>(_ card: Int, _ body: (UnsafeMutablePointer<CChar>) throws -> R) rethrows -> R {
        try withUnsafeTemporaryAllocation(of: CChar.self, capacity: 81) { buffer in
            var length = 80
            records.withUnsafeBytes { bytes in
                let start = card * 80
                while length > 0 && bytes[start + length - 1] == 0x20 { length -= 1 }
                UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: bytes.baseAddress! + start, byteCount: length)
            }
            buffer[length] = 0
            return try body(buffer.baseAddress!)
        }
    }

    /// The raw value text of card `card` trimmed of blanks and its kind; nil without a value.
    private func typedValue(_ card: Int, _ keyword: String) throws -> (String, FITSFile.ValueKind)? {
        let raw = try withCard(card) { try CFITSIO.parseValue($0, keyword: keyword, path: path, hdu: hdu) }
        let value = FITSFile.trimmingBlanks(raw)
        guard !value.isEmpty else { return nil }
        return (value, FITSFile.kind(of: value))
    }

    /// The numeric value of card `card`, nil without a value; throws for anything but a number.
    private func number(_ card: Int, _ keyword: String) throws -> Double? {
        guard let (value, kind) = try typedValue(card, keyword) else { return nil }
        guard kind == .integer || kind == .real, let double = FITSFile.parseDouble(value) else {
            throw wrongType(keyword, value, kind, wanted: "a number")
        }
        return double
    }

    /// A string value `text` (without its quotes) of card `card`, followed over the CONTINUE
    /// cards after it as cfitsio's `ffgkls` follows them.
    private func longString(_ text: String, after card: Int) -> String {
        var text = text
        var next = card + 1
        while text.utf8.last == UInt8(ascii: "&"), next < count {
            guard let (more, comment) = withCard(next, { CFITSIO.continuation($0) }), !more.isEmpty || !comment.isEmpty else { break }
            text.removeLast()
            text += more
            next += 1
        }
        return text
    }

    private func wrongType(_ keyword: String, _ value: String, _ kind: FITSFile.ValueKind, wanted: String) -> FITSError {
        FITSError(status: 0, function: "read keyword", path: path, hdu: hdu,
                  message: FITSFile.wrongTypeMessage(value, kind, wanted: wanted), operation: "cannot read keyword \(keyword)")
    }
}
