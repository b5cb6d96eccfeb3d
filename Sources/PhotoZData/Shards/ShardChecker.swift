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

        // Values, in blocks of bounded size: finite everywhere, ids unique.
        do {
            for c in shard.columns {
                let block = max(1, (4 << 20) / c.rowBytes(imageSize: shard.imageSize))
                let per = c.shape.elements(imageSize: shard.imageSize)
                var start = 0
                scan: while start < shard.rows {
                    let count = min(block, shard.rows - start)
                    let rows = try shard.read(rows: start..<start + count, columns: [c])
                    switch c.kind {
                    case .float32:
                        if let bad = rows[float32: c.name].firstIndex(where: { !$0.isFinite }) {
                            problem(c.shape == .scalar ? "\(c) row \(start + bad) is \(rows[float32: c.name][bad])"
                                                       : "\(c) row \(start + bad / per) holds a non-finite value (\(rows[float32: c.name][bad]))")
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
