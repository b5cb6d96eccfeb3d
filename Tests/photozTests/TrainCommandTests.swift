import Foundation
import Testing

/// train → predict → evaluate through the real executable, on a small simulated sky.
@Suite struct TrainCommandTests {
    @Test func trainPredictEvaluate() throws {
        let dir = TemporaryDirectory()
        #expect(try Photoz.run(["simulate", "--count", "120", "--out", dir.file("sky"), "--seed", "8", "--size", "32"]).status == 0)
        #expect(try Photoz.run(["ingest", "--catalog", dir.file("sky/catalog.csv"), "--cutouts", dir.file("sky/cutouts"),
                                "--out", dir.file("shards"), "--size", "32", "--split", "60/20/20"]).status == 0)
        let train = try Photoz.run(["train", "--data", dir.file("shards"), "--out", dir.file("m.h5"), "--epochs", "2",
                                    "--batch-size", "16", "--learning-rate", "5e-4", "--log", dir.file("log.jsonl")])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stdout.contains("best (step"))
        #expect(train.stderr.contains("valid loss"))
        #expect(FileManager.default.fileExists(atPath: dir.file("m.best.h5")))
        // The same --out again is refused without --overwrite, and the model is untouched.
        let before = try Data(contentsOf: URL(fileURLWithPath: dir.file("m.h5")))
        let again = try Photoz.run(["train", "--data", dir.file("shards"), "--out", dir.file("m.h5"), "--epochs", "1"])
        #expect(again.status != 0)
        #expect(again.stderr.contains("--overwrite"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("m.h5"))) == before)

        let predict = try Photoz.run(["predict", "--model", dir.file("m.best.h5"), "--model", dir.file("m.h5"),
                                      "--data", dir.file("shards"), "--out", dir.file("pred.h5")])
        #expect(predict.status == 0, "\(predict.stderr)")
        let evaluate = try Photoz.run(["evaluate", dir.file("pred.h5"), "--json"])
        #expect(evaluate.status == 0, "\(evaluate.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any]
        let overall = report?["overall"] as? [String: Any]
        #expect((overall?["count"] as? Int ?? 0) > 0)
        #expect(overall?["sigmaMAD"] as? Double != nil)
        for suffix in ["zphot-zspec", "dz-zspec", "pit"] {
            #expect(FileManager.default.fileExists(atPath: dir.file("pred.\(suffix).svg")))
        }
        let baseline = try Photoz.run(["baseline", "--data", dir.file("shards"), "--k", "5"])
        #expect(baseline.status == 0, "\(baseline.stderr)")
        #expect(baseline.stdout.contains("sigma_MAD"))

        // A model for another image size is refused with a message, and nothing is written.
        let wrong = try Photoz.run(["predict", "--model", dir.file("m.h5"), "--data", dir.file("shards"), "--out", dir.file("x.h5"),
                                    "--split", "nonsense"])
        #expect(wrong.status != 0)
        #expect(!FileManager.default.fileExists(atPath: dir.file("x.h5")))
        let notModel = try Photoz.run(["predict", "--model", dir.file("pred.h5"), "--data", dir.file("shards"), "--out", dir.file("y.h5")])
        #expect(notModel.status != 0)
        #expect(notModel.stderr.contains("pred.h5"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("y.h5")))
    }

    /// The transform is spelled `signed-sqrt` in the README and the help; the model file's name
    /// `sign_sqrt` is accepted too, and both train the same model.
    @Test func thePixelTransformIsAcceptedAsTheDocsSpellIt() throws {
        let dir = TemporaryDirectory()
        #expect(try Photoz.run(["simulate", "--count", "40", "--out", dir.file("sky"), "--seed", "3", "--size", "32"]).status == 0)
        #expect(try Photoz.run(["ingest", "--catalog", dir.file("sky/catalog.csv"), "--cutouts", dir.file("sky/cutouts"),
                                "--out", dir.file("shards"), "--size", "32", "--split", "60/20/20"]).status == 0)
        for (name, spelling) in [("a", "signed-sqrt"), ("b", "sign_sqrt")] {
            let run = try Photoz.run(["train", "--data", dir.file("shards"), "--out", dir.file("\(name).h5"), "--steps", "1",
                                      "--batch-size", "8", "--model", "simple", "--pixel-transform", spelling])
            #expect(run.status == 0, "\(spelling): \(run.stderr)")
            // One step has no steady rate: the summary says so instead of "0 images/s".
            #expect(run.stdout.contains("one step in this run"), "\(run.stdout)")
            #expect(!run.stdout.contains(" 0 images/s"), "\(run.stdout)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("a.best.h5"))).count > 0)
        let help = try Photoz.run(["help", "train"])
        #expect(help.stdout.contains("signed-sqrt"))
        #expect(help.stdout.contains("lowest validation σ_MAD"))
        let wrong = try Photoz.run(["train", "--data", dir.file("shards"), "--out", dir.file("c.h5"), "--pixel-transform", "sqrt"])
        #expect(wrong.status == 64)
        #expect(wrong.stderr.contains("signed-sqrt"))
    }
}
