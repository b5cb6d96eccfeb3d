import Foundation
import Testing
@testable import PhotoZData

/// `ingest --append`: existing rows keep their values and splits bit for bit, new rows are
/// split by ingest's hash, and every refusal leaves the previous version untouched.
@Suite struct IngestAppendTests {
    typealias Contents = [Int64: (split: Split, row: ShardRows)]

    /// A data set of ids 1000…1022 at `dir/data`, and cutouts + catalog of `newIDs` in `dir/more`.
    static func fixture(_ dir: TemporaryDirectory, newIDs: [Int64]) throws -> (out: String, catalog: String, cutouts: String) {
        let (catalog, cutouts, _) = try CutoutFactory.dataSet(in: dir, count: 23, layout: .mef)
        let out = dir.file("data")
        _ = try ingest(testConfig(catalog, cutouts, out))
        let more = dir.file("more")
        try FileManager.default.createDirectory(atPath: more, withIntermediateDirectories: true)
        for id in newIDs { try CutoutFactory.write(id: id, layout: .mef, size: 16, into: more) }
        try CutoutFactory.csvCatalog(newIDs, at: dir.file("more.csv"))
        return (out, dir.file("more.csv"), more)
    }

    /// Every file of a folder (hidden ones too) with its bytes: what "intact" means.
    static func snapshot(_ path: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
            files[name] = FileManager.default.contents(atPath: (path as NSString).appendingPathComponent(name))
        }
        return files
    }

    /// No staging or aside folders left beside `path`.
    static func leftovers(beside path: String) throws -> [String] {
        let parent = (path as NSString).deletingLastPathComponent, name = (path as NSString).lastPathComponent
        return try FileManager.default.contentsOfDirectory(atPath: parent).filter { $0 != name && $0.contains(name) && $0.hasPrefix(".") }
    }

    /// New stamps usually land in the folder of the old ones: the cutouts of objects the data
    /// set already holds are neither appended again nor reported as cutouts without a row.
    @Test func cutoutsOfObjectsAlreadyHeldAreNotReported() throws {
        let dir = TemporaryDirectory()
        let (catalog, cutouts, _) = try CutoutFactory.dataSet(in: dir, count: 10, layout: .mef)
        let out = dir.file("data")
        _ = try ingest(testConfig(catalog, cutouts, out))
        let newIDs = (0..<5).map { Int64(7000 + $0) }
        for id in newIDs { try CutoutFactory.write(id: id, layout: .mef, size: 16, into: cutouts) }
        try CutoutFactory.csvCatalog(newIDs, at: dir.file("new.csv"))
        var config = testConfig(dir.file("new.csv"), cutouts, out)
        config.append = true
        let summary = try ingest(config)
        #expect(summary.appendedTo == 10 && summary.ingested == 5)
        #expect(summary.skipped.isEmpty, "\(summary.skipped)")
    }

    @Test func existingRowsKeepTheirSplitsAndBitsAndNewRowsAreHashSplit() throws {
        let dir = TemporaryDirectory()
        let newIDs = (0..<17).map { Int64(5000 + $0) }
        let (out, catalog, cutouts) = try Self.fixture(dir, newIDs: newIDs)
        let before: Contents = try ManagementTests.contents(out)
        let oldChecksum = try DataSetReader(path: out).checksum
        #expect(before.count == 23)

        var config = testConfig(catalog, cutouts, out)
        config.append = true
        let summary = try ingest(config)
        #expect(summary.appendedTo == 23 && summary.ingested == 17)
        #expect(summary.rows.values.reduce(0, +) == 40)

        let after: Contents = try ManagementTests.contents(out)
        #expect(after.count == 40)
        for (id, old) in before {
            let new = try #require(after[id], "row \(id) lost")
            #expect(new.split == old.split, "row \(id) moved from \(old.split) to \(new.split)")
            #expect(rowsIdentical(new.row, old.row), "row \(id) changed")
        }
        for id in newIDs {
            let new = try #require(after[id], "new row \(id) missing")
            #expect(new.split == config.split.split(of: id))
            #expect(Array(new.row.images) == testImage(id: id, size: 16))
        }
        let report = validate(path: out)
        #expect(report.isValid, "\(report.problems)")

        // Provenance: the previous version by its manifest checksum, the new inputs; both skip reports kept.
        let manifest = try Manifest.read(directory: out)
        #expect(manifest.inputs["operation"] == "append")
        #expect(manifest.inputs["previous_manifest_sha256"] == oldChecksum)
        #expect(manifest.inputs["catalog"] == catalog && manifest.inputs["cutouts"] == cutouts)
        #expect(manifest.skippedReport == "skipped-append-1.csv")
        #expect(FileManager.default.fileExists(atPath: dir.file("data/skipped.csv")))
        #expect(FileManager.default.fileExists(atPath: dir.file("data/skipped-append-1.csv")))
        #expect(try Self.leftovers(beside: out).isEmpty)
    }

    @Test func anIDAlreadyInTheDataSetRefusesTheAppendAndChangesNothing() throws {
        let dir = TemporaryDirectory()
        let (out, catalog, cutouts) = try Self.fixture(dir, newIDs: [5000, 1005, 5001, 1017])
        let before = try Self.snapshot(out)
        var config = testConfig(catalog, cutouts, out)
        config.append = true
        #expect {
            try ingest(config)
        } throws: { error in
            let text = "\(error)"
            return text.contains("2 object id(s) are already in") && text.contains("1005, 1017") && text.contains("more.csv")
        }
        #expect(try Self.snapshot(out) == before)
    }

    @Test func aMismatchedSizeSplitOrFolderIsRefusedNamingTheOption() throws {
        let dir = TemporaryDirectory()
        let (out, catalog, cutouts) = try Self.fixture(dir, newIDs: [5000, 5001])
        let before = try Self.snapshot(out)
        var config = testConfig(catalog, cutouts, out, size: 12)
        config.append = true
        #expect { try ingest(config) } throws: { "\($0)".contains("--size 12") && "\($0)".contains("16×16") }

        config = testConfig(catalog, cutouts, out)
        config.append = true
        config.split = SplitFractions(train: 0.5, valid: 0.25, test: 0.25)
        #expect { try ingest(config) } throws: { "\($0)".contains("--split") }

        config.split = .default
        config.extinction = ExtinctionCoefficients.named("SF11")!
        #expect { try ingest(config) } throws: { "\($0)".contains("--extinction-coefficients") }
        #expect(try Self.snapshot(out) == before)

        // Not a data set: a folder of other files is refused and left alone.
        let other = dir.file("notes")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try "x".write(toFile: dir.file("notes/readme.txt"), atomically: true, encoding: .utf8)
        config = testConfig(catalog, cutouts, other)
        config.append = true
        #expect { try ingest(config) } throws: { "\($0)".contains("not a photoz data set") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: other) == ["readme.txt"])

        config = testConfig(catalog, cutouts, out)
        config.append = true
        config.overwrite = true
        #expect { try ingest(config) } throws: { "\($0)".contains("--append") && "\($0)".contains("--overwrite") }
    }

    /// The existing rows are already copied into the staged version when the run fails (here:
    /// no new cutout can be read): the previous version stays, byte for byte, and nothing is left.
    @Test func aFailureMidwayLeavesThePreviousVersionIntact() throws {
        let dir = TemporaryDirectory()
        let (out, catalog, _) = try Self.fixture(dir, newIDs: [5000, 5001, 5002])
        let empty = dir.file("wrong-cutouts")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        try CutoutFactory.write(id: 7777, layout: .mef, size: 16, into: empty)  // matches no catalog row
        let before = try Self.snapshot(out)
        var config = testConfig(catalog, empty, out)
        config.append = true
        #expect { try ingest(config) } throws: { "\($0)".contains("no object could be ingested") }
        #expect(try Self.snapshot(out) == before)
        #expect(try Self.leftovers(beside: out).isEmpty)
        #expect(validate(path: out).isValid)
    }
}

/// Kept catalog columns: carried through an append when old and new rows agree on them,
/// refused when a text column's values (its codes' meaning) differ.
@Suite struct IngestAppendKeptColumnsTests {
    private func catalog(_ path: String, ids: ClosedRange<Int>, classes: [String]) throws {
        var text = "objID,ra,dec,z,zErr,ebv,petroMag_r,class\n"
        for (k, id) in ids.enumerated() { text += "\(id),150.\(id),2.\(id),0.\(id % 9 + 1),0.0001,0.02,\(16 + Double(id) * 0.25),\(classes[k % classes.count])\n" }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func keptColumnsAreCarriedAndMismatchedTextValuesRefused() throws {
        let dir = TemporaryDirectory()
        let cutouts = dir.file("cutouts")
        try FileManager.default.createDirectory(atPath: cutouts, withIntermediateDirectories: true)
        for id in 1...16 { try CutoutFactory.write(id: Int64(id), layout: .mef, size: 16, into: cutouts) }
        try catalog(dir.file("a.csv"), ids: 1...8, classes: ["GALAXY", "QSO"])
        var config = testConfig(dir.file("a.csv"), cutouts, dir.file("data"))
        config.keepColumns = .named(["petroMag_r", "class"])
        _ = try ingest(config)
        let before = try IngestAppendTests.snapshot(dir.file("data"))

        // "STAR" is a value the data set's class codes do not have: refused, nothing changed.
        try catalog(dir.file("b.csv"), ids: 9...12, classes: ["STAR", "GALAXY"])
        config.catalog = dir.file("b.csv")
        config.append = true
        #expect { try ingest(config) } throws: { "\($0)".contains("--keep-columns") && "\($0)".contains("class") }
        config.keepColumns = .named(["petroMag_r"])
        #expect { try ingest(config) } throws: { "\($0)".contains("--keep-columns") }
        #expect(try IngestAppendTests.snapshot(dir.file("data")) == before)

        // The same values: carried, old rows bit for bit, new ones with their magnitudes.
        let old = try ManagementTests.contents(dir.file("data"))
        try catalog(dir.file("c.csv"), ids: 9...16, classes: ["GALAXY", "QSO"])
        config.catalog = dir.file("c.csv")
        config.keepColumns = .named(["petroMag_r", "class"])
        _ = try ingest(config)
        let new = try ManagementTests.contents(dir.file("data"))
        #expect(new.count == 16)
        for (id, row) in old { #expect(new[id].map { rowsIdentical($0.row, row.row) && $0.split == row.split } == true, "row \(id)") }
        let reader = try DataSetReader(path: dir.file("data"))
        #expect(reader.catalogColumns.map(\.catalogName) == ["class", "petroMag_r"])
        let magnitude = try #require(reader.catalogColumns.first { $0.catalogName == "petroMag_r" })
        var magnitudes: [Int64: Double] = [:]
        let batches = try reader.batches(split: nil, order: .perShard, batchSize: 64, columns: reader.carriedColumns, purpose: "a test")
        while let batch = try batches.next() {
            for k in 0..<batch.count { magnitudes[batch.rows.objectID[k]] = batch.rows.scalar(magnitude, row: k) }
        }
        for id in 1...16 { #expect(magnitudes[Int64(id)] == 16 + Double(id) * 0.25, "petroMag_r of \(id)") }
        #expect(validate(path: dir.file("data")).isValid)
    }
}
