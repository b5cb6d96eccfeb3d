import Foundation
import HDF5
import NeuralNet
import PhotoZData
import Testing
@testable import PhotoZ

/// Model files record the bands (and pixel scale) they were trained on; predict, attack,
/// robustness and train --resume refuse a data set of other bands, naming both lists and files.
/// Model files from before the record are read as u,g,r,i,z, and say so.
@Suite struct ModelImagesTests {
    /// `source`'s rows rewritten as a data set labelled `bands` at `pixelScale` (same pixels).
    static func relabelled(_ source: String, as bands: [String], pixelScale: Double, to out: String) throws -> String {
        let reader = try DataSetReader(path: source)
        var options = DataSetWriter.Options(imageSize: reader.imageSize)
        options.compression = .none
        options.attributes.bands = bands
        options.attributes.pixelScale = pixelScale
        let writer = try DataSetWriter(target: out, options: options)
        for split in Split.allCases where reader.rows(in: split) > 0 {
            let batches = try reader.batches(split: split, order: .sequential(padded: false), batchSize: 1000, purpose: "a copy")
            while let batch = try batches.next() { try writer.append(batch.rows, split: split) }
        }
        try writer.finish { _ in
            Manifest(imageSize: reader.imageSize, splitFractions: SplitFractions(train: 0.8, valid: 0.1, test: 0.1), compression: "none",
                     inputs: [:], rows: [:], skipped: 0, skippedReport: nil, shards: [])
        }
        return out
    }

    @Test func trainRecordsBandsAndEveryStageRefusesOtherBands() throws {
        let dir = TemporaryDirectory()
        let data = try SyntheticData.make(in: dir.path, rows: 60)
        let grizy = try Self.relabelled(data, as: ShardSchema.hscBands, pixelScale: 0.168, to: dir.file("grizy"))
        let model = dir.file("m.h5")
        _ = try Trainer(quickConfig(data: data, out: model, steps: 2)).run()

        let recorded = try ModelImages(modelFile: model)
        #expect(recorded == ModelImages(dataSet: try DataSetReader(path: data)))
        #expect(recorded.recorded && recorded.bands == ["u", "g", "r", "i", "z"] && recorded.pixelScale == Survey.pixelScale)
        // h5py-independent check of the attributes as written.
        let file = try HDF5File.open(model, readOnly: true)
        #expect(try file.root.attribute("band_names") == .strings(["u", "g", "r", "i", "z"]))
        try file.close()

        // Same bands: predict runs.
        _ = try predictToFile(PredictionConfiguration(models: [model], data: data, out: dir.file("ok.hdf5")))
        func refusesNamingBoth(_ what: String, _ body: () throws -> Void) {
            do {
                try body()
                Issue.record("\(what): a g,r,i,z,y data set was accepted by a u,g,r,i,z model")
            } catch {
                let text = "\(error)"
                #expect(text.contains("u,g,r,i,z") && text.contains("g,r,i,z,y") && text.contains(model) && text.contains(grizy), "\(what): \(text)")
            }
        }
        refusesNamingBoth("predict") { _ = try predictToFile(PredictionConfiguration(models: [model], data: grizy, out: dir.file("p.hdf5"))) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("p.hdf5")))
        refusesNamingBoth("attack") {
            _ = try attackDataSet(AttackDataSetConfiguration(data: grizy, out: dir.file("adv"), model: model, attack: AttackConfiguration(method: .fgsm, epsilon: 0.01)))
        }
        refusesNamingBoth("robustness") {
            let network = try PhotoZNetwork.load(from: model).network
            _ = try measureRobustness(models: [(model, network)], data: grizy,
                                      configuration: RobustnessConfiguration(attack: AttackConfiguration(method: .fgsm, epsilon: 1), epsilons: [0.1]))
        }
        refusesNamingBoth("train --resume") {
            var config = quickConfig(data: grizy, out: model, steps: 4)
            config.data = grizy
            _ = try Trainer(config, resume: true)
        }
    }

    @Test func modelFilesWithoutBandsAreReadAsUgrizAndSaySo() throws {
        let dir = TemporaryDirectory()
        let data = try SyntheticData.make(in: dir.path, rows: 30)
        let grizy = try Self.relabelled(data, as: ShardSchema.hscBands, pixelScale: Survey.pixelScale, to: dir.file("grizy"))
        // A library save writes no band names: what every model file before the record looks like.
        let old = dir.file("old.h5")
        try PhotoZNetwork(architecture: .simple, head: .classification, imageSize: 16, seed: 3).save(to: old)
        let file = try HDF5File.open(old, readOnly: true)
        #expect(try file.root.attribute("band_names") == nil)
        try file.close()
        let read = try ModelImages(modelFile: old)
        #expect(!read.recorded && read.bands == ShardSchema.sdssBands && read.pixelScale == nil)
        _ = try predictToFile(PredictionConfiguration(models: [old], data: data, out: dir.file("ok.hdf5")))
        #expect { _ = try predictToFile(PredictionConfiguration(models: [old], data: grizy, out: dir.file("p.hdf5"))) } throws: {
            "\($0)".contains("not recorded") && "\($0)".contains("g,r,i,z,y")
        }
    }

    @Test func otherPixelScalesAndDamagedRecordsAreRefused() throws {
        let dir = TemporaryDirectory()
        let data = try SyntheticData.make(in: dir.path, rows: 30)
        let model = dir.file("m.h5")
        _ = try Trainer(quickConfig(data: data, out: model, steps: 1)).run()
        let coarse = try Self.relabelled(data, as: ShardSchema.sdssBands, pixelScale: 0.792, to: dir.file("coarse"))
        #expect { try ModelImages.check(model: model, against: try DataSetReader(path: coarse), purpose: "prediction") } throws: {
            "\($0)".contains("0.396") && "\($0)".contains("0.792") && "\($0)".contains("arcsec/pixel")
        }
        // A damaged record is an error naming the file, not a crash nor a silent u,g,r,i,z.
        let file = try HDF5File.open(model, readOnly: false)
        try file.root.setAttribute("band_names", .strings(Array(repeating: "u", count: 17)))
        try file.close()
        #expect { _ = try ModelImages(modelFile: model) } throws: { "\($0)".contains(model) && "\($0)".contains("band_names") }
    }
}
