import Foundation

/// The `--where` language of `photoz select`: a condition on the per-row scalar columns of
/// the shard schema (`ShardSchema.columns`), on the catalog columns the data set keeps
/// (`ingest --keep-columns`: `catalog/NAME`, or `NAME` as `photoz table` writes it, when no
/// schema column has that name) and on the row's split.
///
///     expression := or
///     or         := and ("or" and)*
///     and        := unary ("and" unary)*
///     unary      := "not" unary | "(" expression ")" | comparison
///     comparison := operand (op operand)+        op: < <= > >= == !=
///     operand    := column | number | "text"
///
/// A chain `0.05 <= z_spec < 0.2` means `0.05 <= z_spec and z_spec < 0.2` (as in Python).
/// `split` is the row's split (compared with "train", "valid" or "test", `==`/`!=` only).
/// Integer columns (`object_id`) compare exactly with integer literals; everything else
/// compares as double precision, so `z_spec == 0.1` compares the stored float32 widened to
/// double with 0.1 — use a range for float columns. NaN compares false with everything
/// (`!=` true), as in IEEE arithmetic. A catalog column of text (stored as codes) compares with
/// a quoted value, `==`/`!=` only (`class == "GALAXY"`); a value that is not one of the column's
/// categories is refused, as a typo would silently select nothing.
///
/// Parsing never evaluates anything; every error names the position (1-based character) and
/// what was expected there, and an unknown name lists the names that exist.
public struct RowExpression: Sendable, CustomStringConvertible {
    /// A value an operand stands for.
    enum Operand: Sendable {
        case column(ShardColumn)
        case split
        case integer(Int64)
        case number(Double)
        case text(String)
    }

    enum Comparison: String, Sendable, CaseIterable { case le = "<=", ge = ">=", eq = "==", ne = "!=", lt = "<", gt = ">" }

    indirect enum Node: Sendable {
        case and(Node, Node)
        case or(Node, Node)
        case not(Node)
        case compare(Operand, Comparison, Operand)
    }

    public let text: String
    let root: Node
    /// The scalar columns the expression reads (read only these to evaluate it).
    public let columns: [ShardColumn]

    /// The names an expression may use: the scalar columns and `split` (and a data set's catalog columns).
    public static var names: [String] { ShardSchema.columns.filter { $0.shape == .scalar }.map(\.name) + ["split"] }

    /// Expressions longer than this are refused (a typo'd file pasted in, not a condition).
    public static let maxLength = 10_000
    /// Nesting deeper than this is refused, so parsing cannot exhaust the stack.
    public static let maxDepth = 100

    /// Parses `text` for a data set holding `catalogColumns` (`DataSetReader.catalogColumns`).
    public init(_ text: String, catalogColumns: [ShardColumn] = []) throws {
        try self.init(text, names: .dataSet(catalogColumns))
    }

    /// Checks the grammar alone, before the data set is open: names that are not schema columns
    /// are taken as catalog columns, resolved (or refused) when the data set is read.
    public static func checkSyntax(_ text: String) throws {
        _ = try RowExpression(text, names: .unresolved)
    }

    /// What a name may resolve to while parsing.
    enum Names { case dataSet([ShardColumn]), unresolved }

    private init(_ text: String, names: Names) throws {
        guard text.count <= Self.maxLength else { throw Self.error(text, 1, "an expression of at most \(Self.maxLength) characters") }
        var parser = Parser(text: text, tokens: try Lexer.tokens(text), names: names)
        let root = try parser.expression(depth: 0)
        if let extra = parser.peek {
            throw Self.error(text, extra.position, "'and', 'or', a comparison operator or the end of the expression", found: extra)
        }
        self.text = text
        self.root = root
        var used: [ShardColumn] = []
        Self.collect(root, into: &used)
        columns = ShardSchema.columns.filter(used.contains) + used.filter(\.isCatalogColumn)
    }

    public var description: String { text }

    /// Whether the expression reads the row's split.
    public var usesSplit: Bool { Self.usesSplit(root) }

    /// Whether row `k` of `rows` (which hold `columns`) of split `split` satisfies the expression.
    public func matches(_ rows: ShardRows, row k: Int, split: Split) -> Bool { Self.evaluate(root, rows, k, split) }

    // MARK: Evaluation

    private enum Value { case integer(Int64), number(Double), text(String) }

    private static func value(_ operand: Operand, _ rows: ShardRows, _ k: Int, _ split: Split) -> Value {
        switch operand {
        case let .column(c):
            switch c.kind {
            case .int64: return .integer(rows[int64: c.name][k])
            case .float32: return .number(Double(rows[float32: c.name][k]))
            case .float64: return .number(rows[float64: c.name][k])
            }
        case .split: return .text(split.rawValue)
        case let .integer(v): return .integer(v)
        case let .number(v): return .number(v)
        case let .text(v): return .text(v)
        }
    }

    private static func evaluate(_ node: Node, _ rows: ShardRows, _ k: Int, _ split: Split) -> Bool {
        switch node {
        case let .and(a, b): return evaluate(a, rows, k, split) && evaluate(b, rows, k, split)
        case let .or(a, b): return evaluate(a, rows, k, split) || evaluate(b, rows, k, split)
        case let .not(a): return !evaluate(a, rows, k, split)
        case let .compare(l, op, r):
            switch (value(l, rows, k, split), value(r, rows, k, split)) {
            case let (.integer(a), .integer(b)): return compare(a, op, b)
            case let (.text(a), .text(b)): return op == .eq ? a == b : a != b
            case let (a, b): return compare(number(a), op, number(b))
            }
        }
    }

    private static func number(_ v: Value) -> Double {
        switch v {
        case let .integer(i): Double(i)
        case let .number(d): d
        case .text: .nan  // excluded by the parser's type check
        }
    }

    private static func compare<T: Comparable>(_ a: T, _ op: Comparison, _ b: T) -> Bool {
        switch op {
        case .lt: a < b
        case .le: a <= b
        case .gt: a > b
        case .ge: a >= b
        case .eq: a == b
        case .ne: a != b
        }
    }

    private static func collect(_ node: Node, into used: inout [ShardColumn]) {
        switch node {
        case let .and(a, b), let .or(a, b): collect(a, into: &used); collect(b, into: &used)
        case let .not(a): collect(a, into: &used)
        case let .compare(l, _, r):
            for case let .column(c) in [l, r] where !used.contains(c) { used.append(c) }
        }
    }

    private static func usesSplit(_ node: Node) -> Bool {
        switch node {
        case let .and(a, b), let .or(a, b): usesSplit(a) || usesSplit(b)
        case let .not(a): usesSplit(a)
        case let .compare(l, _, r): [l, r].contains { if case .split = $0 { true } else { false } }
        }
    }

    // MARK: Errors

    static func error(_ text: String, _ position: Int, _ expected: String, found: Token? = nil) -> PhotoZDataError {
        let what = found.map { " but found \($0.kind.shown)" } ?? (position > text.count ? " but the expression ended" : "")
        return .invalidOption("--where '\(text)': at character \(position): expected \(expected)\(what). See `photoz help select` for the expression language.")
    }

    // MARK: Lexer

    struct Token: Sendable {
        enum Kind: Sendable, Equatable {
            case name(String), number(String), text(String), op(Comparison), open, close, and, or, not

            var shown: String {
                switch self {
                case let .name(n): "'\(n)'"
                case let .number(n): "the number \(n)"
                case let .text(t): "the text \"\(t)\""
                case let .op(o): "'\(o.rawValue)'"
                case .open: "'('"
                case .close: "')'"
                case .and: "'and'"
                case .or: "'or'"
                case .not: "'not'"
                }
            }
        }
        var kind: Kind
        /// 1-based character position of the token's first character.
        var position: Int
    }

    enum Lexer {
        static func tokens(_ text: String) throws -> [Token] {
            let chars = Array(text)
            var tokens: [Token] = []
            var i = 0
            while i < chars.count {
                let c = chars[i], position = i + 1
                if c.isWhitespace { i += 1; continue }
                if c == "(" { tokens.append(Token(kind: .open, position: position)); i += 1; continue }
                if c == ")" { tokens.append(Token(kind: .close, position: position)); i += 1; continue }
                if "<>=!".contains(c) {
                    let two = i + 1 < chars.count ? String(chars[i...i + 1]) : ""
                    if let op = Comparison(rawValue: two) {
                        tokens.append(Token(kind: .op(op), position: position)); i += 2; continue
                    }
                    if let op = Comparison(rawValue: String(c)) {
                        tokens.append(Token(kind: .op(op), position: position)); i += 1; continue
                    }
                    throw RowExpression.error(text, position, c == "=" ? "'==' (a single '=' is not a comparison)" : "'!=' ('!' alone is not an operator; write 'not')")
                }
                if c == "\"" || c == "'" {
                    guard let end = chars[(i + 1)...].firstIndex(of: c) else {
                        throw RowExpression.error(text, position, "a closing \(c) for the text that starts here")
                    }
                    tokens.append(Token(kind: .text(String(chars[(i + 1)..<end])), position: position))
                    i = end + 1
                    continue
                }
                if c.isNumber || c == "." || ((c == "-" || c == "+") && i + 1 < chars.count && (chars[i + 1].isNumber || chars[i + 1] == ".")) {
                    var j = i + 1
                    while j < chars.count, chars[j].isNumber || chars[j] == "." || chars[j] == "e" || chars[j] == "E"
                        || ((chars[j] == "-" || chars[j] == "+") && (chars[j - 1] == "e" || chars[j - 1] == "E")) { j += 1 }
                    let literal = String(chars[i..<j])
                    guard Double(literal) != nil else { throw RowExpression.error(text, position, "a number", found: Token(kind: .name(literal), position: position)) }
                    tokens.append(Token(kind: .number(literal), position: position))
                    i = j
                    continue
                }
                if c.isLetter || c == "_" {
                    var j = i + 1
                    // `/` for catalog/NAME; `-` and `.` are not name characters (a-b is no column).
                    while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" || chars[j] == "/" { j += 1 }
                    let word = String(chars[i..<j])
                    let kind: Token.Kind = switch word.lowercased() {
                    case "and": .and
                    case "or": .or
                    case "not": .not
                    default: .name(word)
                    }
                    tokens.append(Token(kind: kind, position: position))
                    i = j
                    continue
                }
                throw RowExpression.error(text, position, "a column name, a number, a quoted text, a comparison, 'and', 'or', 'not' or a parenthesis",
                                          found: Token(kind: .name(String(c)), position: position))
            }
            return tokens
        }
    }

    // MARK: Parser (recursive descent)

    struct Parser {
        let text: String
        let tokens: [Token]
        let names: Names
        var next = 0

        var peek: Token? { next < tokens.count ? tokens[next] : nil }
        var endPosition: Int { text.count + 1 }

        mutating func expression(depth: Int) throws -> Node {
            guard depth < RowExpression.maxDepth else {
                throw RowExpression.error(text, peek?.position ?? endPosition, "at most \(RowExpression.maxDepth) nested parentheses or 'not's")
            }
            var node = try conjunction(depth: depth)
            while peek?.kind == .or {
                next += 1
                node = .or(node, try conjunction(depth: depth))
            }
            return node
        }

        mutating func conjunction(depth: Int) throws -> Node {
            var node = try unary(depth: depth)
            while peek?.kind == .and {
                next += 1
                node = .and(node, try unary(depth: depth))
            }
            return node
        }

        mutating func unary(depth: Int) throws -> Node {
            guard depth < RowExpression.maxDepth else {
                throw RowExpression.error(text, peek?.position ?? endPosition, "at most \(RowExpression.maxDepth) nested parentheses or 'not's")
            }
            guard let token = peek else { throw RowExpression.error(text, endPosition, "a condition such as z_spec < 0.3") }
            switch token.kind {
            case .not:
                next += 1
                return .not(try unary(depth: depth + 1))
            case .open:
                next += 1
                let inner = try expression(depth: depth + 1)
                guard let close = peek, close.kind == .close else {
                    throw RowExpression.error(text, peek?.position ?? endPosition, "')' to close the '(' at character \(token.position)", found: peek)
                }
                next += 1
                return inner
            default:
                return try comparison()
            }
        }

        mutating func comparison() throws -> Node {
            var left = try operand()
            guard let first = peek, case let .op(op) = first.kind else {
                throw RowExpression.error(text, peek?.position ?? endPosition, "a comparison operator (< <= > >= == !=) after \(left.token.kind.shown)", found: peek)
            }
            var node: Node?
            var current = op, opToken = first
            while true {
                next += 1
                let right = try operand()
                try check(left, current, right, at: opToken)
                let part = Node.compare(try categoryCode(left, other: right), current, try categoryCode(right, other: left))
                node = node.map { .and($0, part) } ?? part
                left = right
                guard let t = peek, case let .op(o) = t.kind else { break }
                current = o
                opToken = t
            }
            return node!
        }

        mutating func operand() throws -> (operand: Operand, token: Token) {
            guard let token = peek else { throw RowExpression.error(text, endPosition, "a column name, a number or a quoted text") }
            next += 1
            switch token.kind {
            case let .name(name):
                if name == "split" { return (.split, token) }
                if let column = ShardSchema.column(name) {
                    guard column.shape == .scalar else {
                        throw RowExpression.error(text, token.position, "a per-row scalar column (\(RowExpression.names.joined(separator: ", "))); /\(name) holds images")
                    }
                    return (.column(column), token)
                }
                return (try catalogColumn(name, token), token)
            case let .number(literal):
                if let i = Int64(literal) { return (.integer(i), token) }
                return (.number(Double(literal)!), token)
            case let .text(t):
                return (.text(t), token)
            default:
                throw RowExpression.error(text, token.position, "a column name, a number or a quoted text", found: token)
            }
        }

        /// A catalog column by `catalog/NAME` or by `NAME` (exact, else the one that differs in case only).
        func catalogColumn(_ name: String, _ token: Token) throws -> Operand {
            let bare = name.hasPrefix(ShardColumn.catalogGroup + "/") ? String(name.dropFirst(ShardColumn.catalogGroup.count + 1)) : name
            guard case let .dataSet(catalog) = names else {
                guard !bare.isEmpty, !bare.contains("/") else {
                    throw RowExpression.error(text, token.position, "a column name: one of \(RowExpression.names.joined(separator: ", ")) or catalog/NAME", found: token)
                }
                // Syntax check only: stands for a float64 catalog column until the data set is read.
                return .column(.catalog(bare, .float64))
            }
            if let c = catalog.first(where: { $0.catalogName == bare }) { return .column(c) }
            let folded = catalog.filter { $0.catalogName.lowercased() == bare.lowercased() }
            if folded.count == 1 { return .column(folded[0]) }
            let kept = catalog.isEmpty
                ? "; the data set keeps no catalog columns (ingest --keep-columns stores them)"
                : "; catalog columns of this data set: \(catalog.map(\.catalogName).joined(separator: ", "))"
            throw RowExpression.error(text, token.position, "a column name: one of \(RowExpression.names.joined(separator: ", "))\(kept) (text must be quoted)", found: token)
        }

        /// A quoted value compared with a text catalog column becomes its code; it must be one of the categories.
        func categoryCode(_ side: (operand: Operand, token: Token), other: (operand: Operand, token: Token)) throws -> Operand {
            guard case let .text(value) = side.operand, case let .column(c) = other.operand else { return side.operand }
            guard case .dataSet = names else { return side.operand }
            guard let categories = c.categories, let code = categories.firstIndex(of: value) else {
                let shown = (c.categories ?? []).prefix(20).map { "\"\($0)\"" }.joined(separator: ", ")
                throw RowExpression.error(text, side.token.position, "one of the values of \(c.catalogName): \(shown)\((c.categories?.count ?? 0) > 20 ? ", …" : "")", found: side.token)
            }
            return .integer(Int64(code))
        }

        /// Text compares only with `split` or a text catalog column, with `==` or `!=`, against a
        /// split name or one of the column's values.
        func check(_ l: (operand: Operand, token: Token), _ op: Comparison, _ r: (operand: Operand, token: Token), at opToken: Token) throws {
            // A text catalog column, or (syntax check only) a catalog column of unknown type.
            func textColumn(_ o: Operand) -> ShardColumn? {
                guard case let .column(c) = o, c.isCatalogColumn else { return nil }
                if case .unresolved = names { return c }
                return c.categories != nil ? c : nil
            }
            for (side, other) in [(l, r), (r, l)] {
                guard let c = textColumn(side.operand) else { continue }
                if case .unresolved = names { return }  // types are checked when the data set is read
                guard case .text = other.operand else {
                    throw RowExpression.error(text, other.token.position, "a quoted value: \(c.catalogName) holds text", found: other.token)
                }
                guard op == .eq || op == .ne else { throw RowExpression.error(text, opToken.position, "'==' or '!=' (\(c.catalogName) holds text, which is not ordered)", found: opToken) }
                return
            }
            func isText(_ o: Operand) -> Bool { if case .text = o { true } else if case .split = o { true } else { false } }
            let lt = isText(l.operand), rt = isText(r.operand)
            if lt != rt {
                let bad = lt ? r.token : l.token
                throw RowExpression.error(text, bad.position, "a quoted split name (\(Split.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))) to compare with split; numbers compare with numeric columns", found: bad)
            }
            guard lt else { return }
            guard op == .eq || op == .ne else { throw RowExpression.error(text, opToken.position, "'==' or '!=' (splits are not ordered)", found: opToken) }
            for side in [l, r] {
                if case let .text(t) = side.operand, Split(rawValue: t) == nil {
                    throw RowExpression.error(text, side.token.position, "a split name: \(Split.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))", found: side.token)
                }
            }
        }
    }
}
