import Foundation
import Testing

/// select, split, merge and table through the real executable: outputs validate, bad input
/// is a usage error (exit 64) that leaves everything as it was.
@Suite struct ManagementCommandTests {
    @Test func selectSplitMergeTableThroughTheExecutable() throws {
        let dir = TemporaryDirectory()
        try OutputSafetyTests.fixture(dir)
        let shards = dir.file("shards")

        let low = try Photoz.run(["select", shards, "--where", "z_spec < 0.5 and split != \"valid\"", "--out", dir.file("low"), "--json"])
        #expect(low.status == 0, "\(low.stderr)")
        let high = try Photoz.run(["select", shards, "--where", "not (z_spec < 0.5)", "--out", dir.file("high")])
        #expect(high.status == 0, "\(high.stderr)")
        let valid = try Photoz.run(["select", shards, "--split", "valid", "--out", dir.file("valid")])
        #expect(valid.status == 0, "\(valid.stderr)")
        // The three selections partition the data set: merging them gives every row back once.
        let merged = try Photoz.run(["merge", dir.file("low"), dir.file("high"), dir.file("valid"), "--out", dir.file("all")])
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(merged.stdout.contains("merged 40 of 40 rows read"), "\(merged.stdout)")
        // Merging a data set with a part of itself: the part's rows are identical duplicates.
        let again = try Photoz.run(["merge", shards, dir.file("low"), "--out", dir.file("again"), "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any]
        let lowSummary = try JSONSerialization.jsonObject(with: Data(low.stdout.utf8)) as? [String: Any]
        let lowRows = (lowSummary?["rows"] as? [String: Int] ?? [:]).values.reduce(0, +)
        #expect(lowRows > 0 && lowRows < 40)
        #expect((summary?["notes"] as? [String: Int])?["duplicates_identical"] == lowRows)

        let folds = try Photoz.run(["split", dir.file("all"), "--scheme", "kfold:4", "--out", dir.file("folds")])
        #expect(folds.status == 0, "\(folds.stderr)")
        // Every fold holds every row: the summary counts the rows read once and each fold apart.
        #expect(folds.stdout.contains("split 40 rows read into 4 data sets"), "\(folds.stdout)")
        #expect(folds.stdout.split(separator: "\n").filter { $0.contains("output: ") && $0.contains("fold-") && $0.contains("train ") }.count == 4,
                "\(folds.stdout)")
        let byZ = try Photoz.run(["split", dir.file("all"), "--scheme", "column:z_spec", "--fractions", "70/15/15", "--out", dir.file("byz")])
        #expect(byZ.status == 0, "\(byZ.stderr)")
        for output in ["low", "high", "valid", "all", "again", "byz", "folds/fold-0", "folds/fold-3"] {
            let check = try Photoz.run(["validate", dir.file(output)])
            #expect(check.status == 0, "\(output): \(check.stdout)")
        }
        // Table of the merged set: 40 rows and a header.
        let table = try Photoz.run(["table", dir.file("all"), "--format", "csv", "--out", dir.file("all.csv")])
        #expect(table.status == 0, "\(table.stderr)")
        let lines = try String(contentsOfFile: dir.file("all.csv"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 41 && lines[0] == "object_id,ra,dec,z_spec,z_spec_err,ebv,labelled,split")
        // The same table again: refused without --overwrite, replaced with it.
        #expect(try Photoz.run(["table", dir.file("all"), "--out", dir.file("all.csv")]).status == 64)
        #expect(try Photoz.run(["table", dir.file("all"), "--out", dir.file("all.csv"), "--overwrite"]).status == 0)
    }

    @Test func badExpressionsAndOutputsInsideInputsExit64AndTouchNothing() throws {
        let dir = TemporaryDirectory()
        try OutputSafetyTests.fixture(dir, count: 12)
        let shards = dir.file("shards")
        let before = snapshot(dir.path)
        let cases: [([String], String)] = [
            (["select", shards, "--where", "z_spec << 0.3", "--out", dir.file("x")], "at character 9"),
            (["select", shards, "--where", "redshift < 0.3", "--out", dir.file("x")], "one of object_id, ra, dec, z_spec"),
            (["select", shards, "--where", "z_spec < 0.3", "--out", dir.file("shards/sub")], "lies inside DATA"),
            (["select", shards, "--where", "z_spec < 0.3", "--out", shards], "is the same as DATA"),
            (["select", shards, "--out", dir.file("x")], "give --where, --ids or --split"),
            (["split", shards, "--scheme", "kfold:1", "--out", dir.file("x")], "kfold:K needs K between 2"),
            (["split", shards, "--scheme", "column:images", "--out", dir.file("x")], "per-row scalar column"),
            (["split", shards, "--out", dir.file("shards/train-00000.h5")], "lies inside DATA"),
            (["merge", shards, dir.file("sky"), "--out", dir.file("sky/sub")], "lies inside an input"),
            (["merge", shards, "--out", dir.file("x")], "at least two"),
            (["table", shards, "--out", dir.file("shards/t.csv")], "lies inside DATA"),
            (["table", shards, "--format", "parquet", "--out", dir.file("t")], "parquet"),
        ]
        for (arguments, message) in cases {
            let result = try Photoz.run(arguments)
            #expect(result.status == 64, "\(arguments): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        #expect(snapshot(dir.path) == before)
    }

    @Test func mergeOfDifferentImageSizesFailsNamingBoth() throws {
        let dir = TemporaryDirectory()
        try OutputSafetyTests.fixture(dir, count: 8, size: 32)
        let other = TemporaryDirectory()
        try OutputSafetyTests.fixture(other, count: 8, size: 24)
        let result = try Photoz.run(["merge", dir.file("shards"), other.file("shards"), "--out", dir.file("m")])
        #expect(result.status == 1)
        #expect(result.stderr.contains("holds 24×24 images but") && result.stderr.contains("32×32"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("m")))
    }
}
