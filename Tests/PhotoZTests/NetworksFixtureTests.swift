import Foundation
import Testing
import NeuralNet
@testable import PhotoZ

/// The photo-z networks against PyTorch fixtures made by
/// `Tests/NeuralNetTests/Fixtures/make_fixtures.py` from `../shared/reference/bench/ref_models.py`.
/// Tolerances: 1e-5 of the largest magnitude for outputs, 1e-4 for gradients (float32).
@Suite("PyTorch fixtures: networks")
struct NetworksFixtureTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("NeuralNetTests/Fixtures")

    @Test("PhotoZNetwork(.simple) on 16x16 images matches SimpleCNN: logits, loss, input gradient")
    func simple() throws {
        let f = try NetworkFixture(named: "simple_cnn", in: Self.folder)
        let net = try PhotoZNetwork(architecture: .simple, head: .classification, imageSize: 16)
        for p in net.parameters { p.parameter.set(try f.array("param.\(p.path)")) }
        try net.forward(images: try f.array("input"), ebv: try f.array("ebv"))
        close(net.output, try f.array("logits"), 1e-5, "logits")
        let loss = net.loss(redshifts: try f.array("z"))
        #expect(abs(Double(loss) - f.scalars["loss"]!) < 1e-5)
        let dx = try #require(net.backward(.all))
        close(dx, try f.array("input_gradient"), 1e-4, "input gradient")
        let named = Dictionary(uniqueKeysWithValues: net.parameters.map { ($0.path, $0.parameter) })
        close(named["fc.weight"]!.gradient.read(), try f.array("grad.fc.weight"), 1e-4, "∂fc.weight")
    }

    @Test("InceptionBlock(16, a: 6, b: 8) matches the reference block, PReLU slopes included")
    func inceptionBlock() throws {
        let f = try NetworkFixture(named: "inception_block", in: Self.folder)
        let engine = try Engine()
        let block = InceptionBlock(inputChannels: 16, a: 6, b: 8, engine: engine, label: "i")
        for p in block.parameters { p.parameter.set(try f.array("param.\(p.path)")) }
        let x = Tensor(shape: [2, 16, 8, 8], engine: engine)
        x.write(try f.array("input"))
        let outMD = try block.prepare(input: x.descriptor)
        #expect(outMD.dims == [2, 30, 8, 8])
        close(block.forward(x).read(), try f.array("output"), 1e-5, "output")
        let dy = Tensor(outMD, engine: engine)
        dy.write(try f.array("output_weights"))
        let dx = try #require(block.backward(dy, .all))
        close(dx.read(), try f.array("input_gradient"), 1e-4, "input gradient")
        for p in block.parameters {
            close(p.parameter.gradient.read(), try f.array("grad.\(p.path)"), 1e-4, "∂\(p.path)")
        }
    }

    private func close(_ a: [Float], _ b: [Float], _ tolerance: Float, _ what: String,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.count == b.count, "\(what): \(a.count) values, expected \(b.count)", sourceLocation: sourceLocation)
        guard a.count == b.count else { return }
        let scale = b.map { abs($0) }.max() ?? 0
        let err = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        #expect(err <= tolerance * scale + 1e-7, "\(what): max |photoz − PyTorch| = \(err), scale \(scale)",
                sourceLocation: sourceLocation)
    }
}

/// Reads a fixture written by make_fixtures.py (float32 .bin + JSON index).
struct NetworkFixture {
    struct Entry: Decodable { let shape: [Int]; let offset: Int }
    struct Index: Decodable { let arrays: [String: Entry]; let scalars: [String: Double] }
    let index: Index
    let values: [Float]

    init(named name: String, in folder: URL) throws {
        index = try JSONDecoder().decode(Index.self, from: Data(contentsOf: folder.appendingPathComponent("\(name).json")))
        let data = try Data(contentsOf: folder.appendingPathComponent("\(name).bin"))
        values = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    var scalars: [String: Double] { index.scalars }

    func array(_ name: String) throws -> [Float] {
        let e = try #require(index.arrays[name], "fixture has no array \(name)")
        return Array(values[e.offset..<(e.offset + e.shape.reduce(1, *))])
    }
}
