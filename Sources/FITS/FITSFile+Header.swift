import Foundation

// Header keywords of the current HDU: typed reads, all cards, and writes. On a tile-compressed
// image these see the compressed BINTABLE's header (ZNAXISn hold the image axes, NAXISn the
// table's); `imageShape()` and `imageBitpix()` describe the image itself.

extension FITSFile {
    /// A string keyword's value with quotes and trailing blanks removed (CONTINUE long strings
    /// joined); nil when the keyword is absent or has no value.
    ///
    /// Throws when the value is not a string (e.g. `NAXIS1 = 64`). The corresponding C function is `ffgkls`.
    public func string(_ keyword: String) throws -> String? {
        guard let (value, kind) = try typedKeyword(keyword) else { return nil }
        guard kind == .string else { throw wrongType(keyword, value, kind, wanted: "a string") }
        return try cReadLongString(keyword)
    }

    /// A numeric keyword's value (integer or floating point, `D` exponents accepted); nil when
    /// the keyword is absent or has no value.
    ///
    /// Throws when the value is not a number. The corresponding C function is `ffgkey`.
    public func double(_ keyword: String) throws -> Double? {
        guard let (value, kind) = try typedKeyword(keyword) else { return nil }
        guard kind == .integer || kind == .real, let double = Self.parseDouble(value) else {
            throw wrongType(keyword, value, kind, wanted: "a number")
        }
        return double
    }

    /// An integer keyword's value; nil when the keyword is absent or has no value.
    ///
    /// Throws when the value is not an integer (`EXPTIME = 53.9` is not; read it with
    /// `double(_:)`). The corresponding C function is `ffgkey`.
    public func int(_ keyword: String) throws -> Int? {
        guard let (value, kind) = try typedKeyword(keyword) else { return nil }
        guard kind == .integer else { throw wrongType(keyword, value, kind, wanted: "an integer") }
        guard let int = Int(value) else {
            throw ownError("read keyword", "cannot read keyword \(keyword)", "its value \(value) does not fit a 64-bit integer")
        }
        return int
    }

    /// A logical keyword's value (`T` or `F`); nil when the keyword is absent or has no value.
    ///
    /// Throws when the value is not logical. The corresponding C function is `ffgkey`.
    public func bool(_ keyword: String) throws -> Bool? {
        guard let (value, kind) = try typedKeyword(keyword) else { return nil }
        guard kind == .logical else { throw wrongType(keyword, value, kind, wanted: "a logical (T or F)") }
        return value == "T"
    }

    /// Every card of the current header in order, END excluded (see `FITSCard` for the value text).
    ///
    /// The corresponding C functions are `ffghsp` and `ffgkyn`.
    public func headerCards() throws -> [FITSCard] {
        let count = try cCardCount()
        guard count > 0 else { return [] }
        return try (1...count).map { number in
            let (name, value, comment) = try cReadCard(number)
            return FITSCard(name: name, value: value.hasPrefix("'") ? Self.unquote(value) : value, comment: comment)
        }
    }

    /// Updates a keyword of the current HDU, or appends it when absent. A nil `comment` keeps
    /// the existing card's comment. Doubles are written with the fewest digits that read back
    /// exactly; long strings use the CONTINUE convention.
    ///
    /// Throws for NaN or infinite doubles (FITS headers cannot hold them), for text other than
    /// printable ASCII, and when the file is read-only. The corresponding C functions are `ffukls`, `ffuky`, `ffukyd` and `ffukyl`.
    public func write(_ keyword: String, _ value: FITSValue, comment: String? = nil) throws {
        let operation = "cannot write keyword \(keyword)"
        try requireWritable(operation)
        if case .string(let text) = value { try requireASCII(text, operation, what: "the value") }
        if let comment { try requireASCII(comment, operation, what: "the comment") }
        var digits = 0
        if case .double(let double) = value {
            guard double.isFinite else {
                throw ownError("write", operation, "\(double) cannot be stored in a FITS header")
            }
            digits = Self.significantDigits(double)
        }
        try cUpdateKeyword(keyword, value, significantDigits: digits, comment: comment)
    }

    /// Appends a COMMENT card (continued on more cards when longer than 72 characters); throws
    /// for text other than printable ASCII and when the file is read-only.
    /// The corresponding C function is `ffpcom`.
    public func writeComment(_ text: String) throws {
        try requireWritable("cannot write COMMENT")
        try requireASCII(text, "cannot write COMMENT", what: "the text")
        try cWriteComment(text)
    }

    /// Appends a HISTORY card (continued on more cards when longer than 72 characters); throws
    /// for text other than printable ASCII and when the file is read-only.
    /// The corresponding C function is `ffphis`.
    public func writeHistory(_ text: String) throws {
        try requireWritable("cannot write HISTORY")
        try requireASCII(text, "cannot write HISTORY", what: "the text")
        try cWriteHistory(text)
    }
}

extension FITSFile {
    /// The kinds of value a header card can hold.
    enum ValueKind: String { case string, logical, integer, real, complex, unknown }

    /// The raw value text of a keyword and its kind; nil when absent or without a value.
    private func typedKeyword(_ keyword: String) throws -> (String, ValueKind)? {
        guard let (raw, _) = try cReadKeyword(keyword) else { return nil }
        let value = Self.trimmingBlanks(raw)
        guard !value.isEmpty else { return nil }
        return (value, Self.kind(of: value))
    }

    /// `text` without leading and trailing spaces and tabs (header text is ASCII; Foundation's
    /// Unicode-aware trimming was a tenth of an ingest's CPU time).
    static func trimmingBlanks(_ text: String) -> String {
        let utf8 = text.utf8
        let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 }
        guard let first = utf8.firstIndex(where: { !blank($0) }), let last = utf8.lastIndex(where: { !blank($0) }) else { return "" }
        if first == utf8.startIndex && last == utf8.index(before: utf8.endIndex) { return text }
        return String(text[first...last])
    }

    /// Classifies a value text as cfitsio's `ffdtyp` does.
    static func kind(of value: String) -> ValueKind {
        if value.hasPrefix("'") { return .string }
        if value == "T" || value == "F" { return .logical }
        if value.hasPrefix("(") { return .complex }
        let unsigned = value.first == "+" || value.first == "-" ? value.dropFirst() : Substring(value)
        if !unsigned.isEmpty && unsigned.allSatisfy({ $0.isASCII && $0.isNumber }) { return .integer }
        if parseDouble(value) != nil { return .real }
        return .unknown
    }

    /// A FITS floating-point value text (`1.5`, `-2.E+03`, `1.0D-5`) as a Double.
    static func parseDouble(_ value: String) -> Double? {
        Double(value.replacingOccurrences(of: "D", with: "E").replacingOccurrences(of: "d", with: "e"))
    }

    /// A quoted FITS string without its quotes, with `''` turned into `'` and trailing blanks removed.
    static func unquote(_ value: String) -> String {
        var inner = value.dropFirst()
        if inner.hasSuffix("'") { inner = inner.dropLast() }
        // Foundation's replacement only when there is a quote to replace (most values have none).
        var text = inner.utf8.contains(UInt8(ascii: "'")) ? inner.replacingOccurrences(of: "''", with: "'") : String(inner)
        while text.hasSuffix(" ") { text.removeLast() }
        return text
    }

    /// The fewest significant digits (at least the integer digits, at most 17) whose `%G`
    /// form reads back as exactly `value`.
    /// Public for writers that format header cards themselves (photoz cutout's stamp files)
    /// and must write numbers exactly as `write(_:_:comment:)` does.
    public static func significantDigits(_ value: Double) -> Int {
        let integerDigits = abs(value) >= 1 ? Int(log10(abs(value)).rounded(.down)) + 1 : 1
        // Swift's `description` is the shortest decimal that reads back exactly, so its digit
        // count is the answer; one `%G` formatting confirms it. Trying 1…17 digits in turn cost
        // up to 17 formattings per keyword: a third of `photoz cutout`'s stamp writing.
        var shortest = 0, trailingZeros = 0
        for c in value.description.utf8 {
            if c == UInt8(ascii: "e") { break }
            guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { continue }
            if c == UInt8(ascii: "0") {
                if shortest > 0 { trailingZeros += 1 }
            } else {
                shortest += trailingZeros + 1
                trailingZeros = 0
            }
        }
        let guess = max(1, min(17, max(shortest, integerDigits)))
        if Double(String(format: "%.\(guess)G", value)) == value && (guess == 1 || Double(String(format: "%.\(guess - 1)G", value)) != value || guess <= integerDigits) {
            return guess
        }
        for digits in max(1, min(17, integerDigits))...17 where Double(String(format: "%.\(digits)G", value)) == value {
            return digits
        }
        return 17
    }

    /// The error for a keyword whose value is not of the type asked for.
    private func wrongType(_ keyword: String, _ value: String, _ kind: ValueKind, wanted: String) -> FITSError {
        ownError("read keyword", "cannot read keyword \(keyword)", Self.wrongTypeMessage(value, kind, wanted: wanted))
    }

    /// What is wrong with a keyword value of another type than the one asked for.
    static func wrongTypeMessage(_ value: String, _ kind: ValueKind, wanted: String) -> String {
        let found = switch kind {
        case .string: "a string"
        case .logical: "a logical"
        case .integer: "an integer"
        case .real: "a floating-point number"
        case .complex: "a complex number"
        case .unknown: "not a valid FITS value"
        }
        return "its value \(value) is \(found), not \(wanted)"
    }
}
