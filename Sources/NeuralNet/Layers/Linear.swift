import CDNNL

/// Fully connected layer y = x·Wᵀ + b on (N, I) inputs, with plain (N, O) outputs.
///
/// float32 weights (O, I) are used in place when oneDNN has a fast kernel for the plain layout (the
/// big dense layers of the Inception network are memory-bound: no copy is made of them).
/// At `Precision.bf16` the primitives take bf16 input, weights (a bf16 copy of the float32
/// weights in the layout oneDNN chooses, refreshed when they change) and output gradient, and produce float32 outputs and
/// weight gradients; the input gradient has the input's type.
public final class Linear: Layer {
    public let inputFeatures: Int
    public let outputFeatures: Int
    /// (O, I)
    public let weight: Parameter
    /// (O)
    public let bias: Parameter
    let engine: Engine
    public var label: String

    private var prepared: MemoryDescriptor?
    private var forwardPrimitive: Primitive!
    private var backwardData: Primitive!
    private var backwardWeights: Primitive!
    private var weightForward: ParameterView!
    private var weightBackward: ParameterView!
    private var weightGradient: GradientSink!
    private var output: Tensor!        // (N, O) plain
    private var diffInput: Tensor!     // (N, I), x's layout
    private var savedInput: Tensor?    // x in the operand type
    private var inputIn: Relayout!     // x -> operand type (bf16: converts; f32: identity)
    private var gradientIn: Relayout!  // dy -> operand type

    public init(inputFeatures: Int, outputFeatures: Int, weightInitializer: Initializer? = nil,
                biasInitializer: Initializer = .constant(0.1), engine: Engine, label: String = "linear") {
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        self.engine = engine
        self.label = label
        weight = Parameter(shape: [outputFeatures, inputFeatures],
                           initializer: weightInitializer ?? .glorotUniform(fanIn: inputFeatures, fanOut: outputFeatures),
                           engine: engine)
        bias = Parameter(shape: [outputFeatures], initializer: biasInitializer, engine: engine)
    }

    public var parameters: [NamedParameter] {
        [NamedParameter(path: "weight", parameter: weight), NamedParameter(path: "bias", parameter: bias)]
    }

    public func prepare(input: MemoryDescriptor) throws -> MemoryDescriptor {
        let n = input.dims[0]
        let outMD = MemoryDescriptor.plain([n, outputFeatures])
        if let prepared, prepared == input { return outMD }
        precondition(input.dims == [n, inputFeatures], "\(label): input \(input), expected (N, \(inputFeatures))")
        let name = "\(label) \(n)x\(inputFeatures)->\(outputFeatures)"
        let operand = engine.precision.operandType
        let plainW = weight.value.descriptor, b = bias.value.descriptor
        let inputOp = input.with(type: operand), outOp = outMD.with(type: operand)
        // float32: the plain weights in place (no copy of fc0's 24 M values). bf16: the weights
        // are a bf16 copy anyway, so let oneDNN choose its layout: it then picks
        // `brgemm:avx512_core_bf16` (blocked weights) instead of `x64:gemm:jit` on plain ones.
        let weightChoices = operand == dnnl_bf16 ? [.any(weight.shape, type: operand), plainW.with(type: operand)]
            : [plainW.with(type: operand), .any(weight.shape, type: operand)]
        // Prefer the plain weights; fall back to a layout of oneDNN's choice if only a reference
        // kernel exists for them.
        let f = try Self.build(name: "\(name) forward", engine: engine, weights: weightChoices) { w in
            var s = inputOp.md, w = w.md, bb = b.md, d = outMD.md
            var op = dnnl_inner_product_desc_t()
            try dnnlCheck(dnnl_inner_product_forward_desc_init(&op, dnnl_forward_training, &s, &w, &bb, &d),
                          "dnnl_inner_product_forward_desc_init", "describing \(name)")
            return try Primitive(op: &op, engine: engine, name: "\(name) forward")
        }
        let bd = try Self.build(name: "\(name) backward data", engine: engine, weights: weightChoices) { w in
            var s = input.md, w = w.md, d = outOp.md
            var op = dnnl_inner_product_desc_t()
            try dnnlCheck(dnnl_inner_product_backward_data_desc_init(&op, &s, &w, &d),
                          "dnnl_inner_product_backward_data_desc_init", "describing \(name)")
            return try Primitive(op: &op, engine: engine, hint: f, name: "\(name) backward data")
        }
        let bw = try Self.build(name: "\(name) backward weights", engine: engine, weights: [plainW, .any(weight.shape)]) { w in
            var s = inputOp.md, w = w.md, bb = b.md, d = outOp.md
            var op = dnnl_inner_product_desc_t()
            try dnnlCheck(dnnl_inner_product_backward_weights_desc_init(&op, &s, &w, &bb, &d),
                          "dnnl_inner_product_backward_weights_desc_init", "describing \(name)")
            return try Primitive(op: &op, engine: engine, hint: f, name: "\(name) backward weights")
        }
        forwardPrimitive = f
        backwardData = bd
        backwardWeights = bw
        weightForward = try ParameterView(weight, layout: f.query(dnnl_query_weights_md), engine: engine, name: "\(name) weights")
        // One bf16 copy of the weights per update when both primitives take the same layout
        // (the plain one here): fc0's copy is 24 M values.
        let backwardLayout = bd.query(dnnl_query_weights_md)
        weightBackward = backwardLayout == weightForward.layout ? weightForward
            : try ParameterView(weight, layout: backwardLayout, engine: engine, name: "\(name) weights")
        weightGradient = try GradientSink(into: weight.gradient, layout: bw.query(dnnl_query_diff_weights_md),
                                          engine: engine, name: "\(name) weight gradient")
        inputIn = try Relayout(from: input, to: inputOp, engine: engine, name: "\(name) input")
        gradientIn = try Relayout(from: outMD, to: outOp, engine: engine, name: "\(name) output gradient")
        output = Tensor(outMD, engine: engine)
        diffInput = Tensor(input, engine: engine)
        prepared = input
        return outMD
    }

    /// Builds with the first weight layout whose kernel is not a reference implementation.
    private static func build(name: String, engine: Engine, weights: [MemoryDescriptor],
                              _ make: (MemoryDescriptor) throws -> Primitive) throws -> Primitive {
        var last: Primitive?
        var lastError: Error?
        for w in weights {
            do {
                let p = try make(w)
                if !p.implementation.hasPrefix("ref") { return p }
                last = p
            } catch { lastError = error }
        }
        if let last { return last }
        throw lastError ?? DNNLError(status: "unimplemented", function: "dnnl_primitive_desc_create", context: name)
    }

    public func forward(_ x: Tensor) -> Tensor {
        let xs = inputIn.apply(x)
        savedInput = xs
        engine.execute(forwardPrimitive, [
            dnnl_exec_arg_t(arg: Arg.src, memory: xs.memory),
            dnnl_exec_arg_t(arg: Arg.weights, memory: weightForward.tensor.memory),
            dnnl_exec_arg_t(arg: Arg.bias, memory: bias.value.memory),
            dnnl_exec_arg_t(arg: Arg.dst, memory: output.memory),
        ])
        return output
    }

    public func backward(_ dy: Tensor, _ request: GradientRequest) -> Tensor? {
        let dy = gradientIn.apply(dy)
        if request.contains(.parameters) {
            guard let x = savedInput else { preconditionFailure("\(label): backward before forward") }
            engine.execute(backwardWeights, [
                dnnl_exec_arg_t(arg: Arg.src, memory: x.memory),
                dnnl_exec_arg_t(arg: Arg.diffDst, memory: dy.memory),
                dnnl_exec_arg_t(arg: Arg.diffWeights, memory: weightGradient.buffer.memory),
                dnnl_exec_arg_t(arg: Arg.diffBias, memory: bias.gradient.memory),
            ])
            weightGradient.flush()
        }
        guard request.contains(.input) else { return nil }
        engine.execute(backwardData, [
            dnnl_exec_arg_t(arg: Arg.diffDst, memory: dy.memory),
            dnnl_exec_arg_t(arg: Arg.weights, memory: weightBackward.tensor.memory),
            dnnl_exec_arg_t(arg: Arg.diffSrc, memory: diffInput.memory),
        ])
        return diffInput
    }
}
