import Foundation
import Testing
@testable import PhotoZData

/// select, split and merge: the rows that should come out do, bit for bit, with their splits,
/// every output validates, and bad input is refused with a message naming the problem.
@Suite struct ManagementTests {
    typealias Fixture = DataSetReaderWriterTests
    static let size = Fixture.size

    /// Every row of a data set by id: its split and the row itself.
    static func contents(_ path: String) throws -> [Int64: (split: Split, row: ShardRows)] {
        let reader = try DataSetReader(path: path)
        var out: [Int64: (Split, ShardRows)] = [:]
        for (s, info) in reader.shards.enumerated() {
            let rows = try reader.opened[s].read(rows: 0..<info.rows)
            for k in 0..<rows.count {
                #expect(out[rows.objectID[k]] == nil, "id \(rows.objectID[k]) twice in \(path)")
                out[rows.objectID[k]] = (info.split!, rows.rows(k..<k + 1))
            }
        }
        return out
    }

    /// The rows a fixture data set (`Fixture.write`) holds for `ids`, by id.
    static func expected(_ ids: [Int]) -> [Int64: ShardRows] {
        let all = Fixture.rows(0..<40)
        let test = Fixture.rows(1000..<1005)
        var out: [Int64: ShardRows] = [:]
        for id in ids { out[Int64(id)] = id >= 1000 ? test.rows(id - 1000..<id - 999) : all.rows(id..<id + 1) }
        return out
    }

    static func checkRows(_ path: String, ids: [Int], split: (Int64) -> Split) throws {
        let got = try contents(path)
        #expect(got.keys.sorted() == ids.map(Int64.init).sorted())
        for (id, row) in expected(ids) {
            guard let g = got[id] else { continue }
            #expect(rowsIdentical(g.row, row), "row \(id) changed")
            #expect(g.split == split(id), "row \(id) in \(g.split)")
        }
        let report = validate(path: path)
        #expect(report.isValid, "\(report.problems)")
    }

    @Test func selectKeepsExactlyTheRowsOfTheConditionWithTheirSplits() throws {
        let dir = TemporaryDirectory()
        _ = try Fixture.write(dir.file("data"))
        var config = SelectConfiguration(data: dir.file("data"), out: dir.file("low"))
        config.condition = "0.05 <= z_spec < 0.2 or object_id == 1003"
        config.output.shardSize = 4
        let summary = try selectRows(config)
        #expect(summary.read == 30 && summary.written == 16)
        try Self.checkRows(dir.file("low"), ids: Array(5..<20) + [1003]) { $0 >= 1000 ? .test : .train }
        let manifest = try Manifest.read(directory: dir.file("low"))
        #expect(manifest.inputs["where"] == config.condition)
        #expect(manifest.inputs["data_checksum"] == (try DataSetReader(path: dir.file("data")).checksum))

        // --ids and --split, and a split assigned to every row.
        try "# wanted\n1001\n 3 \n\n1004 # last\n".write(toFile: dir.file("ids.txt"), atomically: true, encoding: .utf8)
        var byID = SelectConfiguration(data: dir.file("data"), out: dir.file("some"))
        byID.idsFile = dir.file("ids.txt")
        byID.condition = "split == \"test\""
        byID.assignSplit = .valid
        _ = try selectRows(byID)
        try Self.checkRows(dir.file("some"), ids: [1001, 1004]) { _ in .valid }
    }

    @Test func malformedExpressionsSayWhereAndWhatWasExpected() throws {
        func message(_ text: String) -> String {
            do { _ = try RowExpression(text); return "" } catch { return "\(error)" }
        }
        #expect(message("z_spec < ").contains("at character 10: expected a column name, a number or a quoted text"))
        #expect(message("z_spec = 0.3").contains("at character 8: expected '=='"))
        #expect(message("(z_spec < 0.3").contains("expected ')' to close the '(' at character 1"))
        #expect(message("zspec < 0.3").contains("one of images") == false)
        #expect(message("zspec < 0.3").contains("one of object_id, ra, dec, z_spec, z_spec_err, ebv, labelled, split; the data set keeps no catalog columns"))
        // Before the data set is open, an unknown name may still be a catalog column: the grammar alone is checked.
        #expect(throws: Never.self) { try RowExpression.checkSyntax("zspec < 0.3 and class == 'GALAXY'") }
        #expect(throws: PhotoZDataError.self) { try RowExpression.checkSyntax("zspec < ") }
        #expect(message("images > 0").contains("holds images"))
        #expect(message("split == \"training\"").contains("a split name"))
        #expect(message("split < \"train\"").contains("'==' or '!='"))
        #expect(message("z_spec < 0.3 ebv").contains("at character 14"))
        #expect(message("split == 3").contains("quoted split name"))
        #expect(message(String(repeating: "(", count: 500) + "z_spec < 1" + String(repeating: ")", count: 500)).contains("nested"))
        // What parses evaluates as written: precedence, not, chains, exact integers.
        var rows = ShardRows(imageSize: 1, columns: [ShardSchema.column(ShardSchema.objectID)!, ShardSchema.column(ShardSchema.zSpec)!])
        rows.objectID = [9_007_199_254_740_993, 1]
        rows.zSpec = [0.5, .nan]
        let e = try RowExpression("not z_spec < 0.4 and object_id == 9007199254740993 or split == 'test'")
        #expect(e.matches(rows, row: 0, split: .train) && !e.matches(rows, row: 1, split: .train) && e.matches(rows, row: 1, split: .test))
        #expect(try !RowExpression("object_id == 9007199254740992").matches(rows, row: 0, split: .train))
        #expect(try RowExpression("z_spec != 0.1").matches(rows, row: 1, split: .train) && !RowExpression("z_spec < 9").matches(rows, row: 1, split: .train))
    }

    @Test func hashAndColumnSplitsAssignEveryRowByTheirRule() throws {
        let dir = TemporaryDirectory()
        _ = try Fixture.write(dir.file("data"))
        let ids = Array(0..<25) + Array(1000..<1005)
        var hash = SplitConfiguration(data: dir.file("data"), out: dir.file("hash"))
        hash.fractions = try SplitFractions(parsing: "50/25/25")
        _ = try resplit(hash)
        try Self.checkRows(dir.file("hash"), ids: ids) { hash.fractions.split(of: $0) }
        #expect(try Manifest.read(directory: dir.file("hash")).splitRule.contains("photoz split --scheme hash"))

        var column = SplitConfiguration(data: dir.file("data"), out: dir.file("byz"))
        column.scheme = try SplitScheme(parsing: "column:z_spec")
        column.fractions = try SplitFractions(parsing: "80/10/10")
        _ = try resplit(column)
        // z_spec = id / 100: the 24 lowest train, the next 3 valid, the 3 highest (1002…1004) test.
        let order = ids.sorted()
        try Self.checkRows(dir.file("byz"), ids: ids) { id in
            let rank = order.firstIndex(of: Int(id))!
            return rank < 24 ? .train : rank < 27 ? .valid : .test
        }
        #expect(throws: PhotoZDataError.self) { try SplitScheme(parsing: "column:images") }
        #expect(throws: PhotoZDataError.self) { try SplitScheme(parsing: "kfold:1") }
    }

    @Test func kfoldWritesKDataSetsWhoseTestSplitsPartitionTheRows() throws {
        let dir = TemporaryDirectory()
        _ = try Fixture.write(dir.file("data"))
        var config = SplitConfiguration(data: dir.file("data"), out: dir.file("folds"))
        config.scheme = .kfold(3)
        config.seed = 7
        let summary = try resplit(config)
        #expect(summary.dataSets.count == 3)
        var tested: [Int64] = []
        for i in 0..<3 {
            let got = try Self.contents(SplitConfiguration.foldFolder(dir.file("folds"), i))
            #expect(got.count == 30)
            tested += got.filter { $0.value.split == .test }.map(\.key)
            #expect(validate(path: SplitConfiguration.foldFolder(dir.file("folds"), i)).isValid)
        }
        #expect(tested.sorted() == (Array(0..<25) + Array(1000..<1005)).map(Int64.init))
        #expect(isKFoldFolder(dir.file("folds")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["data", "folds"], "nothing staged left")
    }

    @Test func mergeKeepsIdenticalDuplicatesOnceAndRefusesConflicts() throws {
        let dir = TemporaryDirectory()
        _ = try Fixture.write(dir.file("a"))  // train 0..<25, test 1000..<1005
        // b: train 20..<40 (20..<25 identical to a's) and the same test rows.
        _ = try Fixture.write(dir.file("b"), count: 20, first: 20)
        let summary = try mergeDataSets(MergeConfiguration(inputs: [dir.file("a"), dir.file("b")], out: dir.file("ab")))
        #expect(summary.read == 55 && summary.written == 45 && summary.notes["duplicates_identical"] == 10)
        try Self.checkRows(dir.file("ab"), ids: Array(0..<40) + Array(1000..<1005)) { $0 >= 1000 ? .test : .train }

        // c: rows 20..<25 with another redshift: refused, naming the ids, unless --prefer.
        var options = DataSetWriter.Options(imageSize: Self.size)
        options.compression = .none
        let writer = try DataSetWriter(target: dir.file("c"), options: options)
        var changed = Fixture.rows(20..<25)
        changed.zSpec = changed.zSpec.map { $0 + 1 }
        try writer.append(changed, split: .train)
        try writer.finish { _ in Manifest(imageSize: Self.size, splitFractions: .default, compression: "none", inputs: [:], rows: [:], skipped: 0, skippedReport: nil, shards: []) }
        do {
            _ = try mergeDataSets(MergeConfiguration(inputs: [dir.file("a"), dir.file("c")], out: dir.file("ac")))
            Issue.record("conflicting rows were merged")
        } catch {
            #expect("\(error)".contains("5 object id(s) have different rows") && "\(error)".contains("20, 21, 22, 23, 24"))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("ac")))
        var last = MergeConfiguration(inputs: [dir.file("a"), dir.file("c")], out: dir.file("ac"))
        last.prefer = .last
        let resolved = try mergeDataSets(last)
        #expect(resolved.notes["conflicts_resolved"] == 5 && resolved.written == 30)
        let got = try Self.contents(dir.file("ac"))
        #expect(got[22]!.row.zSpec == [Float(22) / 100 + 1] && got[19]!.row.zSpec == [Float(19) / 100])
    }

    @Test func mergeRefusesOtherImageSizes() throws {
        let dir = TemporaryDirectory()
        _ = try Fixture.write(dir.file("a"))
        var options = DataSetWriter.Options(imageSize: 4)
        options.compression = .none
        let writer = try DataSetWriter(target: dir.file("small"), options: options)
        var rows = ShardRows(imageSize: 4)
        let image = [Float](repeating: 1, count: 5 * 16)
        image.withUnsafeBufferPointer { rows.append(entry: CatalogEntry(objectID: 99, ra: 1, dec: 1, zSpec: 0.1, zSpecErr: 0.01, ebv: 0.01, row: 0), image: $0) }
        try writer.append(rows, split: .train)
        try writer.finish { _ in Manifest(imageSize: 4, splitFractions: .default, compression: "none", inputs: [:], rows: [:], skipped: 0, skippedReport: nil, shards: []) }
        #expect {
            try mergeDataSets(MergeConfiguration(inputs: [dir.file("a"), dir.file("small")], out: dir.file("out")))
        } throws: { "\($0)".contains("holds 4×4 images but") && "\($0)".contains("8×8") }
    }

    @Test func mergeRefusesOtherBands() throws {
        let dir = TemporaryDirectory()
        _ = try Fixture.write(dir.file("a"))
        _ = try Fixture.write(dir.file("b"), count: 5, first: 100)
        // A data set whose manifest says grizy (as a GalaxiesML conversion would).
        var manifest = try Manifest.read(directory: dir.file("b"))
        manifest.bands = ["g", "r", "i", "z", "y"]
        try manifest.write(directory: dir.file("b"))
        #expect {
            try mergeDataSets(MergeConfiguration(inputs: [dir.file("a"), dir.file("b")], out: dir.file("out")))
        } throws: {
            // Today the reader itself refuses bands other than ugriz (naming the file); once other
            // band sets are readable, merge's own check names both inputs' bands.
            let text = "\($0)"
            return text.contains(dir.file("b")) && (text.contains("has bands grizy but") || text.contains("bands [\"g\", \"r\", \"i\", \"z\", \"y\"]"))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("out")))
    }

    /// The three table formats hold the same values, which pandas, astropy and h5py read back exactly.
    @Test func tablesReadInPandasAndAstropyHoldTheRowsExactly() throws {
        let dir = TemporaryDirectory()
        _ = try Fixture.write(dir.file("data"))
        for (format, name) in [(TableFormat.csv, "t.csv"), (.fits, "t.fits"), (.hdf5Table, "t.h5")] {
            var config = TableConfiguration(data: dir.file("data"), out: dir.file(name))
            config.format = format
            #expect(try exportTable(config) == 30)
        }
        var test = TableConfiguration(data: dir.file("data"), out: dir.file("test.csv"))
        test.split = .test
        #expect(try exportTable(test) == 5)
        #expect(throws: PhotoZDataError.self) { try exportTable(test) }  // exists: never replaced unasked
        let script = """
        import sys, json, numpy as np, pandas as pd, h5py
        from astropy.table import Table
        d = sys.argv[1]
        csv = pd.read_csv(d + "/t.csv")
        fits = Table.read(d + "/t.fits", hdu="PHOTOZ", character_as_bytes=False).to_pandas()
        with h5py.File(d + "/t.h5") as f: h5 = pd.DataFrame({k: f[k].asstr()[:] if k == "split" else f[k][:] for k in f})
        out = {}
        for name, df in (("csv", csv), ("fits", fits), ("h5", h5)):
            df = df.sort_values("object_id")
            out[name] = {"ids": df["object_id"].astype("int64").tolist(), "split": [str(s).strip() for s in df["split"]],
                         "z_bits": np.asarray(df["z_spec"], dtype=np.float32).view(np.uint32).tolist(),
                         "ra": np.asarray(df["ra"], dtype=np.float64).tolist(), "cols": sorted(df.columns)}
        print(json.dumps(out))
        """
        let output = try runPython(script, arguments: [dir.path])
        let result = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: [String: Any]]
        let ids = Array(0..<25) + Array(1000..<1005)
        let rows = Self.expected(ids)
        for name in ["csv", "fits", "h5"] {
            let r = try #require(result[name])
            #expect(r["ids"] as? [Int] == ids, "\(name)")
            #expect(r["split"] as? [String] == ids.map { $0 >= 1000 ? "test" : "train" }, "\(name)")
            #expect(r["z_bits"] as? [UInt32] == ids.map { rows[Int64($0)]!.zSpec[0].bitPattern }, "\(name): z_spec not bit-exact")
            #expect(r["ra"] as? [Double] == ids.map { rows[Int64($0)]!.ra[0] }, "\(name)")
            #expect(r["cols"] as? [String] == ["dec", "ebv", "labelled", "object_id", "ra", "split", "z_spec", "z_spec_err"], "\(name)")
        }
        #expect(csvField("a,\"b\"") == "\"a,\"\"b\"\"\"" && csvField("train") == "train")
    }
}
