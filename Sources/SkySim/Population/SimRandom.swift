import Foundation

/// The independent random streams of one simulated object.
///
/// Each object draws its truth, its neighbours and its pixel noise from separate streams, so
/// that turning noise or neighbours off leaves the galaxy itself unchanged.
enum RandomStream: UInt64, Sendable {
    case truth = 1
    case neighbours = 2
    case noise = 3
}

/// A fast seedable generator (xoshiro256**, Blackman & Vigna 2018) for one object and stream.
///
/// Seeded from `(seed, index, stream)` through SplitMix64, so object `i` is the same whatever
/// the number of threads or the order in which objects are simulated.
struct SimRandom: RandomNumberGenerator {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    private var spareNormal: Double?

    /// Creates the stream `stream` of object `index` for the run seed `seed`.
    init(seed: UInt64, index: Int, stream: RandomStream) {
        var state = seed ^ (UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15)
            ^ (stream.rawValue &* 0xD1B5_4A32_D192_ED03)
        func splitMix() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A uniform deviate in [0, 1) with 53 random bits.
    mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform deviate in [a, b).
    mutating func uniform(_ a: Double, _ b: Double) -> Double {
        a + (b - a) * uniform()
    }

    /// A standard normal deviate (Box–Muller; the second value of each pair is kept).
    mutating func normal() -> Double {
        if let spare = spareNormal {
            spareNormal = nil
            return spare
        }
        var u1 = uniform()
        while u1 <= 0 { u1 = uniform() }
        let u2 = uniform()
        let radius = (-2 * log(u1)).squareRoot()
        spareNormal = radius * sin(2 * .pi * u2)
        return radius * cos(2 * .pi * u2)
    }

    /// A Poisson deviate of mean `mean` (Knuth's product method; fine for the small means used here).
    mutating func poisson(_ mean: Double) -> Int {
        precondition(mean >= 0 && mean < 50, "poisson mean \(mean) outside the range this method serves")
        let limit = exp(-mean)
        var product = uniform()
        var count = 0
        while product > limit {
            count += 1
            product *= uniform()
        }
        return count
    }

    /// A normal deviate of mean `mean` and deviation `sigma`, clipped to [low, high].
    mutating func clippedNormal(_ mean: Double, _ sigma: Double, _ low: Double, _ high: Double) -> Double {
        min(high, max(low, mean + sigma * normal()))
    }
}
