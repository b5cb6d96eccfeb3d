import Foundation
import HDF5
import Testing
@testable import PhotoZData

/// Rows without a spectroscopic redshift: never labels, skipped or kept unlabelled, and the
/// `labelled` column through ingest, validate, inspect, select and older shards.
@Suite struct UnlabelledTests {
    /// A catalog of ids 1…6 where 2 has z = −9999 (SDSS's missing value), 3 an empty z, 4 NaN,
    /// 5 −99 and 6 −3 (impossible, not a sentinel).
    private func catalog(_ dir: TemporaryDirectory) throws -> String {
        let path = dir.file("c.csv")
        try CutoutFactory.csvCatalog([1], at: path, extraRows: [
            "2,150.0,2.0,-9999,-9999,0.03", "3,150.0,2.0,,,0.03", "4,150.0,2.0,nan,0.001,0.03",
            "5,150.0,2.0,-99,0.001,0.03", "6,150.0,2.0,-3,0.001,0.03", "7,150.0,2.0,null,null,0.03",
        ])
        return path
    }

    @Test func missingRedshiftsAreSkippedByDefaultAndNeverLabels() throws {
        let dir = TemporaryDirectory()
        let read = try Catalog.read(try catalog(dir))
        #expect(read.entries.map(\.objectID) == [1])
        #expect(read.entries.allSatisfy { $0.labelled && $0.zSpec > -1 })
        #expect(read.skipped.map(\.objectID) == [2, 3, 4, 5, 6, 7])
        #expect(read.skipped.map(\.reason) == [.missingRedshift, .missingRedshift, .missingRedshift, .missingRedshift, .impossibleRedshift, .missingRedshift])
        #expect(read.skipped[0].detail.contains("-9999"))
    }

    @Test func missingRedshiftsAreKeptUnlabelledOnRequest() throws {
        let dir = TemporaryDirectory()
        var selection = CatalogSelection()
        selection.keepUnlabelled = true
        let read = try Catalog.read(try catalog(dir), selection: selection)
        #expect(read.entries.map(\.objectID) == [1, 2, 3, 4, 5, 7])
        #expect(read.entries.map(\.labelled) == [true, false, false, false, false, false])
        #expect(read.entries.dropFirst().allSatisfy { $0.zSpec.isNaN && $0.zSpecErr.isNaN })
        #expect(!read.entries.contains { $0.zSpec == -9999 })
        #expect(read.skipped.map(\.reason) == [.impossibleRedshift])  // −3 is no sentinel: never kept
    }

    @Test func aCatalogWithoutRedshiftsIsAPredictionSet() throws {
        let dir = TemporaryDirectory()
        try "objID,ra,dec,ebv\n7,150,2,0.02\n8,151,3,0.03\n".write(toFile: dir.file("c.csv"), atomically: true, encoding: .utf8)
        let read = try Catalog.read(dir.file("c.csv"))
        #expect(read.entries.map(\.objectID) == [7, 8])
        #expect(read.entries.allSatisfy { !$0.labelled && $0.zSpec.isNaN })
        #expect(read.columnsUsed["z"]?.contains("prediction set") == true)
    }

    /// Ingest writes `labelled`; validate, inspect, the reader and select know unlabelled rows.
    @Test func unlabelledRowsGoThroughIngestValidateInspectAndSelect() throws {
        let dir = TemporaryDirectory()
        let cutouts = dir.file("cutouts")
        try FileManager.default.createDirectory(atPath: cutouts, withIntermediateDirectories: true)
        let ids: [Int64] = Array(1...12)
        for id in ids { try CutoutFactory.write(id: id, layout: .mef, size: 16, into: cutouts) }
        // Odd ids have no redshift (−9999).
        try CutoutFactory.csvCatalog(ids.filter { $0 % 2 == 0 }, at: dir.file("c.csv"),
                                     extraRows: ids.filter { $0 % 2 == 1 }.map { "\($0),150.0,2.0,-9999,-9999,0.03" })
        let out = dir.file("shards")
        var config = testConfig(dir.file("c.csv"), cutouts, out)
        config.selection.keepUnlabelled = true
        let summary = try ingest(config)
        #expect(summary.ingested == 12 && summary.unlabelled == 6)

        let report = validate(path: out)
        #expect(report.isValid, "\(report.problems)")
        #expect(report.unlabelledRows == 6)
        let inspection = try inspectShards(path: out, maxPixelRows: 10)
        #expect(inspection.labelledRows == 6 && inspection.unlabelledRows == 6)
        #expect(inspection.optionalColumns == [ShardSchema.labelled, ShardSchema.wcs] && inspection.schemaMinorVersion == 1)
        #expect(inspection.zSpec.count == 6)

        let reader = try DataSetReader(path: out)
        #expect(try reader.unlabelledRows(in: nil) == 6)
        let labelled = ShardSchema.column(ShardSchema.labelled)!
        let batches = try reader.batches(split: nil, order: .sequential(padded: false), batchSize: 64,
                                         columns: [ShardSchema.column(ShardSchema.objectID)!, ShardSchema.column(ShardSchema.zSpec)!, labelled], purpose: "test")
        let rows = try #require(try batches.next()).rows
        for k in 0..<rows.count {
            let isLabelled = rows.objectID[k] % 2 == 0
            #expect(rows[int64: ShardSchema.labelled][k] == (isLabelled ? 1 : 0))
            #expect(rows.zSpec[k].isFinite == isLabelled)
        }

        // select keeps the column, and `labelled == 1` picks the rows train can use.
        let picked = dir.file("labelled")
        var select = SelectConfiguration(data: out, out: picked)
        select.condition = "labelled == 1"
        let selected = try selectRows(select)
        #expect(selected.written == 6)
        #expect(try DataSetReader(path: picked).unlabelledRows(in: nil) == 0)
        #expect(try inspectShards(path: picked, maxPixelRows: 1).optionalColumns == [ShardSchema.labelled, ShardSchema.wcs])
        let all = dir.file("all")
        _ = try selectRows(SelectConfiguration(data: out, out: all))
        #expect(try DataSetReader(path: all).unlabelledRows(in: nil) == 6)
        #expect(validate(path: all).isValid)
    }

    /// Shards written before `labelled` (minor version 0: no column) read as all labelled.
    @Test func shardsWithoutTheColumnReadAsLabelled() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("s.h5")
        let writer = try ShardWriter(path: path, attributes: { var a = ShardAttributes(); a.imageSize = 8; a.split = .train; return a }())
        var batch = ShardRows(imageSize: 8)
        let image = [Float](repeating: 0.5, count: 5 * 64)
        for k in 0..<3 {
            image.withUnsafeBufferPointer { batch.append(entry: CatalogEntry(objectID: Int64(k), ra: 1, dec: 2, zSpec: 0.1, zSpecErr: 0, ebv: 0.01, row: k), image: $0) }
        }
        try writer.append(batch)
        try writer.finish()
        let file = try HDF5File.open(path, readOnly: false)
        try file.root.setAttribute(ShardSchema.Attribute.schemaMinorVersion, .int64(0))
        try file.close()
        let shard = try Shard(path: path)
        #expect(shard.minorVersion == 0 && shard.optionalColumns.isEmpty)
        let flags = try shard.scalarColumn(ShardSchema.labelled)[int64: ShardSchema.labelled]
        #expect(flags == [1, 1, 1])
        #expect(validate(path: path).isValid)
    }

    /// A labelled row must not hold NaN, and an unlabelled one must.
    @Test func validateChecksTheFlagsAgainstTheRedshifts() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("s.h5")
        var options = ShardAttributes()
        options.imageSize = 8
        options.split = .test
        let labelled = ShardSchema.column(ShardSchema.labelled)!
        let writer = try ShardWriter(path: path, attributes: options, optionalColumns: [labelled])
        var batch = ShardRows(imageSize: 8, columns: ShardSchema.requiredColumns + [labelled])
        let image = [Float](repeating: 0.5, count: 5 * 64)
        let cases: [(Float, Bool)] = [(0.1, true), (.nan, false), (.nan, true), (0.2, false)]
        for (k, (z, flag)) in cases.enumerated() {
            image.withUnsafeBufferPointer {
                batch.append(entry: CatalogEntry(objectID: Int64(k), ra: 1, dec: 2, zSpec: z, zSpecErr: z.isNaN ? .nan : 0.001, ebv: 0.01, row: k,
                                                 labelled: flag), image: $0)
            }
        }
        try writer.append(batch)
        try writer.finish()
        let problems = validate(path: path).problems
        #expect(problems.count == 3, "\(problems)")
        #expect(problems.contains { $0.contains("row 3 is unlabelled") })
        #expect(problems.contains { $0.contains("/z_spec row 2 is nan") })
        #expect(problems.contains { $0.contains("/z_spec_err row 2 is nan") })
    }
}
