import FITS
import Foundation
import HDF5
import PhotoZData
import Testing
@testable import PhotoZ

@Suite("Adversarial data sets")
struct AttackDataSetTests {
    @Test("Adversarial shards validate, predict like the attack said, hold clean + perturbation, and carry the attack")
    func adversarialShards() throws {
        let dir = AttackScratch()
        let data = try AttackFixture.dataSet(in: dir.path)
        let model = try AttackFixture.modelFile(in: dir.path)
        var config = AttackDataSetConfiguration(data: data, out: dir.file("adv"), model: model,
                                                attack: AttackConfiguration(method: .fgsm, epsilon: 0.02))
        config.batchSize = 5
        let summary = try attackDataSet(config)
        #expect(summary.rows == 12 && summary.shards == 1)
        #expect(abs(summary.largestNorm - 0.02) < 1e-6)
        let report = PhotoZData.validate(path: dir.file("adv"))
        #expect(report.isValid, "\(report.problems)")

        // Round trip through the predictor: same metrics as the attack's own evaluation.
        let network = try PhotoZNetwork.load(from: model).network
        let predictions = try Predictor(networks: [network], batchSize: 7).predict(try DataSet(path: dir.file("adv")), split: .test)
        let adversarial = try #require(summary.adversarial)
        let again = PhotoZMetrics(zPhot: predictions.zPhot, zSpec: predictions.zSpec)
        #expect(predictions.count == 12 && abs(again.bias - adversarial.bias) < 1e-6 && abs(again.sigmaMAD - adversarial.sigmaMAD) < 1e-6)

        // images = clean + perturbation, same ids and labels, attack attributes.
        let clean = try Shard(path: data + "/test-00000.h5").read(rows: 0..<12)
        let shard = try Shard(path: dir.file("adv/test-00000.h5"))
        let adv = try shard.read(rows: 0..<12)
        let delta = try shard.file.root.dataset(ShardSchema.perturbation).read(as: Float.self)
        #expect(adv.objectID == clean.objectID && adv.zSpec == clean.zSpec && adv.ebv == clean.ebv && adv.ra == clean.ra)
        let worst = adv.images.indices.map { abs(adv.images[$0] - clean.images[$0] - delta[$0]) }.max()!
        #expect(worst < 1e-5)
        #expect(adv.images != clean.images)
        let root = shard.file.root
        #expect(try root.attribute("attack_method") == .string("fgsm"))
        #expect(try root.attribute("attack_epsilon") == .double(0.02))
        #expect(try root.attribute("attack_space") == .string("input"))
        #expect(try root.attribute("attack_model_sha256") == .string(try SHA256.hexDigest(ofFile: model)))
        #expect(try root.attribute("source_shard_sha256") == .string(try SHA256.hexDigest(ofFile: data + "/test-00000.h5")))
        #expect(try root.attribute(ShardSchema.Attribute.split) == .string("test"))
        let manifest = try Manifest.read(directory: dir.file("adv"))
        #expect(manifest.shards.map(\.file) == ["test-00000.h5"] && manifest.rows["test"] == 12)
        #expect(dir.contents == ["adv", "data", "model.h5"], "no staging folder left: \(dir.contents)")
    }

    @Test("h5py reads adversarial shards with the keys, shapes and dtypes of clean shards (plus perturbation)")
    func h5pyReadsAdversarialShards() throws {
        let dir = AttackScratch()
        let data = try AttackFixture.dataSet(in: dir.path, rows: 4)
        let model = try AttackFixture.modelFile(in: dir.path)
        var config = AttackDataSetConfiguration(data: data, out: dir.file("adv"), model: model, attack: AttackConfiguration(method: .pgd, epsilon: 1))
        config.attack!.space = .skySigma
        config.attack!.steps = 2
        config.split = nil
        _ = try attackDataSet(config)
        let script = """
        import h5py, json, sys
        def describe(path):
            with h5py.File(path, "r") as f:
                return {k: [list(f[k].shape), f[k].dtype.str] for k in f.keys()}, {k: str(f.attrs[k]) for k in f.attrs}
        out = {}
        for split in ["train", "valid", "test"]:
            clean, _ = describe(sys.argv[1] + "/" + split + "-00000.h5")
            adv, attrs = describe(sys.argv[2] + "/" + split + "-00000.h5")
            out[split] = {"clean": clean, "adv": adv, "method": attrs.get("attack_method"), "space": attrs.get("attack_space")}
        print(json.dumps(out))
        """
        let result = try runAttackTestProgram(try attackVenvPython(), ["-c", script, data, dir.file("adv")])
        #expect(result.status == 0, "\(result.stderr)")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: [String: Any]])
        for split in ["train", "valid", "test"] {
            let entry = try #require(parsed[split])
            var clean = try #require(entry["clean"] as? [String: [Any]])
            let adv = try #require(entry["adv"] as? [String: [Any]])
            #expect(adv["perturbation"].map { "\($0)" } == clean["images"].map { "\($0)" }, "perturbation has the shape and dtype of images")
            clean["perturbation"] = adv["perturbation"]
            #expect("\(adv.sorted { $0.key < $1.key })" == "\(clean.sorted { $0.key < $1.key })")
            #expect(entry["method"] as? String == "pgd" && entry["space"] as? String == "sky-sigma")
        }
    }

    @Test("A universal perturbation respects its bound, raises the mean loss, and applies from its file", arguments: [AttackNorm.linf, .l2])
    func universal(norm: AttackNorm) throws {
        let dir = AttackScratch()
        let data = try AttackFixture.dataSet(in: dir.path)
        let model = try AttackFixture.modelFile(in: dir.path)
        var attack = AttackConfiguration(method: .universal, epsilon: norm == .linf ? 0.05 : 1)
        attack.norm = norm
        attack.steps = 3
        var config = AttackDataSetConfiguration(data: data, out: dir.file("uni"), model: model, attack: attack)
        config.batchSize = 4
        let summary = try attackDataSet(config)
        let file = dir.file("uni/" + AttackDataSetConfiguration.universalFileName)
        #expect(summary.universalFile == file)
        let u = try UniversalPerturbation.read(file)
        #expect(u.norm <= attack.epsilon * 1.0001 && u.norm > 0)
        let before = try #require(u.provenance["mean_objective_clean"]?.doubleValue)
        let after = try #require(u.provenance["mean_objective_perturbed"]?.doubleValue)
        #expect(after > before, "mean loss \(before) → \(after)")
        // Every image got the same input-space perturbation.
        let shard = try Shard(path: dir.file("uni/test-00000.h5"))
        let adv = try shard.read(rows: 0..<12).images, clean = try Shard(path: data + "/test-00000.h5").read(rows: 0..<12).images
        let network = try PhotoZNetwork.load(from: model).network
        var a = adv, c = clean
        network.pixelTransform.apply(&a)
        network.pixelTransform.apply(&c)
        let p = network.valuesPerImage
        let worst = (0..<12).flatMap { i in (0..<p).map { j in abs(a[i * p + j] - c[i * p + j] - u.values[j]) } }.max()!
        #expect(worst < 1e-4)
        // --apply: the same images from the file alone (no model).
        var apply = AttackDataSetConfiguration(data: data, out: dir.file("applied"), model: nil, attack: nil)
        apply.apply = file
        _ = try attackDataSet(apply)
        let applied = try Shard(path: dir.file("applied/test-00000.h5")).read(rows: 0..<12).images
        #expect(applied == adv)
        #expect(PhotoZData.validate(path: dir.file("applied")).isValid)
    }

    @Test("Bad input fails with a clear message and writes nothing")
    func badInput() throws {
        let dir = AttackScratch()
        let data = try AttackFixture.dataSet(in: dir.path, rows: 3)
        let model = try AttackFixture.modelFile(in: dir.path)
        func refuses(_ config: AttackDataSetConfiguration, _ fragment: String) {
            do {
                _ = try attackDataSet(config)
                Issue.record("accepted: \(config)")
            } catch {
                #expect("\(error)".contains(fragment), "message '\(error)' should mention '\(fragment)'")
            }
            #expect(!FileManager.default.fileExists(atPath: config.out), "\(config.out) was written")
            #expect(!dir.contents.contains { $0.contains(".partial-") || $0.contains(".tmp-") }, "leftovers: \(dir.contents)")
        }
        refuses(AttackDataSetConfiguration(data: data, out: dir.file("a"), model: model, attack: AttackConfiguration(method: .fgsm, epsilon: 0)), "--epsilon")
        var steps = AttackConfiguration(method: .bim, epsilon: 0.1)
        steps.steps = 0
        refuses(AttackDataSetConfiguration(data: data, out: dir.file("b"), model: model, attack: steps), "--steps")
        // Model of 16×16 images against 24×24 data.
        let big = try AttackFixture.dataSet(in: dir.path, rows: 3, size: 24, name: "big")
        refuses(AttackDataSetConfiguration(data: big, out: dir.file("c"), model: model, attack: AttackConfiguration(method: .fgsm, epsilon: 0.1)), "24")
        // A universal perturbation of the wrong shape, and one that is not a perturbation at all.
        let wrong = dir.file("wrong.h5")
        let file = try HDF5File.create(wrong)
        for (name, value) in UniversalPerturbation(values: [Float](repeating: 0, count: 5 * 256), imageSize: 16,
                                                   configuration: AttackConfiguration(method: .universal, epsilon: 0.1), pixelTransform: .default)
            .configuration.attributes { try file.root.setAttribute(name, value) }
        try file.root.setAttribute("schema", .string(UniversalPerturbation.schema))
        try file.root.setAttribute("schema_version", .int64(1))
        try file.root.setAttribute("configuration", .string(jsonText(AttackConfiguration(method: .universal, epsilon: 0.1))))
        try file.root.setAttribute("pixel_transform", .string("sign_sqrt"))
        try file.root.createDataset("perturbation", of: Float.self, shape: [3, 16, 16]).write([Float](repeating: 0, count: 768))
        try file.close()
        var apply = AttackDataSetConfiguration(data: data, out: dir.file("d"), model: nil, attack: nil)
        apply.apply = wrong
        refuses(apply, "(5, S, S)")
        let ok = dir.file("ok.h5")
        try UniversalPerturbation(values: [Float](repeating: 0.01, count: 5 * 256), imageSize: 16,
                                  configuration: AttackConfiguration(method: .universal, epsilon: 0.1), pixelTransform: .default).write(to: ok)
        apply.apply = ok
        apply.data = big
        apply.out = dir.file("e")
        refuses(apply, "16×16")
        apply.apply = model
        refuses(apply, "not a photoz universal perturbation")
        // An existing output is kept unless asked.
        try FileManager.default.createDirectory(atPath: dir.file("f"), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir.file("f/keep.txt"), contents: Data("x".utf8))
        do {
            _ = try attackDataSet(AttackDataSetConfiguration(data: data, out: dir.file("f"), model: model, attack: AttackConfiguration(method: .fgsm, epsilon: 0.1)))
            Issue.record("an existing output was replaced without overwrite")
        } catch { #expect("\(error)".contains("--overwrite")) }
        #expect(FileManager.default.fileExists(atPath: dir.file("f/keep.txt")))
    }

    @Test("The attack command exits non-zero on bad input and writes nothing")
    func commandExitCodes() throws {
        let photoz = try photozExecutable()
        let dir = AttackScratch()
        let data = try AttackFixture.dataSet(in: dir.path, rows: 3)
        let model = try AttackFixture.modelFile(in: dir.path)
        for (arguments, fragment) in [(["--epsilon", "0"], "epsilon"), (["--epsilon", "0.1", "--method", "pgd", "--steps", "0"], "--steps"),
                                      (["--epsilon", "-1"], "epsilon")] {
            let result = try runAttackTestProgram(photoz, ["attack", "--model", model, "--data", data, "--out", dir.file("adv")] + arguments)
            #expect(result.status != 0, "\(arguments) exited 0")
            #expect(result.stderr.contains(fragment), "\(arguments): \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.file("adv")))
        }
        let ok = try runAttackTestProgram(photoz, ["attack", "--model", model, "--data", data, "--out", dir.file("adv"), "--epsilon", "0.01", "--json"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("\"rows\":3"))
    }
}
