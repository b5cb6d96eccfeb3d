import CDNNL

/// max(x, 0), elementwise, in the input's layout and element type.
public final class ReLU: Layer {
    let engine: Engine
    public var label: String
    private var prepared: MemoryDescriptor?
    private var forwardPrimitive: Primitive!
    private var backwardPrimitive: Primitive!
    private var output: Tensor!        // same shape and layout as x
    private var diffInput: Tensor!     // same shape and layout as x
    private var savedInput: Tensor?

    public init(engine: Engine, label: String = "relu") {
        self.engine = engine
        self.label = label
    }

    public var parameters: [NamedParameter] { [] }

    public func prepare(input: MemoryDescriptor) throws -> MemoryDescriptor {
        if let prepared, prepared == input { return input }
        var data = input.md
        var f = dnnl_eltwise_desc_t()
        try dnnlCheck(dnnl_eltwise_forward_desc_init(&f, dnnl_forward_training, dnnl_eltwise_relu, &data, 0, 0),
                      "dnnl_eltwise_forward_desc_init", "describing \(label) \(input)")
        let fp = try Primitive(op: &f, engine: engine, name: "\(label) forward \(input)")
        var diff = input.md
        var b = dnnl_eltwise_desc_t()
        try dnnlCheck(dnnl_eltwise_backward_desc_init(&b, dnnl_eltwise_relu, &diff, &data, 0, 0),
                      "dnnl_eltwise_backward_desc_init", "describing \(label) \(input)")
        backwardPrimitive = try Primitive(op: &b, engine: engine, hint: fp, name: "\(label) backward \(input)")
        forwardPrimitive = fp
        output = Tensor(input, engine: engine)
        diffInput = Tensor(input, engine: engine)
        prepared = input
        return input
    }

    public func forward(_ x: Tensor) -> Tensor {
        savedInput = x
        engine.execute(forwardPrimitive, [dnnl_exec_arg_t(arg: Arg.src, memory: x.memory),
                                          dnnl_exec_arg_t(arg: Arg.dst, memory: output.memory)])
        return output
    }

    public func backward(_ dy: Tensor, _ request: GradientRequest) -> Tensor? {
        guard request.contains(.input) else { return nil }
        guard let x = savedInput else { preconditionFailure("\(label): backward before forward") }
        engine.execute(backwardPrimitive, [dnnl_exec_arg_t(arg: Arg.src, memory: x.memory),
                                           dnnl_exec_arg_t(arg: Arg.diffDst, memory: dy.memory),
                                           dnnl_exec_arg_t(arg: Arg.diffSrc, memory: diffInput.memory)])
        return diffInput
    }
}

/// Parametric ReLU with one slope α per channel: y = x if x > 0, else α_c·x.
///
/// Output and input gradient have the input's layout and element type (bf16 inside a bf16
/// network); α and its gradient are float32.
public final class PReLU: Layer {
    public let channels: Int
    /// (C), initialised to 0 as in Pasquet et al.
    public let alpha: Parameter
    let engine: Engine
    public var label: String
    private var prepared: MemoryDescriptor?
    private var forwardPrimitive: Primitive!
    private var backwardPrimitive: Primitive!
    private var alphaView: ParameterView!
    private var alphaGradient: GradientSink!
    private var output: Tensor!        // same shape and layout as x
    private var diffInput: Tensor!     // same shape and layout as x
    private var savedInput: Tensor?
    private var kernels: PReLUKernels?  // hand-written path for blocked-16 and plain layouts
    private var scratchGradient: [Float] = []

    public init(channels: Int, initialValue: Float = 0, engine: Engine, label: String = "prelu") {
        self.channels = channels
        self.engine = engine
        self.label = label
        alpha = Parameter(shape: [channels], initializer: .constant(initialValue), engine: engine)
    }

    public var parameters: [NamedParameter] { [NamedParameter(path: "alpha", parameter: alpha)] }

    public func prepare(input: MemoryDescriptor) throws -> MemoryDescriptor {
        if let prepared, prepared == input { return input }
        let d = input.dims
        precondition(d.count >= 2 && d[1] == channels, "\(label): input \(input), expected \(channels) channels")
        output = Tensor(input, engine: engine)
        diffInput = Tensor(input, engine: engine)
        scratchGradient = [Float](repeating: 0, count: channels)
        kernels = PReLUKernels(input)
        forwardPrimitive = nil
        backwardPrimitive = nil
        prepared = input
        if kernels != nil { return input }   // the primitives are only for the layouts the kernels do not handle
        // α broadcast over every dimension but the channel one: (1, C, 1, 1) or (1, C).
        var shape = [Int](repeating: 1, count: d.count)
        shape[1] = channels
        let alphaMD = MemoryDescriptor.plain(shape)
        var data = input.md, w = MemoryDescriptor.any(shape).md
        var f = dnnl_prelu_desc_t()
        try dnnlCheck(dnnl_prelu_forward_desc_init(&f, dnnl_forward_training, &data, &w),
                      "dnnl_prelu_forward_desc_init", "describing \(label) \(input)")
        let fp = try Primitive(op: &f, engine: engine, name: "\(label) forward \(input)")
        var diff = input.md, dw = MemoryDescriptor.any(shape).md, wf = fp.query(dnnl_query_weights_md).md
        var b = dnnl_prelu_desc_t()
        try dnnlCheck(dnnl_prelu_backward_desc_init(&b, &data, &wf, &diff, &dw),
                      "dnnl_prelu_backward_desc_init", "describing \(label) \(input)")
        let bp = try Primitive(op: &b, engine: engine, hint: fp, name: "\(label) backward \(input)")
        // The parameter is stored (C); view it as (1, C, 1, 1) without copying.
        let alphaAsBroadcast = Tensor(view: alphaMD, of: alpha.value)
        let gradAsBroadcast = Tensor(view: alphaMD, of: alpha.gradient)
        alphaView = try ParameterView(alpha, broadcast: alphaAsBroadcast, layout: fp.query(dnnl_query_weights_md),
                                      engine: engine, name: "\(label) alpha")
        alphaGradient = try GradientSink(into: gradAsBroadcast, layout: bp.query(dnnl_query_diff_weights_md), separate: true,
                                         engine: engine, name: "\(label) alpha gradient")
        forwardPrimitive = fp
        backwardPrimitive = bp
        return input
    }

    /// Keeps `x` for `backward` without computing the output: the caller writes PReLU(x) itself
    /// with these slopes into its own buffer (`ChannelConcat.forward(_:activations:)` does, when
    /// `appliesPReLU`), saving a pass over the activations. `backward` is unchanged.
    public func forwardDeferred(_ x: Tensor) {
        precondition(x.descriptor == prepared, "\(label): input \(x.descriptor), prepared for \(String(describing: prepared))")
        savedInput = x
    }

    public func forward(_ x: Tensor) -> Tensor {
        savedInput = x
        if let kernels {
            kernels.forward(x: x.rawPointer, alpha: alpha.value.pointer, y: output.rawPointer)
            return output
        }
        engine.execute(forwardPrimitive, [dnnl_exec_arg_t(arg: Arg.src, memory: x.memory),
                                          dnnl_exec_arg_t(arg: Arg.weights, memory: alphaView.tensor.memory),
                                          dnnl_exec_arg_t(arg: Arg.dst, memory: output.memory)])
        return output
    }

    public func backward(_ dy: Tensor, _ request: GradientRequest) -> Tensor? {
        guard let x = savedInput else { preconditionFailure("\(label): backward before forward") }
        if let kernels {
            if request.contains(.parameters) {
                kernels.backward(x: x.rawPointer, alpha: alpha.value.pointer, dy: dy.rawPointer, dx: diffInput.rawPointer,
                                 dAlpha: alpha.gradient.pointer)
            } else {
                scratchGradient.withUnsafeMutableBufferPointer { g in
                    kernels.backward(x: x.rawPointer, alpha: alpha.value.pointer, dy: dy.rawPointer, dx: diffInput.rawPointer,
                                     dAlpha: g.baseAddress!)
                }
            }
            return request.contains(.input) ? diffInput : nil
        }
        // oneDNN computes ∂x and ∂α together.
        engine.execute(backwardPrimitive, [dnnl_exec_arg_t(arg: Arg.src, memory: x.memory),
                                           dnnl_exec_arg_t(arg: Arg.weights, memory: alphaView.tensor.memory),
                                           dnnl_exec_arg_t(arg: Arg.diffDst, memory: dy.memory),
                                           dnnl_exec_arg_t(arg: Arg.diffSrc, memory: diffInput.memory),
                                           dnnl_exec_arg_t(arg: Arg.diffWeights, memory: alphaGradient.buffer.memory)])
        if request.contains(.parameters) { alphaGradient.flush() }
        return request.contains(.input) ? diffInput : nil
    }
}
