import Foundation
import NeuralNet
import PhotoZData
import Testing
@testable import PhotoZ

@Suite("Attacks")
struct AttackTests {
    /// ∂loss/∂x at the network input, and the indices of its largest components.
    private func inputGradient(_ network: PhotoZNetwork, _ x: [Float], _ b: ShardRows) throws -> (g: [Float], top: [Int]) {
        try network.forward(images: x, ebv: b.ebv)
        _ = network.loss(redshifts: b.zSpec)
        let g = try #require(network.backward(.input))
        let top = g.indices.sorted { abs(g[$0]) > abs(g[$1]) }.prefix(12)
        return (g, Array(top))
    }

    @Test("FGSM's perturbation is ε·sign(∇ₓL), the gradient matching finite differences", arguments: Head.allCases)
    func fgsmIsSignOfGradient(head: Head) throws {
        let network = try AttackFixture.network(head)
        let b = AttackFixture.batch(2)
        var x = b.images
        network.pixelTransform.apply(&x)
        let (g, top) = try inputGradient(network, x, b)
        // The gradient the attack follows is the true one: finite differences on the largest components.
        func loss(_ v: [Float]) throws -> Double {
            try network.forward(images: v, ebv: b.ebv)
            return Double(network.loss(redshifts: b.zSpec))
        }
        // Per component, central differences in float32 around ReLU and max-pool kinks agree to
        // ~5 % at best (rounding of the loss below, kinks above a step of 1e-2): the sign must match
        // and the size within 10 %. Along the FGSM direction sign(g), where the components add up,
        // the directional derivative must equal ‖g‖₁ within 1 % (a step of 1e-4: the error falls
        // linearly with the step, 7 % at 3e-3, 0.2 % at 1e-4).
        let h: Float = 1e-2
        for i in top {
            var up = x, down = x
            up[i] += h
            down[i] -= h
            let fd = (try loss(up) - loss(down)) / Double(2 * h)
            #expect(abs(fd - Double(g[i])) <= 0.1 * abs(Double(g[i])), "∂L/∂x[\(i)]: backward \(g[i]), finite difference \(fd)")
            #expect((fd > 0) == (g[i] > 0), "sign of ∂L/∂x[\(i)]")
        }
        let t: Float = 1e-4
        let direction = g.map { Float($0 > 0 ? 1 : $0 < 0 ? -1 : 0) }
        let along = (try loss(zip(x, direction).map { $0 + t * $1 }) - loss(zip(x, direction).map { $0 - t * $1 })) / Double(2 * t)
        let l1 = g.reduce(0.0) { $0 + Double(abs($1)) }
        #expect(abs(along - l1) <= 0.01 * l1, "directional derivative along sign(g): \(along), ‖g‖₁ = \(l1)")
        let epsilon: Float = 0.01
        let result = try Attack(AttackConfiguration(method: .fgsm, epsilon: epsilon))
            .perturb(flux: b.images, ebv: b.ebv, zSpec: b.zSpec, network: network)
        for i in g.indices {
            let expected: Float = g[i] > 0 ? epsilon : g[i] < 0 ? -epsilon : 0
            #expect(result.delta[i] == expected, "δ[\(i)] = \(result.delta[i]), ε·sign(g) = \(expected)")
            if result.delta[i] != expected { break }
        }
        // The flux images map back to x + δ through the pixel transform.
        var back = result.images
        network.pixelTransform.apply(&back)
        let worst = back.indices.map { abs(back[$0] - x[$0] - result.delta[$0]) }.max()!
        #expect(worst < 1e-4, "T(adversarial flux) − (x + δ) up to \(worst)")
        #expect(try AttackFixture.loss(network, flux: result.images, ebv: b.ebv, z: b.zSpec) > AttackFixture.loss(network, flux: b.images, ebv: b.ebv, z: b.zSpec))
    }

    @Test("In sky-σ space FGSM moves each flux pixel by ε·σ_band along the sign of ∂L/∂flux")
    func fgsmSkySigma() throws {
        let network = try AttackFixture.network()
        let b = AttackFixture.batch(2, seed: 5)
        let sigma = SkyNoise.estimate(images: b.images, imageSize: AttackFixture.size)
        var x = b.images
        network.pixelTransform.apply(&x)
        let (g, top) = try inputGradient(network, x, b)
        let epsilon: Float = 0.5
        var c = AttackConfiguration(method: .fgsm, epsilon: epsilon)
        c.space = .skySigma
        let result = try Attack(c).perturb(flux: b.images, ebv: b.ebv, zSpec: b.zSpec, network: network)
        let plane = AttackFixture.size * AttackFixture.size
        for i in top {
            // ∂L/∂flux = ∂L/∂x · T′(flux) has the sign of ∂L/∂x (T is increasing).
            let s = sigma[i / plane]
            let expected = epsilon * s * (g[i] > 0 ? 1 : -1)
            #expect(abs(result.perturbation[i] - expected) <= 1e-4 * max(1, abs(b.images[i])), "pixel \(i): \(result.perturbation[i]) vs ε·σ·sign = \(expected)")
        }
        let bound = result.perturbation.indices.map { abs(result.perturbation[$0]) / max(sigma[$0 / plane], 1e-12) }.max()!
        #expect(bound <= epsilon * 1.0001)
    }

    @Test("BIM and PGD stay in the ε-ball and raise the loss", arguments: [AttackMethod.bim, .pgd], [AttackNorm.linf, .l2])
    func iterativeAttacks(method: AttackMethod, norm: AttackNorm) throws {
        for head in Head.allCases {
            for space in AttackSpace.allCases {
                let network = try AttackFixture.network(head, seed: 11)
                let b = AttackFixture.batch(6, seed: 3)
                var c = AttackConfiguration(method: method, epsilon: space == .input ? (norm == .linf ? 0.02 : 0.5) : (norm == .linf ? 0.5 : 10))
                c.norm = norm
                c.space = space
                c.steps = 5
                c.seed = 9
                let result = try Attack(c).perturb(flux: b.images, ebv: b.ebv, zSpec: b.zSpec, network: network)
                let norms = NormBall(norm: norm, epsilon: c.epsilon, valuesPerImage: network.valuesPerImage).norms(result.delta)
                #expect(norms.allSatisfy { $0 <= c.epsilon * 1.0001 }, "\(method) \(norm) \(space) \(head): norms \(norms) above ε = \(c.epsilon)")
                let clean = try AttackFixture.loss(network, flux: b.images, ebv: b.ebv, z: b.zSpec)
                let attacked = try AttackFixture.loss(network, flux: result.images, ebv: b.ebv, z: b.zSpec)
                #expect(attacked > clean, "\(method) \(norm) \(space) \(head): loss \(clean) → \(attacked)")
            }
        }
    }

    @Test("L2 steps move by α along g/‖g‖ per image; projection rescales to ε only outside the ball")
    func l2StepAndProjection() {
        let ball = NormBall(norm: .l2, epsilon: 1, valuesPerImage: 2)
        var delta: [Float] = [0, 0, 0.1, 0]
        ball.step(&delta, along: [3, 4, 0, -2], size: 0.5)
        #expect(abs(delta[0] - 0.3) < 1e-6 && abs(delta[1] - 0.4) < 1e-6)
        #expect(abs(delta[2] - 0.1) < 1e-6 && abs(delta[3] + 0.5) < 1e-6)
        var outside: [Float] = [3, 4, 0.6, 0.8]
        ball.project(&outside)
        #expect(abs(outside[0] - 0.6) < 1e-6 && abs(outside[1] - 0.8) < 1e-6, "(3, 4) projects to (0.6, 0.8)")
        #expect(outside[2] == 0.6 && outside[3] == 0.8, "a point on the sphere is unchanged")
        var g = SplitMix64(seed: 1)
        let start = ball.randomStart(count: 50, using: &g)
        #expect(ball.norms(start).allSatisfy { $0 <= 1.0001 })
        let box = NormBall(norm: .linf, epsilon: 0.1, valuesPerImage: 2)
        var v: [Float] = [0.05, -0.3]
        box.step(&v, along: [1, 0], size: 0.1)
        box.project(&v)
        #expect(v == [0.1, -0.1])
    }

    @Test("L2 FGSM is ε·g/‖g‖ per image")
    func l2FGSM() throws {
        let network = try AttackFixture.network()
        let b = AttackFixture.batch(2, seed: 8)
        var x = b.images
        network.pixelTransform.apply(&x)
        let (g, _) = try inputGradient(network, x, b)
        var c = AttackConfiguration(method: .fgsm, epsilon: 0.3)
        c.norm = .l2
        let result = try Attack(c).perturb(flux: b.images, ebv: b.ebv, zSpec: b.zSpec, network: network)
        let p = network.valuesPerImage
        for image in 0..<2 {
            let length = NormBall.length(g[image * p..<(image + 1) * p])
            for i in image * p..<(image + 1) * p where g[i] != 0 {
                #expect(abs(result.delta[i] - 0.3 * g[i] / length) < 1e-6)
            }
        }
    }

    @Test("The zmean loss and a targeted shift move the point estimate as asked", arguments: Head.allCases)
    func zmeanAndTargeted(head: Head) throws {
        let network = try AttackFixture.network(head, seed: 4)
        let b = AttackFixture.batch(6, seed: 6)
        func estimates(_ flux: [Float]) throws -> [Float] {
            var x = flux
            network.pixelTransform.apply(&x)
            try network.forward(images: x, ebv: b.ebv)
            return network.pointEstimates()
        }
        let clean = try estimates(b.images)
        var c = AttackConfiguration(method: .pgd, epsilon: 0.3)
        c.loss = .zmean
        c.steps = 10
        let away = try estimates(try Attack(c).perturb(flux: b.images, ebv: b.ebv, zSpec: b.zSpec, network: network).images)
        func meanDistance(_ z: [Float], _ t: [Float]) -> Float { zip(z, t).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Float(z.count) }
        #expect(meanDistance(away, b.zSpec) > meanDistance(clean, b.zSpec), "zmean: estimates should move away from z_spec")
        c.targetDeltaZ = 0.1
        let target = b.zSpec.map { $0 + 0.1 * (1 + $0) }
        let toward = try estimates(try Attack(c).perturb(flux: b.images, ebv: b.ebv, zSpec: b.zSpec, network: network).images)
        #expect(meanDistance(toward, target) < meanDistance(clean, target), "targeted: estimates should move towards z_spec + 0.1(1 + z_spec)")
    }

    @Test("Sky σ from the border ring: 1.4826·MAD, unaffected by the central object")
    func skyNoise() {
        let b = AttackFixture.batch(4, seed: 2)
        let sigma = SkyNoise.estimate(images: b.images, imageSize: AttackFixture.size)
        #expect(sigma.count == 20)
        for (k, s) in sigma.enumerated() {
            let truth = AttackFixture.sky[k % 5]
            #expect(abs(s - truth) < 0.3 * truth, "image \(k / 5) band \(k % 5): σ \(s), truth \(truth)")
        }
        #expect(SkyNoise.estimate(images: [Float](repeating: 3, count: 5 * 256), imageSize: 16) == [Float](repeating: 0, count: 5))
    }

    @Test("Bad settings are refused with the option named")
    func badSettings() {
        #expect(throws: PhotoZDataError.self) { try Attack(AttackConfiguration(method: .fgsm, epsilon: 0)) }
        #expect(throws: PhotoZDataError.self) { try Attack(AttackConfiguration(method: .fgsm, epsilon: -0.1)) }
        var c = AttackConfiguration(method: .pgd, epsilon: 0.1)
        c.steps = 0
        do { _ = try Attack(c); Issue.record("steps 0 accepted") } catch { #expect("\(error)".contains("--steps")) }
        c.steps = 3
        c.stepSize = .nan
        #expect(throws: PhotoZDataError.self) { try Attack(c) }
        #expect(throws: PhotoZDataError.self) { try Attack(AttackConfiguration(method: .universal, epsilon: 0.1)) }
    }
}
