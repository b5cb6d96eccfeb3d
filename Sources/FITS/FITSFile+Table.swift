import CFITSIO

// Binary tables: creating one with all its rows, and reading columns by name.

extension FITSFile {
    /// Appends a BINTABLE HDU with `EXTNAME = name` holding `columns` (all rows written), and
    /// makes it current. An empty file first gets a header-only primary HDU.
    ///
    /// All columns must have the same number of rows (a bug otherwise); see `FITSColumn` for
    /// the FITS type each kind of data gets. Throws for names, units or strings other than
    /// printable ASCII and when the file is read-only. The corresponding C functions are `ffcrtb` and `ffpcl`.
    public func createBinaryTable(name: String, columns: [FITSColumn]) throws {
        let rows = columns.first?.data.count ?? 0
        for column in columns {
            precondition(column.data.count == rows,
                         "column \(column.name) has \(column.data.count) rows, column \(columns[0].name) has \(rows)")
        }
        let operation = "cannot create binary table \(name)"
        try requireWritable(operation)
        try requireASCII(name, operation, what: "the name")
        for column in columns {
            try requireASCII(column.name, operation, what: "the column name")
            try requireASCII(column.unit ?? "", operation, what: "the unit of column \(column.name)")
            if case .string(let strings) = column.data {
                for (row, text) in strings.enumerated() {
                    try requireASCII(text, operation, what: "row \(row) of column \(column.name)")
                }
            }
        }
        try cCreateBinaryTable(name: name, rows: rows, types: columns.map(\.name),
                               forms: columns.map { Self.tform(for: $0.data) }, units: columns.map { $0.unit ?? "" })
        guard rows > 0 else { return }
        for (index, column) in columns.enumerated() {
            let number = index + 1
            switch column.data {
            case .int64(let v): try v.withUnsafeBytes { try cWriteColumn(number, name: column.name, type: TLONGLONG, values: $0.baseAddress!, count: rows) }
            case .int32(let v): try v.withUnsafeBytes { try cWriteColumn(number, name: column.name, type: TINT, values: $0.baseAddress!, count: rows) }
            case .float32(let v): try v.withUnsafeBytes { try cWriteColumn(number, name: column.name, type: TFLOAT, values: $0.baseAddress!, count: rows) }
            case .float64(let v): try v.withUnsafeBytes { try cWriteColumn(number, name: column.name, type: TDOUBLE, values: $0.baseAddress!, count: rows) }
            case .string(let strings): try writeStrings(strings, column: number, name: column.name)
            }
        }
    }

    /// The number of rows of the current table (NAXIS2). The corresponding C function is `ffgnrwll`.
    public func tableRowCount() throws -> Int {
        try cRowCount()
    }

    /// The names (TTYPEn) of the current table's columns in order; "" for an unnamed column.
    ///
    /// The corresponding C functions are `ffgncl` and `ffgkls`.
    public func tableColumnNames() throws -> [String] {
        let count = try cColumnCount()
        return try (0..<count).map { try string("TTYPE\($0 + 1)") ?? "" }
    }

    /// The number of values per row of a column (its repeat count: 1 for scalars, 5 for `5E`,
    /// the string length for `nA`). Throws like `readColumn(_:)` when the column is missing.
    ///
    /// The corresponding C function is `ffeqtyll`.
    public func columnRepeat(_ name: String) throws -> Int {
        let (number, found) = try columnNumber(name)
        return try cColumnType(number, name: found).repeat
    }

    /// The values of the column named `name` (case-insensitive) in its native type, all rows:
    /// every integer type (TZERO offsets applied) as `.int64`, logical as `.int64` 0/1, `E` as
    /// `.float32`, `D` (and integers with a fractional TSCAL) as `.float64`, `A` as `.string`
    /// with trailing blanks removed. Vector columns come flattened row by row; undefined
    /// floating-point values are NaN.
    ///
    /// Throws when the column is missing (the message lists the columns found) or of an
    /// unsupported type (bit, complex, variable-length). The corresponding C function is `ffgcv`.
    public func readColumn(_ name: String) throws -> FITSColumnData {
        let (number, found) = try columnNumber(name)
        let (type, repeatCount, width) = try cColumnType(number, name: found)
        let rows = try cRowCount()
        guard [TBYTE, TSBYTE, TSHORT, TUSHORT, TINT, TUINT, TLONG, TULONG, TLONGLONG, TULONGLONG,
               TLOGICAL, TFLOAT, TDOUBLE, TSTRING].contains(type) else {
            let form = try string("TFORM\(number)") ?? "?"
            throw ownError("readColumn", "cannot read column \(found)",
                           "its type TFORM\(number) = '\(form)' (bit, complex or variable-length) is not supported")
        }
        // Nothing is allocated before the rows × repeat values are known to lie in the file:
        // each value takes at least one byte of the table's data (bit columns are refused below).
        try checkDataInFile("readColumn", "cannot read column \(found)")
        let (count, overflow) = rows.multipliedReportingOverflow(by: repeatCount)
        let (bytes, overflowOfStrings) = rows.multipliedReportingOverflow(by: max(repeatCount, width, 1))
        let dataBytes = try cDeclaredDataBytes("readColumn", "cannot read column \(found)")
        guard !overflow, !overflowOfStrings, rows >= 0, repeatCount >= 0, width >= 0, Int64(bytes) <= dataBytes else {
            throw ownError("readColumn", "cannot read column \(found)",
                           "the header declares \(rows) rows of \(repeatCount) values, more than the table's \(dataBytes) bytes of data hold: the header is corrupt")
        }
        switch type {
        case TBYTE, TSBYTE, TSHORT, TUSHORT, TINT, TUINT, TLONG, TULONG, TLONGLONG, TULONGLONG:
            return .int64(try read(Int64.self, number, found, TLONGLONG, count, null: nil))
        case TLOGICAL:
            return .int64(try read(Int8.self, number, found, TLOGICAL, count, null: nil).map { $0 == 1 ? 1 : 0 })
        case TFLOAT:
            return .float32(try read(Float.self, number, found, TFLOAT, count, null: Float.nan))
        case TDOUBLE:
            return .float64(try read(Double.self, number, found, TDOUBLE, count, null: Double.nan))
        case TSTRING:
            return .string(rows == 0 ? [] : try cReadStringColumn(number, name: found, rows: rows, width: max(repeatCount, width)))
        default:
            preconditionFailure("column type \(type) passed the check above")
        }
    }

    /// The 1-based number and stored name of a column matched case-insensitively.
    private func columnNumber(_ name: String) throws -> (Int, String) {
        let names = try tableColumnNames()
        guard let index = names.firstIndex(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) else {
            throw ownError("readColumn", "cannot read column \(name)",
                           "no column named '\(name)'; the table has \(names.count) columns: \(names.joined(separator: ", "))")
        }
        return (index + 1, names[index])
    }

    /// Reads `count` elements of a column as `T` (cfitsio type `type`).
    private func read<T>(_: T.Type, _ number: Int, _ name: String, _ type: Int32, _ count: Int, null: T?) throws -> [T] {
        guard count > 0 else { return [] }
        var nullValue = null
        return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            if nullValue != nil {
                try withUnsafeMutablePointer(to: &nullValue!) {
                    try cReadColumn(number, name: name, type: type, count: count, null: UnsafeMutableRawPointer($0), into: buffer.baseAddress!)
                }
            } else {
                try cReadColumn(number, name: name, type: type, count: count, null: nil, into: buffer.baseAddress!)
            }
            initialized = count
        }
    }

    /// Writes a string column: each string NUL-terminated in one block, cfitsio pads with blanks.
    private func writeStrings(_ strings: [String], column: Int, name: String) throws {
        let stride = (strings.map(\.utf8.count).max() ?? 0) + 1
        var storage = [CChar](repeating: 0, count: strings.count * stride)
        for (row, text) in strings.enumerated() {
            for (offset, byte) in text.utf8.enumerated() { storage[row * stride + offset] = CChar(bitPattern: byte) }
        }
        try storage.withUnsafeMutableBufferPointer { block in
            let pointers: [UnsafeMutablePointer<CChar>?] = (0..<strings.count).map { block.baseAddress! + $0 * stride }
            try pointers.withUnsafeBytes {
                try cWriteColumn(column, name: name, type: TSTRING, values: $0.baseAddress!, count: strings.count)
            }
        }
    }

    /// The TFORM for a column's data.
    static func tform(for data: FITSColumnData) -> String {
        switch data {
        case .int64: "K"
        case .int32: "J"
        case .float32: "E"
        case .float64: "D"
        case .string(let strings): "\(max(1, strings.map(\.utf8.count).max() ?? 0))A"
        }
    }
}
