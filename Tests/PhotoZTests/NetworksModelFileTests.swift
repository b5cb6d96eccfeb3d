import Foundation
import HDF5
import NeuralNet
import Testing
@testable import PhotoZ

@Suite("Model files")
struct NetworksModelFileTests {
    private func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("photoz-modelfile-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    private func batch(_ net: PhotoZNetwork, _ n: Int) -> ([Float], [Float], [Float]) {
        var g = SplitMix64(seed: 77)
        return ((0..<(n * net.valuesPerImage)).map { _ in Float(g.uniform(0, 1)) },
                (0..<n).map { _ in Float(g.uniform(0, 0.1)) }, (0..<n).map { _ in Float(g.uniform(0, 0.4)) })
    }

    @Test("save then load gives bit-identical outputs, optimizer state, step and history")
    func roundTrip() throws {
        let net = try PhotoZNetwork(architecture: .simple, head: .classification, pixelTransform: .asinh, imageSize: 16, seed: 4)
        let adam = Adam(parameters: net.parameters, learningRate: 1e-3, schedule: StepSchedule(initial: 1e-3, stepSize: 10, gamma: 0.2))
        let (x, e, z) = batch(net, 4)
        for _ in 0..<3 {
            try net.forward(images: x, ebv: e)
            _ = net.loss(redshifts: z)
            net.backward(.parameters)
            adam.update()
        }
        let before = try net.forward(images: x, ebv: e).read()
        let path = temporaryPath("model.h5")
        try net.save(to: path, optimizer: adam, history: #"{"loss":[1.5,1.2]}"#)
        #expect { try net.save(to: path) } throws: { "\($0)".contains("model.h5: already exists") }

        let loaded = try PhotoZNetwork.load(from: path)
        #expect(loaded.network.architecture == .simple && loaded.network.head == .classification)
        #expect(loaded.network.pixelTransform == .asinh && loaded.network.imageSize == 16)
        #expect(try loaded.network.forward(images: x, ebv: e).read() == before)
        #expect(loaded.history == #"{"loss":[1.5,1.2]}"#)
        let state = try #require(loaded.optimizerState)
        #expect(state.step == 3 && state.kind == "adam" && state.schedule == adam.schedule)
        let resumed = Adam(parameters: loaded.network.parameters)
        try resumed.importState(state)
        // One more step from the original and from the resumed copy gives the same weights.
        for (n, opt) in [(net, adam as Optimizer), (loaded.network, resumed as Optimizer)] {
            try n.forward(images: x, ebv: e)
            _ = n.loss(redshifts: z)
            n.backward(.parameters)
            opt.update()
        }
        #expect(try net.forward(images: x, ebv: e).read() == loaded.network.forward(images: x, ebv: e).read())
        // h5py-visible layout: one dataset per parameter under its path.
        let file = try HDF5File.open(path)
        #expect(try file.root.group("parameters").dataset("conv1.weight").shape == [32, 5, 3, 3])
        #expect(try file.root.attribute("architecture")?.stringValue == "simple")
        try file.close()
    }

    @Test("a wrong shape or an unknown architecture fails with a message naming it")
    func errors() throws {
        let net = try PhotoZNetwork(architecture: .simple, head: .regression, imageSize: 16)
        var file = ModelFile(attributes: net.modelAttributes, parameters: net.parameters)
        file.parameters["conv2.weight"] = (shape: [64, 32, 5, 5], values: [Float](repeating: 0, count: 64 * 32 * 25))
        let path = temporaryPath("bad-shape.h5")
        try file.write(to: path)
        let error = try #require(throws: ModelFileError.self) { try PhotoZNetwork.load(from: path) }
        #expect(error.description.contains("shape mismatch for conv2.weight"))

        var unknown = ModelFile(attributes: net.modelAttributes, parameters: net.parameters)
        unknown.attributes["architecture"] = .string("resnet50")
        let path2 = temporaryPath("unknown.h5")
        try unknown.write(to: path2)
        let error2 = try #require(throws: ModelFileError.self) { try PhotoZNetwork.load(from: path2) }
        #expect(error2.description.contains("unknown architecture \"resnet50\""))
    }
}
