import FITS
import HDF5
import Foundation
import PhotoZData
import Testing
@testable import PhotoZ

@Suite("Robustness, transfer, FITS export and adversarial training")
struct AttackRobustnessTests {
    @Test("Robustness: clean row shared, white-box diagonal, ensemble column, growing damage with ε; plots and JSON")
    func robustness() throws {
        let dir = AttackScratch()
        let data = try AttackFixture.dataSet(in: dir.path, rows: 10)
        let a = try AttackFixture.modelFile(in: dir.path, seed: 1, name: "a.h5")
        let b = try AttackFixture.modelFile(in: dir.path, seed: 2, name: "b.h5")
        var config = RobustnessConfiguration(attack: AttackConfiguration(method: .fgsm, epsilon: 1), epsilons: [1e-7, 0.05, 0.2])
        config.batchSize = 4
        let models = try [a, b].map { ($0, try PhotoZNetwork.load(from: $0).network) }
        let report = try measureRobustness(models: models, data: data, configuration: config)
        #expect(report.targets == ["a", "b", "ensemble"] && report.rows == 10)
        #expect(report.attacked.count == 2 && report.attacked[0].count == 3 && report.attacked[0][0].count == 3)
        // A negligible ε changes nothing; the white-box loss damage grows with ε.
        for s in 0..<2 {
            #expect(abs(report.attacked[s][0][s].bias - report.clean[s].bias) < 1e-5)
            let shift = { (e: Int) in abs(report.attacked[s][e][s].bias - report.clean[s].bias) + abs(report.attacked[s][e][s].sigmaMAD - report.clean[s].sigmaMAD) }
            #expect(shift(2) > 0, "model \(s): ε = 0.2 changes nothing")
        }
        // The same attack through the general path (α given) gives the same figures as the one-gradient FGSM path.
        var general = config
        general.attack.stepSize = 10
        let slow = try measureRobustness(models: models, data: data, configuration: general)
        #expect(abs(slow.attacked[1][1][0].sigmaMAD - report.attacked[1][1][0].sigmaMAD) < 1e-6)
        let table = report.table()
        #expect(table.contains("transfer at epsilon 0.2") && table.contains("ensemble"))
        let written = try report.writePlots(stem: dir.file("rob"))
        #expect(written.map { ($0 as NSString).lastPathComponent } == ["rob.bias.svg", "rob.sigma-mad.svg", "rob.eta.svg", "rob.transfer.svg"])
        for path in written {
            let svg = try String(contentsOfFile: path, encoding: .utf8)
            #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>") && !svg.contains("nan"))
        }
        let decoded = try JSONDecoder().decode(RobustnessReport.self, from: Data(jsonText(report).utf8))
        #expect(decoded.attacked[1][2][2] == report.attacked[1][2][2])
        #expect(throws: PhotoZDataError.self) {
            try measureRobustness(models: models, data: data, configuration: RobustnessConfiguration(attack: config.attack, epsilons: [0]))
        }
    }

    @Test("export-fits writes CLEAN, PERT and ADV per band with the attack in the header; CLEAN + PERT = ADV")
    func exportFITS() throws {
        let dir = AttackScratch()
        let data = try AttackFixture.dataSet(in: dir.path, rows: 3)
        let model = try AttackFixture.modelFile(in: dir.path)
        _ = try attackDataSet(AttackDataSetConfiguration(data: data, out: dir.file("adv"), model: model, attack: AttackConfiguration(method: .fgsm, epsilon: 0.05)))
        var export = FITSExport(data: dir.file("adv"), out: dir.file("fits"))
        export.objectIDs = [3001]
        let written = try export.run()
        #expect(written == [dir.file("fits/3001.fits")])
        let file = try FITSFile.open(written[0])
        #expect(try file.hduCount() == 16)
        _ = try file.moveTo(hdu: 0)
        #expect(try file.string("ATTACK") == "fgsm")
        #expect(try file.int("OBJID") == 3001)
        #expect(abs(try #require(try file.double("EPSILON")) - 0.05) < 1e-6)
        _ = try file.moveTo(extname: "CLEAN_r")
        let clean = try file.readImage()
        _ = try file.moveTo(extname: "PERT_r")
        let pert = try file.readImage()
        _ = try file.moveTo(extname: "ADV_r")
        let adv = try file.readImage()
        #expect(try file.string("BUNIT") == "nanomaggy")
        let source = try Shard(path: data + "/test-00000.h5").read(rows: 1..<2).images
        #expect(clean.indices.allSatisfy { abs(clean[$0] - source[2 * 256 + $0]) < 1e-5 })
        #expect(adv.indices.allSatisfy { abs(clean[$0] + pert[$0] - adv[$0]) < 1e-5 })
        // Unknown ids are refused before anything is written; existing files are kept unless asked.
        export.objectIDs = [42]
        #expect(throws: PhotoZDataError.self) { try export.run() }
        export.objectIDs = [3001]
        #expect { try export.run() } throws: { "\($0)".contains("3001.fits: already exists") }
    }

    @Test("Adversarial training replaces the first round(F·n) images of each batch by FGSM images of the current network")
    func adversarialTrainingHook() throws {
        let dir = AttackScratch()
        let data = try AttackFixture.dataSet(in: dir.path, rows: 12)
        var config = TrainConfiguration(data: data, out: dir.file("adv-trained.h5"))
        config.steps = 2
        config.batchSize = 8
        config.shuffleBuffer = 8
        config.validEvery = 2
        config.adversarial = AdversarialTrainingConfiguration(method: .fgsm, fraction: 0.5, epsilon: 0.03)
        let trainer = try Trainer(config)
        let hook = try #require(trainer.batchHook)
        let rows = AttackFixture.batch(8, seed: 4)
        var x = rows.images
        trainer.network.pixelTransform.apply(&x)
        var batch = TrainingBatch(images: x, ebv: rows.ebv, zSpec: rows.zSpec, objectID: rows.objectID)
        try hook(&batch, trainer.network)
        let p = trainer.network.valuesPerImage
        let changed = (0..<p * 4).map { abs(batch.images[$0] - x[$0]) }
        #expect(changed.allSatisfy { $0 < 0.03 + 1e-6 } && changed.filter { $0 > 0.029 }.count > p * 4 * 9 / 10)
        #expect(Array(batch.images[(p * 4)...]) == Array(x[(p * 4)...]), "the other half stays clean")
        // A short run trains and records the setting; bad fractions are refused.
        _ = try trainer.run()
        let saved = try #require(try ModelFileAttributes.read(config.out)["training_configuration"]?.stringValue)
        #expect(try JSONDecoder().decode(TrainConfiguration.self, from: Data(saved.utf8)).adversarial == config.adversarial)
        config.adversarial?.fraction = 1.5
        #expect(throws: PhotoZDataError.self) { try config.validate() }
    }
}

/// The root attributes of a model file.
enum ModelFileAttributes {
    static func read(_ path: String) throws -> [String: HDF5AttributeValue] {
        let file = try HDF5File.open(path, readOnly: true)
        var out: [String: HDF5AttributeValue] = [:]
        for name in try file.root.attributeNames() { out[name] = try file.root.attribute(name) }
        return out
    }
}
