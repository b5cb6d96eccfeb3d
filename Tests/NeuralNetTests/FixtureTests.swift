import Foundation
import Testing
@testable import NeuralNet

/// A fixture written by `Fixtures/make_fixtures.py` (PyTorch): float32 arrays + a JSON index.
struct Fixture {
    struct Entry: Decodable { let shape: [Int]; let offset: Int }
    struct Index: Decodable { let arrays: [String: Entry]; let scalars: [String: Double] }
    let index: Index
    let values: [Float]

    init(named name: String, in folder: URL) throws {
        index = try JSONDecoder().decode(Index.self, from: Data(contentsOf: folder.appendingPathComponent("\(name).json")))
        let data = try Data(contentsOf: folder.appendingPathComponent("\(name).bin"))
        values = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func array(_ name: String) throws -> [Float] {
        let e = try #require(index.arrays[name], "fixture has no array \(name)")
        return Array(values[e.offset..<(e.offset + e.shape.reduce(1, *))])
    }

    func shape(_ name: String) -> [Int]? { index.arrays[name]?.shape }
}

/// max |a − b| ≤ tolerance · max |b| (+ a tiny absolute floor), with a message naming the worst element.
func expectClose(_ a: [Float], _ b: [Float], tolerance: Float, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, "\(what): \(a.count) values, expected \(b.count)", sourceLocation: sourceLocation)
    guard a.count == b.count else { return }
    let scale = b.map { abs($0) }.max() ?? 0
    var worst = 0, err: Float = 0
    for i in a.indices where abs(a[i] - b[i]) > err { err = abs(a[i] - b[i]); worst = i }
    #expect(err <= tolerance * scale + 1e-7,
            "\(what): max |photoz − PyTorch| = \(err) at \(worst) (\(a[worst]) vs \(b[worst])), scale \(scale)",
            sourceLocation: sourceLocation)
}

/// The small CNN built from NeuralNet layers matches PyTorch's SimpleCNN (fixture made by
/// `Fixtures/make_fixtures.py`): logits, loss, input gradient and parameter gradients.
/// Tolerances: 1e-5 of the largest magnitude for outputs, 1e-4 for gradients (float32, different
/// summation orders).
@Suite("PyTorch fixture: small CNN")
struct FixtureTests {
    @Test("SimpleCNN forward, cross-entropy and backward match PyTorch")
    func simpleCNN() throws {
        let folder = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let f = try Fixture(named: "simple_cnn", in: folder)
        let engine = try Engine()
        var layers: [(name: String, layer: Layer)] = []
        var c = 5
        for (i, width) in [32, 64, 128].enumerated() {
            layers.append(("conv\(i + 1)", Conv2D(inputChannels: c, outputChannels: width, kernelSize: 3, engine: engine)))
            layers.append(("relu\(i + 1)", ReLU(engine: engine)))
            layers.append(("pool\(i + 1)", MaxPool2D(kernelSize: 2, stride: 2, engine: engine)))
            c = width
        }
        let features = Sequential(layers)
        let flatten = FlattenAppend(engine: engine)
        let dense = Sequential([("fc", Linear(inputFeatures: 513, outputFeatures: 256, engine: engine)),
                                ("relu", ReLU(engine: engine)),
                                ("out", Linear(inputFeatures: 256, outputFeatures: 180, engine: engine))])
        for p in features.parameters + dense.parameters { p.parameter.set(try f.array("param.\(p.path)")) }

        let x = Tensor(shape: [3, 5, 16, 16], engine: engine)
        x.write(try f.array("input"))
        _ = try dense.prepare(input: flatten.prepare(input: features.prepare(input: x.descriptor)))
        let logits = dense.forward(flatten.forward(features.forward(x), scalars: try f.array("ebv")))
        expectClose(logits.read(), try f.array("logits"), tolerance: 1e-5, "logits")

        let loss = SoftmaxCrossEntropyLoss(engine: engine)
        let value = loss(logits, targets: try f.array("target").map { Int($0) })
        #expect(abs(Double(value) - f.index.scalars["loss"]!) < 1e-5)

        let dx = try #require(features.backward(flatten.backward(dense.backward(loss.gradient!, .all)!), .all))
        expectClose(dx.read(), try f.array("input_gradient"), tolerance: 1e-4, "input gradient")
        let named = Dictionary(uniqueKeysWithValues: (features.parameters + dense.parameters).map { ($0.path, $0.parameter) })
        expectClose(named["conv1.weight"]!.gradient.read(), try f.array("grad.conv1.weight"), tolerance: 1e-4, "∂conv1.weight")
        expectClose(named["fc.weight"]!.gradient.read(), try f.array("grad.fc.weight"), tolerance: 1e-4, "∂fc.weight")
    }
}
