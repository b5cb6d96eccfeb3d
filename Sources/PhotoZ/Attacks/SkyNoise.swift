/// Per-band sky noise σ of cutouts, estimated robustly from their border pixels.
///
/// A galaxy cutout is centred on its object; the outer ring of pixels is mostly sky. σ of a
/// band is 1.4826 × the median absolute deviation of that band's ring pixels from their median
/// (the Gaussian-equivalent σ, insensitive to the few pixels of a neighbour that fall in the
/// ring), in the images' flux unit. `--space sky-sigma` measures ε in units of this σ.
public enum SkyNoise {
    /// Width in pixels of the border ring used for an image of side `size`: S/16, at least 2.
    public static func ringWidth(imageSize size: Int) -> Int { max(2, size / 16) }

    /// σ of every band of every image: `images` holds n·bands·S·S flux values (NCHW); returns
    /// n·bands values, image-major. A band whose ring is constant gets σ = 0 (it cannot be
    /// perturbed in this space).
    public static func estimate(images: [Float], imageSize size: Int, bands: Int = 5) -> [Float] {
        let plane = size * size
        precondition(plane > 0 && images.count % (bands * plane) == 0, "images must hold n × \(bands) × \(size) × \(size) values")
        let ring = min(ringWidth(imageSize: size), size / 2)
        var indices: [Int] = []
        for y in 0..<size {
            for x in 0..<size where y < ring || y >= size - ring || x < ring || x >= size - ring { indices.append(y * size + x) }
        }
        var sigma = [Float](repeating: 0, count: images.count / plane)
        var values = [Float](repeating: 0, count: indices.count)
        images.withUnsafeBufferPointer { pixels in
            for p in sigma.indices {
                let base = p * plane
                for (k, i) in indices.enumerated() { values[k] = pixels[base + i] }
                sigma[p] = 1.4826 * medianAbsoluteDeviation(&values)
            }
        }
        return sigma
    }

    /// median(|v − median(v)|); reorders `values`.
    static func medianAbsoluteDeviation(_ values: inout [Float]) -> Float {
        let m = middle(&values)
        for i in values.indices { values[i] = abs(values[i] - m) }
        return middle(&values)
    }

    /// The median (mean of the two middle values for an even count); reorders `values`.
    private static func middle(_ values: inout [Float]) -> Float {
        values.sort()
        let n = values.count
        return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2])
    }
}
