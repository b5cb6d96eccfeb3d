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
        "object_id": ["objID", "objid", "object_id", "ObjID", "id"],
        "ra": ["ra", "RA"],
        "dec": ["dec", "DEC", "Dec"],
        "z": ["z", "Z", "z_spec", "specz", "redshift"],
        "z_err": ["zErr", "zerr", "z_err", "z_spec_err"],
        "ebv": ["ebv", "EBV", "e_bv", "E_BV"],
        "extinction_prefix": ["extinction_"],
    ]
}

/// One catalog row with the values a shard stores.
public struct CatalogEntry: Sendable, Equatable {
    public var objectID: Int64
    public var ra: Double
    public var dec: Double
    public var zSpec: Float
    public var zSpecErr: Float
    public var ebv: Float
    /// 1-based row number of the object in the catalog file (header not counted).
    public var row: Int

    public init(objectID: Int64, ra: Double, dec: Double, zSpec: Float, zSpecErr: Float, ebv: Float, row: Int) {
        self.objectID = objectID
        self.ra = ra
        self.dec = dec
        self.zSpec = zSpec
        self.zSpecErr = zSpecErr
        self.ebv = ebv
        self.row = row
    }
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
    /// A spectroscopic redshift no object can have (z ≤ −1, where 1 + z ≤ 0, or not finite):
    /// never written as a label.
    case impossibleRedshift = "impossible-redshift"
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

    /// Reads a FITS table or CSV catalog and maps its columns.
    ///
    /// Missing required columns throw an error listing the columns found. Rows with
    /// non-numeric or non-finite values, or a repeated object id, are skipped with a reason.
    public static func read(_ path: String, columns: CatalogColumns = CatalogColumns(),
                            extinction: ExtinctionCoefficients = .sfd98) throws -> Catalog {
        let table = try CatalogTable.read(path)
        var used: [String: String] = [:]

        func column(_ role: CatalogColumnRole, _ explicit: String?) throws -> String {
            let candidates = explicit.map { [$0] } ?? CatalogColumns.defaults[role.rawValue]!
            guard let name = candidates.lazy.compactMap({ table.resolve($0) }).first else {
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
        let zName = try column(.z, columns.z)
        let zErrName = try column(.zErr, columns.zErr)
        let ebvValues = try readEBV(table, columns: columns, extinction: extinction, used: &used)
        if let (largest, limit) = table.inexactIntegers(idName) {
            throw CatalogColumnError(path: path, role: .objectID, column: idName,
                                     message: "object id column '\(idName)' holds floating-point values up to \(largest), beyond \(limit) (2^\(limit.exponent)), the largest integer its type holds exactly: the 64-bit ids were rounded when the catalog was written. Write the ids as 64-bit integers (FITS TFORM 'K', or plain digits in CSV)")
        }

        let ids = table.int64Values(idName)
        let numeric = [("ra", raName), ("dec", decName), ("z", zName), ("z_err", zErrName)].map { ($0.0, $0.1, table.doubleValues($0.1)) }
        var entries: [CatalogEntry] = []
        entries.reserveCapacity(table.rowCount)
        var skipped: [SkippedObject] = []
        var firstRow: [Int64: Int] = [:]
        rows: for row in 0..<table.rowCount {
            guard let id = ids[row] else {
                skipped.append(SkippedObject(objectID: nil, row: row + 1, file: nil, reason: .badCatalogValue,
                                             detail: "\(idName) value '\(table.text(idName, row: row))' is not an integer"))
                continue
            }
            var values: [Double] = []
            for (key, name, column) in numeric {
                // Shards store these as float32: a value beyond its range would become infinite there.
                guard let v = column[row], v.isFinite, abs(v) <= Double(Float.greatestFiniteMagnitude) else {
                    let reason: SkipReason = key == "z" && column[row] != nil ? .impossibleRedshift : .badCatalogValue
                    skipped.append(SkippedObject(objectID: id, row: row + 1, file: nil, reason: reason,
                                                 detail: "\(key) column '\(name)' value '\(table.text(name, row: row))' is not a finite number"))
                    continue rows
                }
                values.append(v)
            }
            // 1 + z ≤ 0 has no meaning (Δz divides by it); such a row is never a label.
            guard values[2] > -1 else {
                skipped.append(SkippedObject(objectID: id, row: row + 1, file: nil, reason: .impossibleRedshift,
                                             detail: "z column '\(zName)' value \(values[2]) is at or below -1, which no redshift can be"))
                continue
            }
            guard let ebv = ebvValues.values[row], ebv.isFinite, abs(ebv) <= Double(Float.greatestFiniteMagnitude) else {
                skipped.append(SkippedObject(objectID: id, row: row + 1, file: nil, reason: .badCatalogValue,
                                             detail: "E(B-V) from \(ebvValues.source) is not a finite number"))
                continue
            }
            if let first = firstRow[id] {
                skipped.append(SkippedObject(objectID: id, row: row + 1, file: nil, reason: .duplicateID,
                                             detail: "object id \(id) already used at catalog row \(first); the first row is kept"))
                continue
            }
            firstRow[id] = row + 1
            entries.append(CatalogEntry(objectID: id, ra: values[0], dec: values[1], zSpec: Float(values[2]),
                                        zSpecErr: Float(values[3]), ebv: Float(ebv), row: row + 1))
        }
        return Catalog(path: path, entries: entries, skipped: skipped, columnsUsed: used, extinction: extinction)
    }

    /// Throws when a FITS column holds no single number per row (vector, logical, text), naming it.
    private static func requireNumbers(_ table: CatalogTable, _ name: String, _ role: CatalogColumnRole) throws {
        guard let problem = table.numberProblem(name) else { return }
        throw CatalogColumnError(path: table.path, role: role, column: name,
                                 message: "\(role.rawValue) column '\(name)' holds \(problem), not one number per row as \(role.meaning) needs; choose a column of one number per row")
    }

    /// E(B−V) from an `ebv` column, or fitted to per-band extinction columns `A_b = R_b · E(B−V)`
    /// by least squares over the bands present.
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
                                     message: "no E(B-V): none of ebv, EBV, e_bv, E_BV nor \(prefix)u…\(prefix)z found; columns found: \(table.columnNames.joined(separator: ", ")). Name the E(B-V) column or the prefix of the per-band extinction columns")
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
