import Foundation
import Testing

/// Galaxies without a redshift through the executable: ingest keeps them with
/// --keep-unlabelled, train refuses them (and says how to select the others), predict
/// estimates them and says how many, evaluate leaves them out and says so.
@Suite struct UnlabelledCommandTests {
    @Test func unlabelledRowsArePredictedButNeverTrainedOrScored() throws {
        let dir = TemporaryDirectory()
        #expect(try Photoz.run(["simulate", "--count", "60", "--out", dir.file("sky"), "--seed", "4", "--size", "32"]).status == 0)
        // Every third galaxy loses its redshift to SDSS's missing-value sentinel.
        let text = try String(contentsOfFile: dir.file("sky/catalog.csv"), encoding: .utf8)
        var lines = text.split(separator: "\n").map(String.init)
        let header = lines[0].split(separator: ",").map(String.init)
        let z = try #require(header.firstIndex(of: "z"))
        var blanked = 0
        for k in 1..<lines.count where k % 3 == 0 {
            var fields = lines[k].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            fields[z] = "-9999"
            lines[k] = fields.joined(separator: ",")
            blanked += 1
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir.file("cat.csv"), atomically: true, encoding: .utf8)

        // Default: skipped with their reason.
        let skipped = try Photoz.run(["ingest", "--catalog", dir.file("cat.csv"), "--cutouts", dir.file("sky/cutouts"),
                                      "--out", dir.file("labelled"), "--size", "32", "--json"])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(skipped.stdout.contains("\"missing-redshift\":\(blanked)"))
        // Kept: unlabelled rows, counted by ingest, validate and inspect.
        let kept = try Photoz.run(["ingest", "--catalog", dir.file("cat.csv"), "--cutouts", dir.file("sky/cutouts"),
                                   "--out", dir.file("all"), "--size", "32", "--keep-unlabelled", "--split", "60/20/20"])
        #expect(kept.status == 0, "\(kept.stderr)")
        #expect(kept.stdout.contains("\(blanked) of them unlabelled"))
        let valid = try Photoz.run(["validate", dir.file("all")])
        #expect(valid.status == 0 && valid.stdout.contains("\(blanked) of them unlabelled"), "\(valid.stdout)")
        let inspect = try Photoz.run(["inspect", dir.file("all")])
        #expect(inspect.stdout.contains("labels: \(60 - blanked) rows with a spectroscopic redshift, \(blanked) without"), "\(inspect.stdout)")

        // train refuses, naming the count and the select that fixes it.
        let refused = try Photoz.run(["train", "--data", dir.file("all"), "--out", dir.file("m.h5"), "--epochs", "1", "--batch-size", "8"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("\(blanked) of its 60 rows have no spectroscopic redshift") && refused.stderr.contains("labelled == 1"),
                "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("m.h5")))
        let select = try Photoz.run(["select", dir.file("all"), "--where", "labelled == 1", "--out", dir.file("train-set")])
        #expect(select.status == 0, "\(select.stderr)")
        let train = try Photoz.run(["train", "--data", dir.file("train-set"), "--out", dir.file("m.h5"), "--epochs", "1",
                                    "--batch-size", "8", "--model", "simple"])
        #expect(train.status == 0, "\(train.stderr)")

        // predict estimates every row and says how many had no redshift; evaluate leaves them out.
        let predict = try Photoz.run(["predict", "--model", dir.file("m.h5"), "--data", dir.file("all"), "--split", "all",
                                      "--out", dir.file("pred.h5")])
        #expect(predict.status == 0, "\(predict.stderr)")
        #expect(predict.stdout.contains("60 objects") && predict.stdout.contains("\(blanked) of them unlabelled"), "\(predict.stdout)")
        #expect(!predict.stdout.contains("nan"), "metrics must be over labelled rows only: \(predict.stdout)")
        let evaluate = try Photoz.run(["evaluate", dir.file("pred.h5")])
        #expect(evaluate.status == 0, "\(evaluate.stderr)")
        #expect(evaluate.stdout.contains("\(blanked) objects without z_spec left out"), "\(evaluate.stdout)")
    }
}
