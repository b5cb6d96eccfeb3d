import Testing
@testable import NeuralNet

/// Finite-difference gradient checking for layers, on tiny shapes.
///
/// The scalar checked is L = Σ r ⊙ f(x) for a fixed random r, so ∂L/∂y = r; analytic gradients
/// from `backward` are compared with central differences (in double) at a few sampled entries.
struct GradientChecker {
    let engine: Engine
    var generator = SplitMix64(seed: 42)
    var step: Double = 1e-2
    var tolerance: Double = 2e-2

    init(engine: Engine) { self.engine = engine }

    /// Random values in ±(0.2…1), away from the kinks of ReLU / PReLU at 0.
    mutating func values(_ count: Int) -> [Float] {
        (0..<count).map { _ in
            let m = Float(generator.uniform(0.2, 1))
            return generator.next() & 1 == 0 ? m : -m
        }
    }

    /// Checks ∂L/∂x and ∂L/∂θ of `forward`/`backward` at `x`, for every parameter in `parameters`.
    mutating func check(name: String, input x: Tensor, parameters: [NamedParameter],
                        forward: (Tensor) -> Tensor, backward: (Tensor) -> Tensor?,
                        samples: Int = 12, sourceLocation: SourceLocation = #_sourceLocation) {
        let y = forward(x)
        let r = values(y.count)
        func loss() -> Double {
            let out = forward(x).read()
            var s = 0.0
            for i in out.indices { s += Double(out[i]) * Double(r[i]) }
            return s
        }
        let dy = Tensor(y.descriptor, engine: engine)
        dy.write(r)
        guard let dxTensor = backward(dy) else { Issue.record("\(name): no input gradient"); return }
        let dx = dxTensor.read()
        let paramGrads = parameters.map { $0.parameter.gradient.read() }

        compare("\(name) ∂x", analytic: dx, samples: samples, sourceLocation: sourceLocation) { i, delta in
            var v = x.read()
            v[i] += Float(delta)
            x.write(v)
            defer { v[i] -= Float(delta); x.write(v) }
            return loss()
        }
        for (k, named) in parameters.enumerated() {
            let p = named.parameter
            compare("\(name) ∂\(named.path)", analytic: paramGrads[k], samples: samples, sourceLocation: sourceLocation) { i, delta in
                var v = p.value.read()
                let saved = v[i]
                v[i] = saved + Float(delta)
                p.set(v)
                defer { v[i] = saved; p.set(v) }
                return loss()
            }
        }
    }

    /// Compares `analytic` with central differences of `evaluate(index, delta)` at sampled indices.
    mutating func compare(_ label: String, analytic: [Float], samples: Int, sourceLocation: SourceLocation,
                          evaluate: (Int, Double) -> Double) {
        var indices = Set<Int>()
        while indices.count < min(samples, analytic.count) { indices.insert(Int(generator.next() % UInt64(analytic.count))) }
        for i in indices.sorted() {
            let fd = (evaluate(i, step) - evaluate(i, -step)) / (2 * step)
            let a = Double(analytic[i])
            let err = abs(fd - a)
            #expect(err <= tolerance * max(1, abs(a)), "\(label)[\(i)]: analytic \(a), finite difference \(fd)",
                    sourceLocation: sourceLocation)
        }
    }
}

/// A straight chain of layers, for tests.
final class Chain {
    let layers: [Layer]
    init(_ layers: [Layer]) { self.layers = layers }

    func prepare(_ input: MemoryDescriptor) throws -> MemoryDescriptor {
        var d = input
        for l in layers { d = try l.prepare(input: d) }
        return d
    }

    func forward(_ x: Tensor) -> Tensor { layers.reduce(x) { $1.forward($0) } }

    func backward(_ dy: Tensor, _ request: GradientRequest = .all) -> Tensor? {
        var g = dy
        for l in layers.reversed() {
            guard let next = l.backward(g, request) else { return nil }
            g = next
        }
        return g
    }

    var parameters: [NamedParameter] {
        layers.enumerated().flatMap { i, l in l.parameters.prefixed("\(i)") }
    }
}
