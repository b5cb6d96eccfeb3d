/// How a perturbation δ, measured in an attack's space, becomes network input, and how a
/// gradient with respect to the network input becomes one with respect to δ.
///
/// - `.input`: x = x₀ + δ with x₀ = T(f₀) the clean network input; ∂x/∂δ = 1.
/// - `.skySigma`: x = T(f₀ + σ·δ) with σ the sky noise of the image's band (`SkyNoise`), so δ
///   is in units of σ; ∂x/∂δ = T′(f₀ + σ·δ)·σ.
/// The adversarial image in flux units is T⁻¹(x₀ + δ), or f₀ + σ·δ.
struct PerturbationMap {
    let space: AttackSpace
    let transform: PixelTransform
    /// Values of one image (bands·S·S) and of one band plane (S·S).
    let valuesPerImage: Int
    let plane: Int
    /// x₀, (n, bands, S, S).
    let cleanInput: [Float]
    /// f₀, (n, bands, S, S); empty when built from network input.
    let cleanFlux: [Float]
    /// σ per (image, band), (n, bands); empty in input space.
    let sigma: [Float]

    /// A map for flux images (n·bands·S·S values).
    init(flux: [Float], imageSize: Int, bands: Int = 5, space: AttackSpace, transform: PixelTransform) {
        self.space = space
        self.transform = transform
        plane = imageSize * imageSize
        valuesPerImage = bands * plane
        precondition(flux.count % valuesPerImage == 0, "flux must hold n × \(bands) × \(imageSize)² values")
        cleanFlux = flux
        var x = flux
        transform.apply(&x)
        cleanInput = x
        sigma = space == .skySigma ? SkyNoise.estimate(images: flux, imageSize: imageSize, bands: bands) : []
    }

    /// An input-space map for network inputs (used by adversarial training, whose batches are transformed already).
    init(input: [Float], imageSize: Int, bands: Int = 5, transform: PixelTransform) {
        space = .input
        self.transform = transform
        plane = imageSize * imageSize
        valuesPerImage = bands * plane
        precondition(input.count % valuesPerImage == 0, "input must hold n × \(bands) × \(imageSize)² values")
        cleanInput = input
        cleanFlux = []
        sigma = []
    }

    var count: Int { cleanInput.count / valuesPerImage }

    /// The network input for perturbation `delta` (same layout as the images).
    func input(for delta: [Float]) -> [Float] {
        precondition(delta.count == cleanInput.count, "perturbation of \(delta.count) values for \(cleanInput.count) image values")
        var x = [Float](repeating: 0, count: delta.count)
        switch space {
        case .input:
            for i in x.indices { x[i] = cleanInput[i] + delta[i] }
        case .skySigma:
            for i in x.indices { x[i] = transform.forward(cleanFlux[i] + sigma[i / plane] * delta[i]) }
        }
        return x
    }

    /// Turns ∂J/∂x into ∂J/∂δ in place, at perturbation `delta`.
    func pullBack(_ gradient: inout [Float], at delta: [Float]) {
        guard space == .skySigma else { return }
        for i in gradient.indices {
            let s = sigma[i / plane]
            gradient[i] *= transform.derivative(cleanFlux[i] + s * delta[i]) * s
        }
    }

    /// The adversarial images in flux units and the perturbation in flux units (adversarial − clean).
    /// Where δ is zero the clean flux is kept exactly (no round trip through the transform).
    func flux(for delta: [Float]) -> (images: [Float], perturbation: [Float]) {
        precondition(!cleanFlux.isEmpty, "flux(for:) needs a map built from flux images")
        var images = cleanFlux
        for i in images.indices where delta[i] != 0 {
            switch space {
            case .input: images[i] = transform.inverse(cleanInput[i] + delta[i])
            case .skySigma: images[i] = cleanFlux[i] + sigma[i / plane] * delta[i]
            }
        }
        var perturbation = images
        for i in perturbation.indices { perturbation[i] -= cleanFlux[i] }
        return (images, perturbation)
    }
}
