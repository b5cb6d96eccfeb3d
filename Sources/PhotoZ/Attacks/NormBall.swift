import Foundation
import NeuralNet

/// Steps, projections and random starts in an L∞ or L2 ball of radius ε, per image.
///
/// Perturbations are stored like the images: `valuesPerImage` consecutive values per image.
/// L∞ steps move along sign(g) (sign(0) = 0, as PyTorch's `sign`) and project by clipping;
/// L2 steps move along g/‖g‖₂ of each image and project by rescaling an image's perturbation
/// whose norm exceeds ε.
struct NormBall {
    let norm: AttackNorm
    let epsilon: Float
    let valuesPerImage: Int

    /// δ += α·direction(g), per image.
    func step(_ delta: inout [Float], along gradient: [Float], size alpha: Float) {
        precondition(delta.count == gradient.count, "perturbation and gradient differ in size")
        switch norm {
        case .linf:
            for i in delta.indices {
                let g = gradient[i]
                delta[i] += g > 0 ? alpha : g < 0 ? -alpha : 0
            }
        case .l2:
            for image in 0..<(delta.count / valuesPerImage) {
                let range = image * valuesPerImage..<(image + 1) * valuesPerImage
                let length = Self.length(gradient[range])
                guard length > 0 else { continue }
                let scale = alpha / length
                for i in range { delta[i] += scale * gradient[i] }
            }
        }
    }

    /// Projects δ onto the ball, per image.
    func project(_ delta: inout [Float]) {
        switch norm {
        case .linf:
            for i in delta.indices { delta[i] = min(max(delta[i], -epsilon), epsilon) }
        case .l2:
            for image in 0..<(delta.count / valuesPerImage) {
                let range = image * valuesPerImage..<(image + 1) * valuesPerImage
                let length = Self.length(delta[range])
                guard length > epsilon else { continue }
                let scale = epsilon / length
                for i in range { delta[i] *= scale }
            }
        }
    }

    /// A random point of the ball for each of `count` images: uniform in the ε-box (L∞), or a
    /// uniformly random direction at a radius uniform in [0, ε] (L2, as torchattacks' PGDL2).
    func randomStart(count: Int, using generator: inout SplitMix64) -> [Float] {
        var delta = [Float](repeating: 0, count: count * valuesPerImage)
        switch norm {
        case .linf:
            for i in delta.indices { delta[i] = Float(generator.uniform(-Double(epsilon), Double(epsilon))) }
        case .l2:
            for image in 0..<count {
                let range = image * valuesPerImage..<(image + 1) * valuesPerImage
                for i in range { delta[i] = Self.gaussian(&generator) }
                let length = Self.length(delta[range])
                let radius = Float(generator.uniform(0, 1)) * epsilon
                for i in range { delta[i] *= length > 0 ? radius / length : 0 }
            }
        }
        return delta
    }

    /// The norm of each image's perturbation.
    func norms(_ delta: [Float]) -> [Float] {
        (0..<(delta.count / valuesPerImage)).map { image in
            let range = image * valuesPerImage..<(image + 1) * valuesPerImage
            switch norm {
            case .linf: return delta[range].reduce(0) { max($0, abs($1)) }
            case .l2: return Self.length(delta[range])
            }
        }
    }

    /// ‖v‖₂, accumulated in double.
    static func length(_ v: ArraySlice<Float>) -> Float {
        var s = 0.0
        for x in v { s += Double(x) * Double(x) }
        return Float(s.squareRoot())
    }

    /// A standard normal deviate (Box–Muller).
    static func gaussian(_ g: inout SplitMix64) -> Float {
        let u = max(g.uniform(0, 1), 1e-300), v = g.uniform(0, 1)
        return Float((-2 * log(u)).squareRoot() * cos(2 * Double.pi * v))
    }
}
