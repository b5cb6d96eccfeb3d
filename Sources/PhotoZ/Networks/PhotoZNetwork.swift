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

    private let stages: NetworkStages
    private let flatten: FlattenAppend
    private let crossEntropy: SoftmaxCrossEntropyLoss
    private let meanSquaredError: MeanSquaredErrorLoss
    private(set) var batchSize = 0
    private var input: Tensor!              // (N, bands, S, S) plain
    private var lastOutput: Tensor?         // (N, K) plain
    private var outputGradient: Tensor!     // (N, K) plain, for a caller-supplied gradient

    /// Builds the network with freshly initialised parameters (deterministic for a seed).
    public init(architecture: Architecture, head: Head, bins: RedshiftBins = .standard,
                pixelTransform: PixelTransform = .default, bands: Int = 5, imageSize: Int = 64,
                seed: UInt64 = 0, engine: Engine? = nil) throws {
        precondition(imageSize % 8 == 0, "image size must be a multiple of 8, got \(imageSize)")
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
        outputGradient = Tensor(shape: [n, outputCount], engine: engine)
        lastOutput = nil
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
        let features = stages.features.forward(input)
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
        switch head {
        case .classification: return crossEntropy(y, targets: z.map { bins.index(of: $0) })
        case .regression: return meanSquaredError(y, targets: z)
        }
    }

    /// ∂loss/∂output from the last `loss(redshifts:)`, (N, K) plain.
    public var lastLossGradient: Tensor? {
        head == .classification ? crossEntropy.gradient : meanSquaredError.gradient
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
        return stages.features.backward(flatten.backward(dFlat), request)
    }

    /// ∂L/∂E(B−V) for each image after the last backward pass.
    public var ebvGradient: [Float] { flatten.scalarGradient }
}
