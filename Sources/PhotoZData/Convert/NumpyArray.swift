import Foundation

/// The element type of a NumPy array (`descr` of an `.npy` header), little- or big-endian.
struct NumpyDType: Equatable, CustomStringConvertible {
    enum Kind: Character { case float = "f", int = "i", unsigned = "u" }
    var kind: Kind
    var size: Int
    var bigEndian: Bool

    /// Parses `<f4`, `|u1`, `>i8`, …; nil for anything else (strings, objects, complex).
    init?(_ text: String) {
        let c = Array(text)
        guard c.count >= 3, "<>|=".contains(c[0]), let kind = Kind(rawValue: c[1]), let size = Int(String(c[2...])) else { return nil }
        guard kind == .float ? [4, 8].contains(size) : [1, 2, 4, 8].contains(size) else { return nil }
        self.kind = kind
        self.size = size
        bigEndian = c[0] == ">"
    }

    init(kind: Kind, size: Int) {
        self.kind = kind
        self.size = size
        bigEndian = false
    }

    /// The header's form: `<f4`, `|u1`, …
    var description: String { (size == 1 ? "|" : bigEndian ? ">" : "<") + String(kind.rawValue) + String(size) }

    /// Element `k` of `raw` as a Double.
    @inline(__always) func double(_ raw: UnsafeRawBufferPointer, _ k: Int) -> Double {
        switch (kind, size) {
        case (.float, 4): Double(Float(bitPattern: load(raw, k, UInt32.self)))
        case (.float, _): Double(bitPattern: load(raw, k, UInt64.self))
        default: Double(integer(raw, k) ?? 0)
        }
    }

    /// Element `k` as an Int64 (integer types; unsigned 64-bit values above Int64.max are nil).
    @inline(__always) func integer(_ raw: UnsafeRawBufferPointer, _ k: Int) -> Int64? {
        switch (kind, size) {
        case (.int, 1): Int64(Int8(bitPattern: raw[k]))
        case (.unsigned, 1): Int64(raw[k])
        case (.int, 2): Int64(Int16(bitPattern: load(raw, k, UInt16.self)))
        case (.unsigned, 2): Int64(load(raw, k, UInt16.self))
        case (.int, 4): Int64(Int32(bitPattern: load(raw, k, UInt32.self)))
        case (.unsigned, 4): Int64(load(raw, k, UInt32.self))
        case (.int, 8): Int64(bitPattern: load(raw, k, UInt64.self))
        case (.unsigned, 8): Int64(exactly: load(raw, k, UInt64.self))
        default: nil
        }
    }

    @inline(__always) private func load<T: FixedWidthInteger>(_ raw: UnsafeRawBufferPointer, _ k: Int, _ type: T.Type) -> T {
        let v = raw.loadUnaligned(fromByteOffset: k * size, as: T.self)
        return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
    }
}

/// The header of an `.npy` array: dtype, shape and where the data start.
struct NumpyHeader {
    var dtype: NumpyDType
    var shape: [Int]
    /// Bytes from the start of the `.npy` stream to the first element.
    var dataOffset: Int
    var elements: Int { shape.reduce(1, *) }

    /// numpy writes headers of a few hundred bytes; anything larger is not an array header.
    static let maxHeaderBytes = 1 << 16

    /// Reads and checks the header at the start of `stream`; the data must fill the rest of the
    /// entry exactly (so a shape is never trusted beyond the bytes that back it).
    static func read(_ stream: ZipEntryStream, name: String) throws -> NumpyHeader {
        let path = stream.archive.path
        func bad(_ what: String) -> PhotoZDataError { .schema(path: path, message: "array '\(name)': \(what)") }
        let total = stream.entry.uncompressedSize
        guard total >= 10 else { throw bad("\(total) bytes, too short for an .npy header") }
        let magic = try stream.read(count: 10)
        guard magic[0] == 0x93, Array(magic[1..<6]) == Array("NUMPY".utf8) else { throw bad("not an .npy array (no \\x93NUMPY magic)") }
        let major = magic[6]
        var headerLength: Int, prefix: Int
        switch major {
        case 1: headerLength = Int(magic.u16(8)); prefix = 10
        case 2, 3:
            let more = try stream.read(count: 2)
            headerLength = Int((magic + more).u32(8)); prefix = 12
        default: throw bad(".npy format version \(major); photoz reads versions 1 to 3")
        }
        guard headerLength <= maxHeaderBytes, headerLength <= total - prefix else { throw bad("header of \(headerLength) bytes does not fit") }
        let text = String(decoding: try stream.read(count: headerLength), as: UTF8.self)
        guard let descr = value(of: "descr", in: text)?.trimmingCharacters(in: CharacterSet(charactersIn: "'\"")),
              let fortran = value(of: "fortran_order", in: text), let shapeText = value(of: "shape", in: text) else {
            throw bad("header '\(text.prefix(120))' lacks descr, fortran_order or shape")
        }
        guard let dtype = NumpyDType(descr) else {
            throw bad("dtype '\(descr)' is not a number type photoz reads (float32/64, integers)")
        }
        guard fortran == "False" else { throw bad("stored in Fortran order; save it with np.ascontiguousarray first") }
        let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() ")).split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var shape: [Int] = []
        for d in dims {
            guard let v = Int(d), v >= 0 else { throw bad("shape \(shapeText) is not a tuple of sizes") }
            shape.append(v)
        }
        var bytes = dtype.size, overflow = false
        for d in shape {
            let (p, o) = bytes.multipliedReportingOverflow(by: d)
            bytes = p
            overflow = overflow || o
        }
        let dataBytes = total - prefix - headerLength
        guard !overflow, bytes == dataBytes else {
            throw bad("shape \(shape) of \(dtype) needs \(overflow ? "more than 2^63" : String(bytes)) bytes but the entry holds \(dataBytes) (truncated or damaged file)")
        }
        return NumpyHeader(dtype: dtype, shape: shape, dataOffset: prefix + headerLength)
    }

    /// The text after `'key':` up to the next top-level comma or the dict's end.
    private static func value(of key: String, in text: String) -> String? {
        guard let r = text.range(of: "'\(key)'") ?? text.range(of: "\"\(key)\"") else { return nil }
        var rest = text[r.upperBound...].drop { $0 == " " }
        guard rest.first == ":" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " }
        var depth = 0, out = ""
        for ch in rest {
            if ch == "(" { depth += 1 } else if ch == ")" { depth -= 1 }
            if depth == 0, ch == "," || ch == "}" { break }
            out.append(ch)
            if depth < 0 { break }
        }
        return out.trimmingCharacters(in: .whitespaces)
    }
}

/// One array of an `.npz` archive, read row by row (along axis 0) in order.
final class NumpyArrayStream {
    let name: String
    let header: NumpyHeader
    private let stream: ZipEntryStream
    /// Elements per row (the product of the shape after axis 0).
    let rowElements: Int
    private(set) var rowsRead = 0
    private var scratch: [UInt8] = []

    var rows: Int { header.shape.first ?? 0 }

    init(archive: ZipArchive, name: String) throws {
        guard let entry = archive.entry(name + ".npy") else {
            let keys = archive.entries.map { $0.name.hasSuffix(".npy") ? String($0.name.dropLast(4)) : $0.name }
            throw PhotoZDataError.schema(path: archive.path, message: "no array '\(name)' (the file holds \(keys.joined(separator: ", ")))")
        }
        // Deflate cannot shrink data more than about 1032:1: a larger declared size is not data.
        if entry.method == 8, entry.uncompressedSize / ShardSchema.maxCompressionRatio > entry.compressedSize {
            throw PhotoZDataError.schema(path: archive.path, message: "array '\(name)': \(entry.uncompressedSize) bytes declared for \(entry.compressedSize) compressed bytes: damaged file")
        }
        self.name = name
        stream = try archive.stream(entry)
        header = try NumpyHeader.read(stream, name: name)
        guard !header.shape.isEmpty else { throw PhotoZDataError.schema(path: archive.path, message: "array '\(name)' is a scalar; expected one value per object") }
        rowElements = header.shape.dropFirst().reduce(1, *)
    }

    /// Reads the next `n` rows as raw bytes and hands them to `body`.
    private func next<R>(_ n: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        precondition(n >= 0 && n <= rows - rowsRead, "reading past the end of \(name)")
        let bytes = n * rowElements * header.dtype.size
        if scratch.count < bytes { scratch = [UInt8](repeating: 0, count: bytes) }
        return try scratch.withUnsafeMutableBytes { raw in
            let part = UnsafeMutableRawBufferPointer(rebasing: raw[0..<bytes])
            try stream.read(into: part)
            rowsRead += n
            return try body(UnsafeRawBufferPointer(part))
        }
    }

    /// The next `n` rows converted to Float into `out` (n × rowElements values).
    func readFloats(_ n: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        precondition(out.count == n * rowElements, "one row of \(rowElements) values per row")
        let d = header.dtype
        if d.kind == .float, d.size == 4, !d.bigEndian {  // the common case: bytes as they are
            try stream.read(into: UnsafeMutableRawBufferPointer(out))
            rowsRead += n
            return
        }
        try next(n) { raw in for k in 0..<out.count { out[k] = Float(d.double(raw, k)) } }
    }

    func readFloats(_ n: Int) throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: n * rowElements) { buffer, count in
            try readFloats(n, into: buffer)
            count = n * rowElements
        }
    }

    func readDoubles(_ n: Int) throws -> [Double] {
        let d = header.dtype
        return try next(n) { raw in (0..<n * rowElements).map { d.double(raw, $0) } }
    }

    /// The next `n` rows as integers: integer arrays as they are, float arrays only if every
    /// value is a whole number (ids saved as floats); else an error naming the row.
    func readIntegers(_ n: Int, path: String) throws -> [Int64] {
        let d = header.dtype, start = rowsRead
        return try next(n) { raw in
            try (0..<n * rowElements).map { k in
                if d.kind == .float {
                    let v = d.double(raw, k)
                    guard let i = Int64(exactly: v) else { throw PhotoZDataError.schema(path: path, message: "array '\(name)' row \(start + k / rowElements): \(v) is not an integer id") }
                    return i
                }
                guard let i = d.integer(raw, k) else { throw PhotoZDataError.schema(path: path, message: "array '\(name)' row \(start + k / rowElements): id above 2^63") }
                return i
            }
        }
    }
}
