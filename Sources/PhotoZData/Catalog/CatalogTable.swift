import FITS
import Foundation

/// A catalog read as columns of text or numbers, before the photoz columns are picked out.
///
/// FITS binary tables keep their numeric types; CSV values are parsed on demand, so a
/// non-numeric value is reported with its row and column instead of failing the whole file.
struct CatalogTable {
    enum Column {
        case int64([Int64])
        /// Floating-point values and the largest integer magnitude their type holds exactly
        /// (2^53 for 64-bit, 2^24 for 32-bit floats).
        case double([Double], exactIntegersUpTo: Double)
        /// CSV text or a FITS text column ('A'), parsed on demand row by row (SDSS specObj
        /// files store BESTOBJID as text, CLASS is text).
        case text([String])
        /// A FITS column that holds no single number per row (a vector, logical, text or an
        /// unsupported type), not read; the text says what it holds, e.g. "a vector of 5 values per row (TFORM5 = '5E')".
        case unusable(String)
    }

    let path: String
    let columnNames: [String]
    let rowCount: Int
    private let columns: [String: Column]
    /// TUNITn of FITS columns that have one, by column name (CSV has none).
    var units: [String: String] = [:]

    /// Finds a column by exact name first, then case-insensitively.
    func resolve(_ name: String) -> String? {
        if columns[name] != nil { return name }
        return columnNames.first { $0.lowercased() == name.lowercased() }
    }

    /// Why a column cannot give one number per row, or nil when it can (or may, row by row, for CSV).
    func numberProblem(_ name: String) -> String? {
        if case let .unusable(why) = columns[name]! { return why }
        return nil
    }

    /// For a floating-point column: the largest magnitude of its values when some exceed what
    /// its type holds exactly as an integer (an id column written as floats), else nil.
    func inexactIntegers(_ name: String) -> (largest: Double, limit: Double)? {
        guard case let .double(values, limit) = columns[name]! else { return nil }
        let largest = values.lazy.filter(\.isFinite).map(abs).max() ?? 0
        return largest > limit ? (largest, limit) : nil
    }

    /// Reads a column as 64-bit integers; `nil` marks a value that is not an integer. Callers
    /// first check `numberProblem` and `inexactIntegers`.
    func int64Values(_ name: String) -> [Int64?] {
        switch columns[name]! {
        case let .int64(values): return values
        case let .double(values, limit): return values.map { $0.isFinite && $0 == $0.rounded() && abs($0) <= limit ? Int64($0) : nil }
        case let .text(values): return values.map { Int64($0.trimmingCharacters(in: .whitespaces)) }
        case .unusable: return [Int64?](repeating: nil, count: rowCount)
        }
    }

    /// Reads a column as trimmed text (numbers as they print), e.g. SDSS's CLASS.
    func textValues(_ name: String) -> [String] {
        switch columns[name]! {
        case let .int64(values): return values.map { String($0) }
        case let .double(values, _): return values.map { String($0) }
        case let .text(values): return values.map { $0.trimmingCharacters(in: .whitespaces) }
        case .unusable: return [String](repeating: "", count: rowCount)
        }
    }

    /// A column's values typed for keeping: integers, real numbers (empty or unparsable cells
    /// NaN only when every other cell is a number), or text (trimmed).
    enum KeptValues { case ints([Int64]), reals([Double]), text([String]) }

    func keptValues(_ name: String) -> KeptValues {
        switch columns[name]! {
        case let .int64(values): return .ints(values)
        case let .double(values, _): return .reals(values)
        case .unusable: return .text([String](repeating: "", count: rowCount))
        case let .text(raw):
            let values = raw.map { $0.trimmingCharacters(in: .whitespaces) }
            let ints = values.map { Int64($0) }
            if !values.isEmpty, ints.allSatisfy({ $0 != nil }) { return .ints(ints.map { $0! }) }
            let reals = values.map { $0.isEmpty ? Double.nan : Self.parseDouble($0) }
            if reals.allSatisfy({ $0 != nil }) { return .reals(reals.map { $0! }) }
            return .text(values)
        }
    }

    /// Whether row `row` of a column is an empty text cell, or `null` as database exports write
    /// a missing value (a missing value in CSV or FITS text).
    func isEmpty(_ name: String, row: Int) -> Bool {
        if case let .text(values) = columns[name]! {
            let text = values[row].trimmingCharacters(in: .whitespaces)
            return text.isEmpty || text.lowercased() == "null"
        }
        return false
    }

    /// Reads a column as doubles; `nil` marks a value that is not a number. Callers first check `numberProblem`.
    func doubleValues(_ name: String) -> [Double?] {
        switch columns[name]! {
        case let .int64(values): return values.map { Double($0) }
        case let .double(values, _): return values
        case let .text(values): return values.map { Self.parseDouble($0) }
        case .unusable: return [Double?](repeating: nil, count: rowCount)
        }
    }

    /// The raw text of a value, for error messages.
    func text(_ name: String, row: Int) -> String {
        switch columns[name]! {
        case let .int64(values): return String(values[row])
        case let .double(values, _): return String(values[row])
        case let .text(values): return values[row]
        case .unusable: return ""
        }
    }

    private static func parseDouble(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch trimmed.lowercased() {
        case "nan": return .nan
        case "inf", "+inf", "infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        default: return Double(trimmed)
        }
    }

    /// Opens a catalog: FITS binary table (first table HDU) or CSV, chosen from the file name.
    static func read(_ path: String) throws -> CatalogTable {
        guard FileManager.default.fileExists(atPath: path) else {
            throw PhotoZDataError.catalog(path: path, message: "file not found")
        }
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") || lower.hasSuffix(".txt") || lower.hasSuffix(".tsv") {
            return try readCSV(path)
        }
        return try readFITS(path)
    }

    private static func readFITS(_ path: String) throws -> CatalogTable {
        // cfitsio aborts on some corrupt table headers while it moves to the HDU: walk them in a
        // child process first (one catalog per command, so the fork costs nothing noticeable).
        do {
            try FITSFile.checkInSeparateProcess(path)
        } catch let error as FITSError {
            throw PhotoZDataError.catalog(path: path, message: "\(error.operation): \(error.message)")
        }
        return try FITSFile.withFile(path) { file in
            // HDU by HDU: a broken header then fails with cfitsio's reason (counting the HDUs
            // first stops silently before it, and the table would seem missing).
            var count = 0
            var next: FITSHDUType? = try file.currentHDUType()
            while let type = next {
                count += 1
                guard type == .binaryTable || type == .asciiTable else {
                    next = try file.moveToNextHDU()
                    continue
                }
                let names = try file.tableColumnNames()
                var columns: [String: Column] = [:]
                for (index, name) in names.enumerated() where columns[name] == nil {
                    // Only columns of one number per row are read: FITSFile.readColumn flattens
                    // vectors row by row, which once gave rows other rows' values.
                    let form = (try file.string("TFORM\(index + 1)") ?? "").uppercased()
                    let code = form.first(where: { !$0.isNumber }) ?? "?"
                    let described = "TFORM\(index + 1) = '\(form)'"
                    switch code {
                    case "L": columns[name] = .unusable("logical values (\(described))"); continue
                    case "A":
                        if case let .string(v) = try file.readColumn(name) { columns[name] = .text(v) } else { columns[name] = .unusable("text (\(described))") }
                        continue
                    case "B", "I", "J", "K", "E", "D", "F", "G": break
                    default: columns[name] = .unusable("values of a type photoz does not read as numbers (\(described): bit, complex or variable-length)"); continue
                    }
                    let count = try file.columnRepeat(name)
                    guard count == 1 else {
                        columns[name] = .unusable(count == 0 ? "no value (\(described))" : "a vector of \(count) values per row (\(described))")
                        continue
                    }
                    switch try file.readColumn(name) {
                    case let .int64(v): columns[name] = .int64(v)
                    case let .int32(v): columns[name] = .int64(v.map(Int64.init))
                    case let .float32(v): columns[name] = .double(v.map(Double.init), exactIntegersUpTo: 0x1p24)
                    case let .float64(v): columns[name] = .double(v, exactIntegersUpTo: 0x1p53)
                    case .string: columns[name] = .unusable("text (\(described))")
                    }
                }
                var table = CatalogTable(path: path, columnNames: names, rowCount: try file.tableRowCount(), columns: columns)
                for index in names.indices {
                    if let unit = try? file.string("TUNIT\(index + 1)"), !unit.trimmingCharacters(in: .whitespaces).isEmpty {
                        table.units[names[index]] = unit.trimmingCharacters(in: .whitespaces)
                    }
                }
                return table
            }
            throw PhotoZDataError.catalog(path: path, message: "no table HDU found among \(count) HDUs; a catalog is a FITS binary table or a CSV file")
        }
    }

    private static func readCSV(_ path: String) throws -> CatalogTable {
        var text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw PhotoZDataError.catalog(path: path, message: "cannot read as UTF-8 text: \(error.localizedDescription)")
        }
        // Spreadsheets save UTF-8 CSV with a byte-order mark, which would become part of the first column's name.
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let separator: Character = path.lowercased().hasSuffix(".tsv") ? "\t" : ","
        var header: [String]?
        var cells: [[String]] = []
        for (lineNumber, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = splitCSVLine(String(line), separator: separator)
            if header == nil { header = fields.map { $0.trimmingCharacters(in: .whitespaces) }; continue }
            guard fields.count == header!.count else {
                throw PhotoZDataError.catalog(path: path, message: "line \(lineNumber + 1) has \(fields.count) fields but the header has \(header!.count); fix the line or quote fields that contain '\(separator)'")
            }
            cells.append(fields)
        }
        guard let names = header else { throw PhotoZDataError.catalog(path: path, message: "the file is empty: expected a header line with column names") }
        var columns: [String: Column] = [:]
        for (index, name) in names.enumerated() { columns[name] = .text(cells.map { $0[index] }) }
        return CatalogTable(path: path, columnNames: names, rowCount: cells.count, columns: columns)
    }

    /// Splits one CSV line, honouring double quotes (`""` inside quotes is a quote).
    static func splitCSVLine(_ line: String, separator: Character) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var iterator = line.makeIterator()
        while let c = iterator.next() {
            if quoted {
                if c == "\"" {
                    var lookahead = iterator
                    if lookahead.next() == "\"" { current.append("\""); iterator = lookahead } else { quoted = false }
                } else { current.append(c) }
            } else if c == "\"" { quoted = true } else if c == separator { fields.append(current); current = "" } else if c != "\r" { current.append(c) }
        }
        fields.append(current)
        return fields
    }
}
