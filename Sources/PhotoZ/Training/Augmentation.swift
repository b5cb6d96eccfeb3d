/// The dihedral augmentations of a square image: rotation by k·90° then an optional flip.
///
/// Galaxy images have no preferred orientation, so these eight symmetries are exact (the
/// recipe of Lin et al. 2022: random k·90° rotations and flips).
public struct Dihedral: Sendable, Equatable {
    /// Quarter turns, counter-clockwise in (x, y) with y up, 0...3.
    public var quarterTurns: Int
    /// Mirror x after the rotation.
    public var flip: Bool

    public init(quarterTurns: Int, flip: Bool) {
        self.quarterTurns = quarterTurns & 3
        self.flip = flip
    }

    public static let identity = Dihedral(quarterTurns: 0, flip: false)

    /// A uniformly random element of the group.
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> Dihedral {
        let r = generator.next()
        return Dihedral(quarterTurns: Int(r & 3), flip: (r >> 2) & 1 == 1)
    }

    /// Applies the transform to `planes` square planes of side `size`, from `source` into `target`.
    public func apply(_ source: UnsafeBufferPointer<Float>, into target: UnsafeMutableBufferPointer<Float>, size: Int, planes: Int) {
        precondition(source.count == planes * size * size && target.count == source.count, "buffers must hold planes × size × size")
        let last = size - 1
        for p in 0..<planes {
            let base = p * size * size
            for y in 0..<size {
                for x in 0..<size {
                    // Output pixel (x, y) comes from the input pixel the inverse transform maps it to.
                    let xf = flip ? last - x : x
                    var sx = xf, sy = y
                    switch quarterTurns {
                    case 1: sx = y; sy = last - xf
                    case 2: sx = last - xf; sy = last - y
                    case 3: sx = last - y; sy = xf
                    default: break
                    }
                    target[base + y * size + x] = source[base + sy * size + sx]
                }
            }
        }
    }
}
