import Foundation
import HDF5
import NeuralNet
import Testing
@testable import PhotoZ

/// Model files whose attributes or parameters no photoz network can have: `load` throws a
/// `ModelFileError` naming the file and what is wrong, before allocating from the file's sizes
/// (a non-multiple-of-8 image size once hit a precondition; a huge one built a huge network).
@Suite("Hostile model files")
final class HostileModelFileTests {
    private var folders: [URL] = []
    deinit { for folder in folders { try? FileManager.default.removeItem(at: folder) } }

    /// A small valid model file (simple CNN, 16-pixel images) in a fresh folder.
    private func savedModel() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("photoz-hostile-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        folders.append(dir)
        let path = dir.appendingPathComponent("model.h5").path
        try PhotoZNetwork(architecture: .simple, head: .classification, imageSize: 16, seed: 1).save(to: path)
        return path
    }

    /// Rewrites the model file at `path` after `change`.
    private func rewrite(_ path: String, _ change: (inout ModelFile) -> Void) throws {
        var file = try ModelFile.read(from: path)
        change(&file)
        try file.write(to: path, overwrite: true)
    }

    private func loadError(_ path: String) throws -> String {
        let error = try #require(throws: ModelFileError.self) { try PhotoZNetwork.load(from: path) }
        #expect(error.path == path)
        return error.message
    }

    @Test func theUnchangedFileLoads() throws {
        let path = try savedModel()
        try rewrite(path) { _ in }
        #expect(try PhotoZNetwork.load(from: path).network.imageSize == 16)
    }

    @Test(arguments: [
        ("image_size", HDF5AttributeValue.int64(20)), ("image_size", .int64(0)), ("image_size", .int64(1 << 40)),
        ("bands", .int64(0)), ("bands", .int64(1000)), ("bins_count", .int64(0)), ("bins_count", .int64(-3)),
        ("bins_count", .int64(1 << 40)), ("bins_z_max", .double(.infinity)), ("bins_z_min", .double(.nan)),
        ("bins_z_min", .double(-2)), ("bins_z_max", .double(-0.5)),
    ])
    func attributesOutsideTheLimitsAreRefused(name: String, value: HDF5AttributeValue) throws {
        let path = try savedModel()
        try rewrite(path) { $0.attributes[name] = value }
        let message = try loadError(path)
        #expect(message.contains(name))
    }

    @Test func nonFiniteParametersAreRefusedNamingThem() throws {
        let path = try savedModel()
        try rewrite(path) { $0.parameters["conv2.bias"]!.values[5] = .nan }
        let message = try loadError(path)
        #expect(message.contains("parameter conv2.bias") && message.contains("nan") && message.contains("index 5"))
        let second = try savedModel()
        try rewrite(second) { $0.parameters["conv2.bias"]!.values[5] = .infinity }
        #expect(try loadError(second).contains("inf"))
    }

    /// A 2^20 × 2^20 parameter in a file of a few hundred kilobytes (chunked, nothing written):
    /// refused from its shape, nothing read.
    @Test func aParameterDeclaringAHugeShapeIsRefusedUnread() throws {
        let path = try savedModel()
        let file = try HDF5File.open(path, readOnly: false)
        _ = try file.root.group("parameters").createDataset("huge", of: Float.self, shape: [1 << 20, 1 << 20], chunks: [1, 1024])
        try file.close()
        #expect(try loadError(path).contains("more than \(ModelFile.maximumParameterValues) values"))
    }

    /// image_size 512 with the parameters of 16-pixel images: the counts disagree, found
    /// before the network of 512-pixel images (a 1 GB dense layer) is allocated.
    @Test func anImageSizeThatDisagreesWithTheParametersIsRefusedBeforeBuilding() throws {
        let path = try savedModel()
        try rewrite(path) { $0.attributes["image_size"] = .int64(512) }
        let message = try loadError(path)
        #expect(message.contains("parameter values but a simple network for 5 bands and 512-pixel images has"))
    }

    /// The parameter count predicted without allocating equals the built network's.
    @Test func thePredictedParameterCountIsExact() throws {
        for architecture in [Architecture.simple, .inception] {
            let predicted = try PhotoZNetwork.parameterCount(architecture: architecture, head: .classification, bins: .standard, bands: 5, imageSize: 72, engine: nil)
            let built = try PhotoZNetwork(architecture: architecture, head: .classification, imageSize: 72).parameters.scalarCount
            #expect(predicted == built)
        }
    }

    @Test func anOptimizerBufferOfAnotherShapeIsRefused() throws {
        let path = try savedModel()
        let file = try HDF5File.open(path, readOnly: false)
        let optimizer = try file.root.createGroup("optimizer")
        try optimizer.setAttribute("kind", .string("adam"))
        _ = try optimizer.createGroup("m").createDataset("conv1.bias", of: Float.self, shape: [7]).write([Float](repeating: 0, count: 7))
        try file.close()
        #expect(try loadError(path).contains("shape mismatch for optimizer buffer m of conv1.bias: expected [32], found [7]"))
    }
}
