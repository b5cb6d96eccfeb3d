import Foundation
import NeuralNet

/// A photo-z CNN: images (N, 5, 64, 64) + E(B−V) → logits over redshift bins or one redshift.
///
/// Usage per batch: `forward(images:ebv:)`, then `loss(redshifts:)`, then `backward(_:)`
/// (parameter gradients for training, the input gradient for attacks), then an optimizer
/// step over `parameters`. Buffers and primitives are built for the first batch size seen and
/// rebuilt only when it changes. Images are network inputs, i.e. already pixel-transformed.
/// Not thread-safe: one network per thread.
public final class PhotoZNetwork {
    public let architecture: Architecture
    public let head: Head
    public let bins: RedshiftBins
    /// How flux becomes network input (recorded in model files; applied by the caller).
    public let pixelTransform: PixelTransform
    public let bands: Int
    public let imageSize: Int
    public let engine: Engine
    /// Every trainable tensor, by path (`conv0.weight`, `i0.b1.conv.weight`, …, `out.bias`).
    public let parameters: [NamedParameter]
    /// A fixed power-of-two factor per band applied to the network input before the first
    /// layer during training (nil: none): it brings the bands' pixels (standard deviations
    /// 0.04–0.18 after the pixel transform on the simulated sky) to about unit scale, so that
    /// Adam's updates of the first convolution matter from the first steps (README "Training
    /// recipe"). Model files hold the weights with the scale folded into the first convolution
    /// (`withInputScaleFolded`), so every reader computes the same function on unscaled input.
    public let inputScale: [Float]?

    private let stages: NetworkStages
    private let flatten: FlattenAppend
    private let crossEntropy: SoftmaxCrossEntropyLoss
    private let meanSquaredError: MeanSquaredErrorLoss
    private(set) var batchSize = 0
    private var input: Tensor!              // (N, bands, S, S) plain
    private var scaledInput: Tensor?        // (N, bands, S, S) plain: input × inputScale per band
    private var lastOutput: Tensor?         // (N, K) plain
    private var outputGradient: Tensor!     // (N, K) plain, for a caller-supplied gradient

    /// Builds the network with freshly initialised parameters (deterministic for a seed).
    public init(architecture: Architecture, head: Head, bins: RedshiftBins = .standard,
                pixelTransform: PixelTransform = .default, bands: Int = 5, imageSize: Int = 64,
                seed: UInt64 = 0, inputScale: [Float]? = nil, engine: Engine? = nil) throws {
        precondition(imageSize % 8 == 0, "image size must be a multiple of 8, got \(imageSize)")
        precondition(inputScale.map { $0.count == bands && $0.allSatisfy { $0.isFinite && $0 > 0 && $0.significand == 1 } } ?? true,
                     "inputScale needs one positive power of two per band")
        self.inputScale = inputScale
        self.architecture = architecture
        self.head = head
        self.bins = bins
        self.pixelTransform = pixelTransform
        self.bands = bands
        self.imageSize = imageSize
        let engine = try engine ?? Engine()
        self.engine = engine
        let outputs = head == .classification ? bins.count : 1
        switch architecture {
        case .inception: stages = .inception(outputs: outputs, imageSize: imageSize, bands: bands, engine: engine)
        case .simple: stages = .simple(outputs: outputs, imageSize: imageSize, bands: bands, engine: engine)
        }
        flatten = FlattenAppend(engine: engine, label: "flatten")
        crossEntropy = SoftmaxCrossEntropyLoss(engine: engine)
        meanSquaredError = MeanSquaredErrorLoss(engine: engine)
        parameters = stages.features.parameters + stages.dense.parameters
        var generator = SplitMix64(seed: seed)
        for p in parameters { p.parameter.initialize(using: &generator) }
    }

    /// The number of outputs per image (bins, or 1 for regression).
    public var outputCount: Int { head == .classification ? bins.count : 1 }

    /// Floats per image in the `images` argument.
    public var valuesPerImage: Int { bands * imageSize * imageSize }

    /// Builds primitives and buffers for batches of `n` images (done by `forward` as needed).
    public func prepare(batchSize n: Int) throws {
        if n == batchSize { return }
        precondition(n > 0, "batch size must be positive")
        let inMD = MemoryDescriptor.plain([n, bands, imageSize, imageSize])
        let flat = try flatten.prepare(input: stages.features.prepare(input: inMD))
        _ = try stages.dense.prepare(input: flat)
        input = Tensor(inMD, engine: engine)
        scaledInput = inputScale == nil ? nil : Tensor(inMD, engine: engine)
        outputGradient = Tensor(shape: [n, outputCount], engine: engine)
        lastOutput = nil
        smoothedLossActive = false
        batchSize = n
    }

    /// Runs the network on N images (N·bands·S·S floats, NCHW, band-first) and N E(B−V) values.
    /// Returns the output (N, K) plain: logits (classification) or the redshift (regression).
    @discardableResult
    public func forward(images: [Float], ebv: [Float]) throws -> Tensor {
        precondition(images.count == ebv.count * valuesPerImage,
                     "\(images.count) image values for \(ebv.count) E(B-V) values (\(valuesPerImage) per image)")
        try prepare(batchSize: ebv.count)
        input.write(images)
        return forwardPrepared(ebv: ebv)
    }

    /// Runs the network on the images already in `inputTensor` (after `prepare(batchSize:)`).
    @discardableResult
    public func forwardPrepared(ebv: [Float]) -> Tensor {
        let features = stages.features.forward(scaledInput.map { scale(input, into: $0); return $0 } ?? input)
        let y = stages.dense.forward(flatten.forward(features, scalars: ebv))
        lastOutput = y
        return y
    }

    /// The network input buffer (N, bands, S, S) plain, for callers that fill it in place.
    public var inputTensor: Tensor {
        precondition(batchSize > 0, "call prepare(batchSize:) first")
        return input
    }

    /// The output tensor of the last forward pass, (N, K) plain.
    public var lastOutputTensor: Tensor? { lastOutput }

    /// The output of the last forward pass, row-major (N, K).
    public var output: [Float] {
        guard let lastOutput else { preconditionFailure("output requested before forward") }
        return lastOutput.read()
    }

    /// The loss of the last forward pass against spectroscopic redshifts (N values): softmax
    /// cross-entropy against each z's bin, or mean squared error on z. Also stores ∂loss/∂output
    /// for `backward`.
    public func loss(redshifts z: [Float]) -> Float {
        guard let y = lastOutput else { preconditionFailure("loss requested before forward") }
        smoothedLossActive = false
        switch head {
        case .classification: return crossEntropy(y, targets: z.map { bins.index(of: $0) })
        case .regression: return meanSquaredError(y, targets: z)
        }
    }

    /// The cross-entropy of the last forward pass against Gaussian soft targets: each z's target
    /// is a normal distribution of standard deviation `sigma` (in redshift) about z, integrated
    /// over the bins and renormalised. Training only: it tells the network that a neighbouring
    /// bin is nearly right, which one-hot targets over 180 bins of 0.0022 do not. Stores
    /// ∂loss/∂logits = (softmax − target)/N for `backward`. Classification head only.
    public func smoothedLoss(redshifts z: [Float], sigma: Double) -> Float {
        precondition(head == .classification && sigma > 0, "soft targets need the classification head and sigma > 0")
        guard let y = lastOutput else { preconditionFailure("loss requested before forward") }
        let k = bins.count, n = z.count
        precondition(y.shape == [n, k], "\(n) redshifts for outputs \(y.shape)")
        let p = SoftmaxCrossEntropyLoss.softmax(y)
        let edges = bins.edges
        var gradient = [Float](repeating: 0, count: n * k)
        var total = 0.0
        var target = [Double](repeating: 0, count: k)
        for i in 0..<n {
            // Φ((edge − z)/σ) differences: the share of the Gaussian in each bin (erf-based CDF).
            let zi = Double(z[i])
            func cdf(_ x: Double) -> Double { 0.5 * erfc(-(x - zi) / (sigma * 2.0.squareRoot())) }
            var previous = cdf(edges[0]), sum = 0.0
            for j in 0..<k {
                let next = cdf(edges[j + 1])
                target[j] = next - previous
                sum += target[j]
                previous = next
            }
            if sum < 1e-12 { target = [Double](repeating: 0, count: k); target[bins.index(of: z[i])] = 1; sum = 1 }
            for j in 0..<k {
                let q = target[j] / sum, pj = Double(p[i * k + j])
                if q > 0 { total -= q * log(max(pj, 1e-30)) }
                gradient[i * k + j] = Float((pj - q) / Double(n))
            }
        }
        outputGradient.write(gradient)
        smoothedLossActive = true
        return Float(total / Double(n))
    }

    /// True after `smoothedLoss`: the loss gradient is in `outputGradient`.
    private var smoothedLossActive = false

    /// ∂loss/∂output from the last `loss(redshifts:)` or `smoothedLoss`, (N, K) plain.
    public var lastLossGradient: Tensor? {
        if smoothedLossActive { return outputGradient }
        return head == .classification ? crossEntropy.gradient : meanSquaredError.gradient
    }

    /// Back-propagates the gradient of the last `loss(redshifts:)`. Returns ∂loss/∂images
    /// (N·bands·S·S floats, NCHW) when `request` contains `.input`.
    @discardableResult
    public func backward(_ request: GradientRequest = .parameters) -> [Float]? {
        guard let g = lastLossGradient, g.shape == [batchSize, outputCount] else { preconditionFailure("backward before loss(redshifts:)") }
        return backward(from: g, request)?.read()
    }

    /// Back-propagates a caller-supplied ∂L/∂output (N·K floats, row-major), e.g.
    /// ∂(PDF mean)/∂logits for an attack on the point estimate.
    @discardableResult
    public func backward(outputGradient values: [Float], _ request: GradientRequest = .input) -> [Float]? {
        smoothedLossActive = false
        outputGradient.write(values)
        return backward(from: outputGradient, request)?.read()
    }

    /// Called during a backward pass that computes parameter gradients with the indices in
    /// `parameters` of those whose gradients have just become final (after each layer of the
    /// dense stage, then of the convolutional stage; every index once per pass, last layers
    /// first), so that a data-parallel trainer can start averaging them across ranks while the
    /// earlier layers still run backward. Nil: nothing is called.
    public var onGradientsFinal: ((Range<Int>) -> Void)? {
        didSet {
            guard let onGradientsFinal else {
                stages.features.afterChildBackward = nil
                stages.dense.afterChildBackward = nil
                return
            }
            // Each child's parameters are contiguous in `parameters` (features, then dense).
            func ranges(_ stage: Sequential, from start: Int) -> [Range<Int>] {
                var next = start
                return stage.children.map { child in
                    defer { next += child.layer.parameters.count }
                    return next..<(next + child.layer.parameters.count)
                }
            }
            let features = ranges(stages.features, from: 0)
            let dense = ranges(stages.dense, from: stages.features.parameters.count)
            stages.features.afterChildBackward = { if !features[$0].isEmpty { onGradientsFinal(features[$0]) } }
            stages.dense.afterChildBackward = { if !dense[$0].isEmpty { onGradientsFinal(dense[$0]) } }
        }
    }

    /// Back-propagates `dy` (N, K) plain; returns ∂L/∂input as a tensor (plain NCHW).
    public func backward(from dy: Tensor, _ request: GradientRequest) -> Tensor? {
        precondition(lastOutput != nil, "backward before forward")
        var inner = request
        inner.insert(.input)
        guard let dFlat = stages.dense.backward(dy, inner) else { return nil }
        guard let dInput = stages.features.backward(flatten.backward(dFlat), request) else { return nil }
        if scaledInput != nil { scale(dInput, into: dInput) }  // ∂(s·x)/∂x = s
        return dInput
    }

    /// Runs `body` with `inputScale` folded into the first convolution's weights (weight[o, b] ×
    /// scale[b]), so that `parameters` compute on unscaled input what this network computes on
    /// scaled input, then restores the weights bit for bit. Powers of two make the folding exact
    /// (W·s)·x = W·(s·x) in float32, so a saved file predicts exactly as the trained network.
    public func withInputScaleFolded<T>(_ body: () throws -> T) rethrows -> T {
        guard let inputScale else { return try body() }
        let weight = parameters[0].parameter
        let original = weight.value.read()
        weight.value.write(Self.folding(original, shape: weight.shape, scale: inputScale, bands: bands))
        weight.didChange()
        defer { weight.value.write(original); weight.didChange() }
        return try body()
    }

    /// Turns the folded first-convolution weights read from a model file back into this
    /// network's (weight[o, b] / scale[b], exact for powers of two). For resuming training.
    func unfoldInputScale() {
        guard let inputScale else { return }
        let weight = parameters[0].parameter
        weight.value.write(Self.folding(weight.value.read(), shape: weight.shape, scale: inputScale.map { 1 / $0 }, bands: bands))
        weight.didChange()
    }

    /// weight (O, bands, KH, KW) with input channel b multiplied by factor[b].
    private static func folding(_ weight: [Float], shape: [Int], scale factor: [Float], bands: Int) -> [Float] {
        precondition(shape.count == 4 && shape[1] == bands, "the first parameter must be the first convolution's weight (O, \(bands), KH, KW), found \(shape)")
        let kernel = shape[2] * shape[3]
        var out = weight
        for o in 0..<shape[0] {
            for b in 0..<bands {
                let start = (o * bands + b) * kernel
                for i in start..<(start + kernel) { out[i] = weight[i] * factor[b] }
            }
        }
        return out
    }

    /// target = source × inputScale per band; both plain (N, bands, S, S), may be the same tensor.
    private func scale(_ source: Tensor, into target: Tensor) {
        guard let inputScale else { return }
        precondition(source.descriptor.isPlain && target.descriptor.isPlain && source.shape == target.shape,
                     "scaling needs plain tensors of one shape: \(source.descriptor), \(target.descriptor)")
        let plane = imageSize * imageSize
        let from = source.pointer, to = target.pointer
        for image in 0..<(source.count / (bands * plane)) {
            for band in 0..<bands {
                let s = inputScale[band], offset = (image * bands + band) * plane
                for i in offset..<(offset + plane) { to[i] = from[i] * s }
            }
        }
    }

    /// ∂L/∂E(B−V) for each image after the last backward pass.
    public var ebvGradient: [Float] { flatten.scalarGradient }
}
