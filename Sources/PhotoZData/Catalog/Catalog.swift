/// Which catalog columns hold the values photoz needs. `nil` means "look for the SDSS-style
/// default names" listed in `defaults`.
public struct CatalogColumns: Codable, Sendable, Equatable {
    public var objectID: String?
    public var ra: String?
    public var dec: String?
    public var z: String?
    public var zErr: String?
    public var ebv: String?
    /// Prefix of per-band extinction columns (`extinction_` → `extinction_u` … `extinction_z`),
    /// used when no E(B−V) column is present or when set explicitly.
    public var extinctionPrefix: String?

    public init(objectID: String? = nil, ra: String? = nil, dec: String? = nil, z: String? = nil,
                zErr: String? = nil, ebv: String? = nil, extinctionPrefix: String? = nil) {
        self.objectID = objectID
        self.ra = ra
        self.dec = dec
        self.z = z
        self.zErr = zErr
        self.ebv = ebv
        self.extinctionPrefix = extinctionPrefix
    }

    /// SDSS-style names tried, in order, for each value.
    public static let defaults: [String: [String]] = [
        // SDSS specObj files: OBJID is a 5-vector there and is passed over for BESTOBJID (text).
        "object_id": ["objID", "objid", "object_id", "ObjID", "id", "bestObjID", "BESTOBJID"],
        "ra": ["ra", "RA", "PLUG_RA"],
        "dec": ["dec", "DEC", "Dec", "PLUG_DEC"],
        "z": ["z", "Z", "z_spec", "specz", "redshift"],
        "z_err": ["zErr", "zerr", "z_err", "z_spec_err"],
        "ebv": ["ebv", "EBV", "e_bv", "E_BV"],
        "extinction_prefix": ["extinction_"],
        "class": ["class", "CLASS"],
        "zwarning": ["zWarning", "ZWARNING"],
    ]
}

/// Which catalog rows become shard rows, beyond the columns: what to do with rows without a
/// redshift, and the usual spectroscopic selection. Recorded in every shard's provenance.
public struct CatalogSelection: Codable, Sendable, Equatable {
    /// Keep rows whose redshift is missing as unlabelled rows (for prediction) instead of skipping them.
    public var keepUnlabelled = false
    /// Keep only rows whose class column (SDSS `CLASS`) is one of these, compared without case
    /// and surrounding blanks; nil: any.
    public var classes: [String]?
    /// Keep only rows whose `ZWARNING` is one of these; nil: any.
    public var zWarning: [Int64]?
    /// Keep only labelled rows with zMin ≤ z ≤ zMax (unlabelled rows have no z to cut on).
    public var zMin: Double?
    public var zMax: Double?

    public init() {}

    /// Whether any cut is asked for (not counting `keepUnlabelled`).
    public var cuts: Bool { classes != nil || zWarning != nil || zMin != nil || zMax != nil }

    /// The cuts in words, for provenance and reports, e.g. "CLASS in [GALAXY]; ZWARNING in [0]".
    public var summary: String {
        var parts: [String] = []
        if let classes { parts.append("class in [\(classes.joined(separator: ", "))]") }
        if let zWarning { parts.append("zwarning in [\(zWarning.map(String.init).joined(separator: ", "))]") }
        if zMin != nil || zMax != nil { parts.append("\(zMin.map { "\($0)" } ?? "-inf") <= z <= \(zMax.map { "\($0)" } ?? "inf")") }
        parts.append(keepUnlabelled ? "rows without a redshift kept unlabelled" : "rows without a redshift skipped")
        return parts.joined(separator: "; ")
    }
}

/// Where E(B−V) comes from when the catalog has no column for it.
public enum EBVSource: Codable, Sendable, Equatable {
    /// The catalog's E(B−V) column or per-band extinctions (the default).
    case catalog
    /// One value for every object.
    case constant(Double)
    /// Read from dust maps at each object's position (`DustMap`).
    case maps([String])
}

/// One catalog row with the values a shard stores.
public struct CatalogEntry: Sendable, Equatable {
    public var objectID: Int64
    public var ra: Double
    public var dec: Double
    /// NaN when the row is unlabelled.
    public var zSpec: Float
    public var zSpecErr: Float
    public var ebv: Float
    /// 1-based row number of the object in the catalog file (header not counted).
    public var row: Int
    /// Whether `zSpec` is a spectroscopic redshift (false: a row kept for prediction only).
    public var labelled: Bool
    /// Values of the catalog columns kept (`Catalog.extraColumns`, same order).
    public var extras: [CatalogValue] = []

    public init(objectID: Int64, ra: Double, dec: Double, zSpec: Float, zSpecErr: Float, ebv: Float, row: Int, labelled: Bool = true) {
        self.objectID = objectID
        self.ra = ra
        self.dec = dec
        self.zSpec = zSpec
        self.zSpecErr = zSpecErr
        self.ebv = ebv
        self.row = row
        self.labelled = labelled
    }
}

/// One value of a catalog column kept as it is: an integer (or a text's code) or a real number.
public enum CatalogValue: Sendable, Equatable {
    case int(Int64)
    case real(Double)
}

/// Which more catalog columns to keep in the shards.
public enum KeptColumns: Codable, Sendable, Equatable {
    case none
    /// These columns (each must exist and hold one value per row).
    case named([String])
    /// Every column not already stored (id, position, redshift, E(B−V)) that holds one value per row.
    case all
}

/// An object left out of a run, with the reason; written to the report file.
public struct SkippedObject: Sendable, Equatable, Codable {
    public var objectID: Int64?
    public var row: Int?
    public var file: String?
    public var reason: SkipReason
    public var detail: String
}

/// Why an object was skipped; the summary counts objects by these.
public enum SkipReason: String, Codable, Sendable, CaseIterable {
    case badCatalogValue = "bad-catalog-value"
    /// A spectroscopic redshift no object can have (z ≤ −1, where 1 + z ≤ 0, or infinite):
    /// never written as a label.
    case impossibleRedshift = "impossible-redshift"
    /// No redshift: an empty or `null` cell, NaN, or a missing-value sentinel (`Catalog.missingRedshiftSentinels`).
    /// Skipped unless rows without a redshift are kept unlabelled.
    case missingRedshift = "missing-redshift"
    /// Left out by a selection cut (class, ZWARNING, redshift range).
    case notSelected = "not-selected"
    case duplicateID = "duplicate-object-id"
    case missingCutout = "missing-cutout"
    case unreadableCutout = "unreadable-cutout"
    case missingBand = "missing-band"
    case wrongDimensions = "wrong-dimensions"
    case nonFinitePixels = "non-finite-pixels"
    case wrongUnit = "wrong-unit"
    case cutoutWithoutRow = "cutout-without-catalog-row"
}

/// A spectroscopic catalog: the usable entries and the rows that could not be used.
public struct Catalog: Sendable {
    public var path: String
    public var entries: [CatalogEntry]
    public var skipped: [SkippedObject]
    /// Column names used, e.g. `["object_id": "objID", "ebv": "extinction_u…z (SFD98)"]`.
    public var columnsUsed: [String: String]
    public var extinction: ExtinctionCoefficients
    /// Rows read from the file.
    public var rowCount: Int = 0
    /// The catalog columns kept as they are (`ShardColumn.catalog`), in the order of `CatalogEntry.extras`.
    public var extraColumns: [ShardColumn] = []
    /// Text columns keep at most this many distinct values (class names, flags), as codes.
    public static let maxCategories = 10_000

    /// Redshift values that mean "no redshift" in survey catalogs: SDSS writes −9999 for a
    /// missing value, other catalogs −999 and −99. Any other z ≤ −1 is an impossible redshift.
    public static let missingRedshiftSentinels: Set<Double> = [-9999, -999, -99]

    /// Entries without a redshift.
    public var unlabelledCount: Int { entries.reduce(0) { $0 + ($1.labelled ? 0 : 1) } }

    /// Reads a FITS table or CSV catalog and maps its columns.
    ///
    /// Missing required columns throw an error listing the columns found. A catalog without a
    /// redshift column (and none named) is a prediction set: every row unlabelled. Rows with
    /// non-numeric or non-finite values, or a repeated object id, are skipped with a reason;
    /// rows without a redshift are skipped, or kept unlabelled with `selection.keepUnlabelled`.
    /// RA and Dec honour a FITS TUNIT of degrees or radians; any other unit is refused.
    public static func read(_ path: String, columns: CatalogColumns = CatalogColumns(),
                            extinction: ExtinctionCoefficients = .sfd98, selection: CatalogSelection = CatalogSelection(),
                            ebv ebvSource: EBVSource = .catalog, keep: KeptColumns = .none) throws -> Catalog {
        let table = try CatalogTable.read(path)
        var used: [String: String] = [:]

        /// The first candidate that exists and holds one value per row (an explicitly named
        /// column is used as it is, or refused).
        func find(_ role: CatalogColumnRole, _ explicit: String?) -> String? {
            if let explicit { return table.resolve(explicit) }
            let candidates = CatalogColumns.defaults[role.rawValue]!.compactMap { table.resolve($0) }
            return candidates.first { table.numberProblem($0) == nil } ?? candidates.first
        }
        func column(_ role: CatalogColumnRole, _ explicit: String?) throws -> String {
            guard let name = find(role, explicit) else {
                let candidates = explicit.map { [$0] } ?? CatalogColumns.defaults[role.rawValue]!
                let how = explicit == nil ? "none of \(candidates.joined(separator: ", ")) found" : "column '\(explicit!)' not found"
                throw CatalogColumnError(path: path, role: role, column: nil,
                                         message: "no \(role.rawValue) column (\(role.meaning)): \(how); columns found: \(table.columnNames.joined(separator: ", ")). Name the column that holds it")
            }
            try requireNumbers(table, name, role)
            used[role.rawValue] = name
            return name
        }

        let idName = try column(.objectID, columns.objectID)
        let raName = try column(.ra, columns.ra)
        let decName = try column(.dec, columns.dec)
        // Without a redshift column the catalog is a prediction set; a named one must exist.
        let zName: String? = columns.z != nil || find(.z, nil) != nil ? try column(.z, columns.z) : nil
        let zErrName: String? = try zName.map { _ in try column(.zErr, columns.zErr) }
        if zName == nil { used["z"] = "none: every row unlabelled (a prediction set)" }
        let raScale = try angleScale(table, raName, .ra), decScale = try angleScale(table, decName, .dec)
        if let (largest, limit) = table.inexactIntegers(idName) {
            throw CatalogColumnError(path: path, role: .objectID, column: idName,
                                     message: "object id column '\(idName)' holds floating-point values up to \(largest), beyond \(limit) (2^\(limit.exponent)), the largest integer its type holds exactly: the 64-bit ids were rounded when the catalog was written. Write the ids as 64-bit integers (FITS TFORM 'K', or plain digits in CSV)")
        }
        let cuts = try SelectionColumns(table, selection, used: &used)
        // The E(B−V) columns the catalog's own E(B−V) would come from are stored already too.
        let ebvNames = ebvSource != .catalog ? [] : ((columns.ebv.map { [$0] } ?? CatalogColumns.defaults["ebv"]!)
            + Band.allCases.map { (columns.extinctionPrefix ?? "extinction_") + $0.rawValue }).compactMap(table.resolve)
        let kept = try keptColumns(table, keep, stored: Set([idName, raName, decName] + [zName, zErrName].compactMap { $0 } + ebvNames))

        let ids = table.int64Values(idName)
        let ra = table.doubleValues(raName), dec = table.doubleValues(decName)
        let z = zName.map(table.doubleValues), zErr = zErrName.map(table.doubleValues)
        // Bounds of what a shard stores as float32: a value beyond would become infinite there.
        func storable(_ v: Double?) -> Double? { v.flatMap { $0.isFinite && abs($0) <= Double(Float.greatestFiniteMagnitude) ? $0 : nil } }

        var candidates: [(entry: CatalogEntry, index: Int)] = []
        candidates.reserveCapacity(table.rowCount)
        var skipped: [SkippedObject] = []
        rows: for row in 0..<table.rowCount {
            func skip(_ id: Int64?, _ reason: SkipReason, _ detail: String) { skipped.append(SkippedObject(objectID: id, row: row + 1, file: nil, reason: reason, detail: detail)) }
            guard let id = ids[row] else {
                skip(nil, .badCatalogValue, "\(idName) value '\(table.text(idName, row: row))' is not an integer")
                continue
            }
            for (key, name, values) in [("ra", raName, ra), ("dec", decName, dec)] where storable(values[row]) == nil {
                skip(id, .badCatalogValue, "\(key) column '\(name)' value '\(table.text(name, row: row))' is not a finite number")
                continue rows
            }
            if let reason = cuts.rejection(row) {
                skip(id, .notSelected, reason)
                continue
            }
            var labelled = false, zValue = Float.nan, zErrValue = Float.nan
            if let zName, let z, let zErr {
                let text = table.text(zName, row: row)
                let value = z[row]
                if table.isEmpty(zName, row: row) || value.map({ $0.isNaN || missingRedshiftSentinels.contains($0) }) == true {
                    guard selection.keepUnlabelled else {
                        skip(id, .missingRedshift, "z column '\(zName)' value '\(text)' means no redshift (empty, NaN or a missing-value sentinel \(missingRedshiftSentinels.sorted().map { String(Int($0)) }.joined(separator: "/")))")
                        continue
                    }
                } else {
                    guard let v = value else {
                        skip(id, .badCatalogValue, "z column '\(zName)' value '\(text)' is not a number")
                        continue
                    }
                    // 1 + z ≤ 0 has no meaning (Δz divides by it); such a row is never a label.
                    guard storable(v) != nil, v > -1 else {
                        skip(id, .impossibleRedshift, v.isFinite && abs(v) <= Double(Float.greatestFiniteMagnitude)
                             ? "z column '\(zName)' value \(v) is at or below -1, which no redshift can be"
                             : "z column '\(zName)' value '\(text)' is not a finite number")
                        continue
                    }
                    guard let e = storable(zErr[row]) else {
                        skip(id, .badCatalogValue, "z_err column '\(zErrName!)' value '\(table.text(zErrName!, row: row))' is not a finite number")
                        continue
                    }
                    if let reason = cuts.rejection(z: v) {
                        skip(id, .notSelected, reason)
                        continue
                    }
                    (labelled, zValue, zErrValue) = (true, Float(v), Float(e))
                }
            }
            var entry = CatalogEntry(objectID: id, ra: ra[row]! * raScale, dec: dec[row]! * decScale, zSpec: zValue, zSpecErr: zErrValue,
                                     ebv: 0, row: row + 1, labelled: labelled)
            entry.extras = kept.map { $0.values[row] }
            candidates.append((entry, row))
        }

        // E(B−V) only for the rows kept: a dust-map lookup per row of a million-row specObj
        // file is wasted on rows that no cut lets through.
        let ebvValues = try ebvFor(candidates.map(\.index), table: table, source: ebvSource, columns: columns, extinction: extinction,
                                   positions: candidates.map { ($0.entry.ra, $0.entry.dec) }, used: &used)
        var entries: [CatalogEntry] = []
        entries.reserveCapacity(candidates.count)
        var firstRow: [Int64: Int] = [:]
        for (k, candidate) in candidates.enumerated() {
            var entry = candidate.entry
            guard let ebv = storable(ebvValues.values[k]) else {
                skipped.append(SkippedObject(objectID: entry.objectID, row: entry.row, file: nil, reason: .badCatalogValue,
                                             detail: "E(B-V) from \(ebvValues.source) is not a finite number"))
                continue
            }
            if let first = firstRow[entry.objectID] {
                skipped.append(SkippedObject(objectID: entry.objectID, row: entry.row, file: nil, reason: .duplicateID,
                                             detail: "object id \(entry.objectID) already used at catalog row \(first); the first row is kept"))
                continue
            }
            firstRow[entry.objectID] = entry.row
            entry.ebv = Float(ebv)
            entries.append(entry)
        }
        skipped.sort { ($0.row ?? 0) < ($1.row ?? 0) }
        var catalog = Catalog(path: path, entries: entries, skipped: skipped, columnsUsed: used, extinction: extinction)
        catalog.rowCount = table.rowCount
        catalog.extraColumns = kept.map(\.column)
        if !kept.isEmpty { catalog.columnsUsed["kept"] = kept.map(\.column.catalogName).joined(separator: ", ") }
        return catalog
    }

    /// The catalog columns to keep and their values, typed: integers stay int64, numbers
    /// float64 (an empty cell NaN), text becomes int64 codes into its sorted distinct values
    /// (an empty cell -1). A named column that is missing, a vector, logical, or text of too
    /// many distinct values is refused naming it; `all` passes over those.
    private static func keptColumns(_ table: CatalogTable, _ keep: KeptColumns, stored: Set<String>) throws -> [(column: ShardColumn, values: [CatalogValue])] {
        let names: [String], explicit: Bool
        switch keep {
        case .none: return []
        case .all: (names, explicit) = (table.columnNames.filter { !stored.contains($0) }, false)
        case let .named(list):
            explicit = true
            names = try list.map { name in
                guard let found = table.resolve(name) else {
                    throw CatalogColumnError(path: table.path, role: .kept, column: nil,
                                             message: "column '\(name)' to keep not found; columns found: \(table.columnNames.joined(separator: ", "))")
                }
                return found
            }
        }
        var result: [(column: ShardColumn, values: [CatalogValue])] = []
        for name in names where !result.contains(where: { $0.column.catalogName == name }) {
            func refuse(_ why: String) -> CatalogColumnError {
                CatalogColumnError(path: table.path, role: .kept, column: name, message: "column '\(name)' cannot be kept: \(why)")
            }
            guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
                if explicit { throw refuse("its name cannot name an HDF5 dataset") }
                continue
            }
            if let problem = table.numberProblem(name) {
                if explicit { throw refuse("it holds \(problem)") }
                continue
            }
            let unit = table.units[name] ?? ""
            switch table.keptValues(name) {
            case let .ints(values):
                result.append((.catalog(name, .int64, unit: unit), values.map { .int($0) }))
            case let .reals(values):
                result.append((.catalog(name, .float64, unit: unit), values.map { .real($0) }))
            case let .text(values):
                let categories = Array(Set(values.filter { !$0.isEmpty })).sorted()
                guard categories.count <= maxCategories else {
                    if explicit { throw refuse("it holds \(categories.count) distinct texts; photoz keeps text columns of at most \(maxCategories) distinct values (class names, flags)") }
                    continue
                }
                let code = Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($1, Int64($0)) })
                result.append((.catalog(name, .int64, categories: categories, unit: unit), values.map { .int($0.isEmpty ? -1 : code[$0]!) }))
            }
        }
        // In name order, the order HDF5 lists them in a shard (what every reader then sees).
        return result.sorted { $0.column.name < $1.column.name }
    }

    /// Degrees per stored unit of an RA or Dec column, from its FITS TUNIT (none: degrees).
    private static func angleScale(_ table: CatalogTable, _ name: String, _ role: CatalogColumnRole) throws -> Double {
        guard let unit = table.units[name] else { return 1 }
        switch unit.lowercased() {
        case "deg", "degree", "degrees", "d": return 1
        case "rad", "radian", "radians": return 180 / Double.pi
        default:
            throw CatalogColumnError(path: table.path, role: role, column: name,
                                     message: "\(role.rawValue) column '\(name)' has unit (TUNIT) '\(unit)'; photoz reads angles in deg or rad. Convert the column, or name another one")
        }
    }

    /// Throws when a FITS column holds no single number per row (vector, logical, text), naming it.
    fileprivate static func requireNumbers(_ table: CatalogTable, _ name: String, _ role: CatalogColumnRole) throws {
        guard let problem = table.numberProblem(name) else { return }
        throw CatalogColumnError(path: table.path, role: role, column: name,
                                 message: "\(role.rawValue) column '\(name)' holds \(problem), not one number per row as \(role.meaning) needs; choose a column of one number per row")
    }

    /// E(B−V) of rows `rows` (positions in degrees beside them): from the source asked for, or
    /// from an `ebv` column, or fitted to per-band extinction columns `A_b = R_b · E(B−V)` by
    /// least squares over the bands present.
    private static func ebvFor(_ rows: [Int], table: CatalogTable, source: EBVSource, columns: CatalogColumns, extinction: ExtinctionCoefficients,
                               positions: [(ra: Double, dec: Double)], used: inout [String: String]) throws -> (values: [Double?], source: String) {
        switch source {
        case let .constant(value):
            used["ebv"] = "constant \(value)"
            return (rows.map { _ in value }, "the constant \(value)")
        case let .maps(paths):
            let map = try DustMap(paths: paths)
            used["ebv"] = "dust map: \(map.description)"
            return (try map.values(at: positions).map { $0 }, "the dust map \(map.description)")
        case .catalog:
            let all = try readEBV(table, columns: columns, extinction: extinction, used: &used)
            return (rows.map { all.values[$0] }, all.source)
        }
    }

    private static func readEBV(_ table: CatalogTable, columns: CatalogColumns, extinction: ExtinctionCoefficients,
                                used: inout [String: String]) throws -> (values: [Double?], source: String) {
        if columns.extinctionPrefix == nil {
            let candidates = columns.ebv.map { [$0] } ?? CatalogColumns.defaults["ebv"]!
            if let name = candidates.lazy.compactMap({ table.resolve($0) }).first {
                try requireNumbers(table, name, .ebv)
                used["ebv"] = name
                return (table.doubleValues(name), "column '\(name)'")
            }
            if columns.ebv != nil {
                throw CatalogColumnError(path: table.path, role: .ebv, column: nil,
                                         message: "no ebv column: column '\(columns.ebv!)' not found; columns found: \(table.columnNames.joined(separator: ", "))")
            }
        }
        let prefix = columns.extinctionPrefix ?? "extinction_"
        let names = Band.allCases.compactMap { band in table.resolve(prefix + band.rawValue).map { (band, $0) } }
        guard !names.isEmpty else {
            throw CatalogColumnError(path: table.path, role: columns.extinctionPrefix == nil ? .ebv : .extinctionPrefix, column: nil,
                                     message: "no E(B-V): none of ebv, EBV, e_bv, E_BV nor \(prefix)u…\(prefix)z found; columns found: \(table.columnNames.joined(separator: ", ")). Name the E(B-V) column or the prefix of the per-band extinction columns, give a constant E(B-V) or dust maps")
        }
        for (_, name) in names { try requireNumbers(table, name, .extinctionPrefix) }
        let bandColumns = names.map { ($0.0, table.doubleValues($0.1)) }
        let norm = bandColumns.reduce(0.0) { $0 + extinction.coefficient($1.0) * extinction.coefficient($1.0) }
        let values: [Double?] = (0..<table.rowCount).map { row in
            var sum = 0.0
            for (band, column) in bandColumns {
                guard let a = column[row] else { return nil }
                sum += a * extinction.coefficient(band)
            }
            return sum / norm
        }
        let source = "\(names.map(\.1).joined(separator: ", ")) / \(extinction.name)"
        used["ebv"] = source
        return (values, source)
    }
}

/// The columns the selection cuts read, found once.
private struct SelectionColumns {
    let selection: CatalogSelection
    let classes: (name: String, values: [String])?
    let zWarning: (name: String, values: [Int64?])?

    init(_ table: CatalogTable, _ selection: CatalogSelection, used: inout [String: String]) throws {
        self.selection = selection
        func find(_ key: String, _ role: CatalogColumnRole) throws -> String {
            let candidates = CatalogColumns.defaults[key]!
            guard let name = candidates.lazy.compactMap({ table.resolve($0) }).first else {
                throw CatalogColumnError(path: table.path, role: role, column: nil,
                                         message: "a \(key) cut was asked for but none of \(candidates.joined(separator: ", ")) is a column; columns found: \(table.columnNames.joined(separator: ", "))")
            }
            used[key] = name
            return name
        }
        if selection.classes != nil {
            let name = try find("class", .objectClass)
            classes = (name, table.textValues(name).map { $0.uppercased() })
        } else { classes = nil }
        if selection.zWarning != nil {
            let name = try find("zwarning", .zWarning)
            try Catalog.requireNumbers(table, name, .zWarning)
            zWarning = (name, table.int64Values(name))
        } else { zWarning = nil }
    }

    /// Why row `row` fails the class or ZWARNING cut, or nil.
    func rejection(_ row: Int) -> String? {
        if let classes, let wanted = selection.classes, !wanted.contains(where: { $0.uppercased() == classes.values[row] }) {
            return "\(classes.name) is '\(classes.values[row])', not one of \(wanted.joined(separator: ", "))"
        }
        if let zWarning, let wanted = selection.zWarning {
            guard let value = zWarning.values[row], wanted.contains(value) else {
                return "\(zWarning.name) is \(zWarning.values[row].map(String.init) ?? "not an integer"), not one of \(wanted.map(String.init).joined(separator: ", "))"
            }
        }
        return nil
    }

    /// Why a labelled row's redshift fails the range cut, or nil.
    func rejection(z: Double) -> String? {
        if let low = selection.zMin, z < low { return "z \(z) is below the range's lower end \(low)" }
        if let high = selection.zMax, z > high { return "z \(z) is above the range's upper end \(high)" }
        return nil
    }
}
