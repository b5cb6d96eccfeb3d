import HDF5

/// Checks one shard against `schemas/shard-v1.md`.
struct ShardChecker {
    let path: String
    let root: HDF5Group

    func check(_ report: inout ValidationReport, seenIDs: inout Set<Int64>, expectedSplit: Split?, imageSize: Int? = nil, expectedBands: [String]? = nil) {
        var problems: [String] = []
        func problem(_ text: String) { problems.append("\(path): \(text)") }
        defer { report.problems += problems }
        typealias A = ShardSchema.Attribute

        // Attributes.
        if case let .int64(version)? = try? root.attribute(A.schemaVersion) {
            if version != ShardSchema.version { problem("schema_version \(version); this photoz reads version \(ShardSchema.version)"); return }
        } else { problem("root attribute schema_version missing or not an integer") }
        if let bands = try? root.attribute(A.bands)?.stringsValue, ShardSchema.knownBandSets.contains(bands) {
            if let expectedBands, bands != expectedBands { problem("root attribute bands \(bands.joined()) differs from manifest.json's \(expectedBands.joined())") }
        } else { problem("root attribute bands is not one of \(ShardSchema.knownBandSets.map { $0.joined() }.joined(separator: ", "))") }
        if (try? root.attribute(A.fluxUnit)) != .string(Survey.fluxUnit) { problem("root attribute flux_unit is not '\(Survey.fluxUnit)'") }
        for name in [A.pixelScale] where !(isDouble(try? root.attribute(name))) { problem("root attribute \(name) missing or not a number") }
        for name in [A.extinctionCoefficients, A.toolVersion, A.created, A.inputs, A.split] {
            if case .string? = try? root.attribute(name) {} else { problem("root attribute \(name) missing or not a string") }
        }
        if let expectedSplit, (try? root.attribute(A.split)) != .string(expectedSplit.rawValue) {
            problem("split attribute differs from manifest.json's '\(expectedSplit.rawValue)'")
        }

        // Datasets: presence, dtype, shape, alignment and declared sizes against the file's
        // size, as every reader checks them (see ShardLayout).
        let shard: Shard
        do { shard = try Shard(path: path) } catch let error as PhotoZDataError {
            if case let .schema(_, message) = error { problem(message) } else { problem("\(error)") }
            return
        } catch {
            problem("\(error)")
            return
        }
        if (try? root.attribute(A.rows)) == nil { problem("root attribute rows missing: the shard was not closed by its writer") }
        report.rows += shard.rows
        if let imageSize, imageSize != shard.imageSize {
            problem("/images are \(shard.imageSize)×\(shard.imageSize) but manifest.json's image_size is \(imageSize)")
        }

        // Labels: with a `labelled` column, its rows are 0 or 1 and exactly the unlabelled rows
        // have a NaN z_spec and z_spec_err; without one every z_spec must be finite (a label).
        var unlabelled: [Bool]? = nil
        let labelColumn = ShardSchema.column(ShardSchema.labelled)!
        if shard.columns.contains(labelColumn) {
            do {
                let flags = try shard.scalarColumn(ShardSchema.labelled)[int64: ShardSchema.labelled]
                if let bad = flags.firstIndex(where: { $0 != 0 && $0 != 1 }) {
                    problem("/labelled row \(bad) is \(flags[bad]); expected 1 (labelled) or 0 (no redshift)")
                }
                let z = try shard.floatColumn(ShardSchema.zSpec), zErr = try shard.floatColumn(ShardSchema.zSpecErr)
                for k in flags.indices where flags[k] == 0 && !(z[k].isNaN && zErr[k].isNaN) {
                    problem("row \(k) is unlabelled (/labelled = 0) but /z_spec is \(z[k]) and /z_spec_err \(zErr[k]); an unlabelled row holds NaN in both")
                    break
                }
                unlabelled = flags.map { $0 == 0 }
                report.unlabelledRows += flags.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
            } catch {
                problem("cannot read /labelled: \(error)")
            }
        }

        // Values, in blocks of bounded size: finite everywhere (but z_spec and z_spec_err of
        // unlabelled rows), ids unique.
        do {
            // Catalog columns kept as they are may hold NaN (a missing magnitude); codes must
            // point into their categories.
            for c in shard.columns where c.isCatalogColumn {
                guard let categories = c.categories else { continue }
                let codes = try shard.scalarColumn(c)[int64: c.name]
                if let bad = codes.firstIndex(where: { $0 < -1 || $0 >= categories.count }) {
                    problem("\(c) row \(bad) is code \(codes[bad]) but the column has \(categories.count) categories")
                }
            }
            for c in shard.columns where !c.isCatalogColumn {
                let block = max(1, (4 << 20) / c.rowBytes(imageSize: shard.imageSize))
                let per = c.shape.elements(imageSize: shard.imageSize)
                var start = 0
                scan: while start < shard.rows {
                    let count = min(block, shard.rows - start)
                    let rows = try shard.read(rows: start..<start + count, columns: [c])
                    switch c.kind {
                    case .float32:
                        let exempt = (c.name == ShardSchema.zSpec || c.name == ShardSchema.zSpecErr) ? unlabelled : nil
                        let values = rows[float32: c.name]
                        let found = exempt.map { skip in values.indices.first { !values[$0].isFinite && !skip[start + $0] } } ?? values.firstIndex { !$0.isFinite }
                        if let bad = found {
                            let hint = c.name == ShardSchema.zSpec ? " (a labelled row: its z_spec is a label and must be finite)" : ""
                            problem(c.shape == .scalar ? "\(c) row \(start + bad) is \(rows[float32: c.name][bad])\(hint)"
                                                       : "\(c) row \(start + bad / per) holds a non-finite value (\(rows[float32: c.name][bad]))")
                            break scan
                        }
                    case .float64 where c.name == ShardSchema.wcs:
                        // A row is all NaN (no WCS) or all finite.
                        let v = rows[float64: c.name]
                        for r in 0..<count where !(v[r * per..<(r + 1) * per].allSatisfy(\.isFinite) || v[r * per..<(r + 1) * per].allSatisfy(\.isNaN)) {
                            problem("\(c) row \(start + r) mixes finite and non-finite values; a row is a whole WCS or all NaN (none)")
                            break scan
                        }
                    case .float64:
                        if let bad = rows[float64: c.name].firstIndex(where: { !$0.isFinite }) {
                            problem("\(c) row \(start + bad / per) is \(rows[float64: c.name][bad])")
                            break scan
                        }
                    case .int64:
                        guard c.name == ShardSchema.objectID else { break }
                        for (k, id) in rows.objectID.enumerated() where !seenIDs.insert(id).inserted {
                            problem("\(c) row \(start + k): id \(id) appears more than once in the data set")
                            break scan
                        }
                    }
                    start += count
                }
            }
        } catch {
            problem("cannot read values: \(error)")
        }
    }

    private func isDouble(_ value: HDF5AttributeValue??) -> Bool {
        if case .double?? = value { return true }
        return false
    }
}
