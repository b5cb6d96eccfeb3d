import HDF5

/// Checks one shard against `schemas/shard-v1.md`.
struct ShardChecker {
    let path: String
    let root: HDF5Group

    func check(_ report: inout ValidationReport, seenIDs: inout Set<Int64>, expectedSplit: Split?) {
        var problems: [String] = []
        func problem(_ text: String) { problems.append("\(path): \(text)") }
        defer { report.problems += problems }
        typealias A = ShardSchema.Attribute

        // Attributes.
        if case let .int64(version)? = try? root.attribute(A.schemaVersion) {
            if version != ShardSchema.version { problem("schema_version \(version); this photoz reads version \(ShardSchema.version)"); return }
        } else { problem("root attribute schema_version missing or not an integer") }
        if (try? root.attribute(A.bands)) != .strings(Band.allCases.map(\.rawValue)) { problem("root attribute bands is not [u, g, r, i, z]") }
        if (try? root.attribute(A.fluxUnit)) != .string(Survey.fluxUnit) { problem("root attribute flux_unit is not '\(Survey.fluxUnit)'") }
        for name in [A.pixelScale] where !(isDouble(try? root.attribute(name))) { problem("root attribute \(name) missing or not a number") }
        for name in [A.extinctionCoefficients, A.toolVersion, A.created, A.inputs, A.split] {
            if case .string? = try? root.attribute(name) {} else { problem("root attribute \(name) missing or not a string") }
        }
        if let expectedSplit, (try? root.attribute(A.split)) != .string(expectedSplit.rawValue) {
            problem("split attribute differs from manifest.json's '\(expectedSplit.rawValue)'")
        }

        // Datasets: presence, dtype, shape, alignment.
        var rows: Int?
        for (name, kind, _) in ShardSchema.datasets {
            guard root.contains(name), let dataset = try? root.dataset(name) else { problem("dataset /\(name) missing"); continue }
            let type = try? dataset.elementType
            let expected: HDF5ElementType = switch kind { case .float32: .float32; case .float64: .float64; case .int64: .int64 }
            if type != expected { problem("/\(name) is \(type.map { "\($0)" } ?? "unreadable"), expected \(expected)") }
            guard let shape = try? dataset.shape else { problem("/\(name): cannot read its shape"); continue }
            if name == ShardSchema.images {
                if shape.count != 4 || shape[1] != 5 || shape[2] != shape[3] { problem("/images has shape \(shape), expected (N, 5, S, S)") }
                if case let .int64(size)? = try? root.attribute(A.imageSize), shape.count == 4, Int(size) != shape[2] {
                    problem("/images is \(shape[2])×\(shape[3]) but image_size says \(size)")
                }
            } else if shape.count != 1 { problem("/\(name) has shape \(shape), expected (N)") }
            if let n = rows, let first = shape.first, first != n {
                problem("/\(name) has \(first) rows but /images has \(n): datasets are not row-aligned")
            } else if rows == nil { rows = shape.first }
        }
        guard problems.isEmpty, let n = rows else { return }
        report.rows += n
        if case let .int64(written)? = try? root.attribute(A.rows), Int(written) != n {
            problem("root attribute rows = \(written) but the datasets hold \(n) rows")
        } else if (try? root.attribute(A.rows)) == nil {
            problem("root attribute rows missing: the shard was not closed by its writer")
        }

        // Values: finite everywhere, ids unique.
        do {
            let images = try root.dataset(ShardSchema.images)
            let perImage = 5 * (try images.shape[2]) * (try images.shape[3])
            let block = 256
            var buffer = [Float](repeating: 0, count: block * perImage)
            for start in stride(from: 0, to: n, by: block) {
                let count = min(block, n - start)
                try buffer.withUnsafeMutableBufferPointer { try images.readRows(start..<start + count, into: UnsafeMutableBufferPointer(rebasing: $0[0..<count * perImage])) }
                if let bad = (0..<count * perImage).first(where: { !buffer[$0].isFinite }) {
                    problem("/images row \(start + bad / perImage) holds a non-finite value (\(buffer[bad]))")
                    break
                }
            }
            for name in [ShardSchema.zSpec, ShardSchema.zSpecErr, ShardSchema.ebv] {
                let values = try root.dataset(name).read(as: Float.self)
                if let bad = values.firstIndex(where: { !$0.isFinite }) { problem("/\(name) row \(bad) is \(values[bad])") }
            }
            for name in [ShardSchema.ra, ShardSchema.dec] {
                let values = try root.dataset(name).read(as: Double.self)
                if let bad = values.firstIndex(where: { !$0.isFinite }) { problem("/\(name) row \(bad) is \(values[bad])") }
            }
            let ids = try root.dataset(ShardSchema.objectID).read(as: Int64.self)
            for (row, id) in ids.enumerated() where !seenIDs.insert(id).inserted {
                problem("/object_id row \(row): id \(id) appears more than once in the data set")
                break
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
