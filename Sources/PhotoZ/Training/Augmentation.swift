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
        // Output pixel (x, y) comes from the input pixel the inverse transform maps it to,
        // which moves along a row or a column of the input: source = start(y) + x · step.
        let last = size - 1
        let step: Int
        let start: (Int) -> Int
        switch (quarterTurns, flip) {
        case (0, false): step = 1; start = { y in y * size }
        case (0, true): step = -1; start = { y in y * size + last }
        case (1, false): step = -size; start = { y in last * size + y }
        case (1, true): step = size; start = { y in y }
        case (2, false): step = -1; start = { y in (last - y) * size + last }
        case (2, true): step = 1; start = { y in (last - y) * size }
        case (3, false): step = size; start = { y in last - y }
        default: step = -size; start = { y in last * size + last - y }
        }
        let src = source.baseAddress!, dst = target.baseAddress!
        for p in 0..<planes {
            let base = p * size * size
            for y in 0..<size {
                var from = src + base + start(y)
                let row = dst + base + y * size
                for x in 0..<size {
                    row[x] = from.pointee
                    from += step
                }
            }
        }
    }
}
