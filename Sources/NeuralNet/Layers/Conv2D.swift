import CDNNL

/// 2-D convolution with bias, "same" padding (TensorFlow convention) and a stride.
///
/// Weights (O, I, KH, KW) and bias (O) are stored plain; oneDNN picks blocked layouts for the
/// activations and its own copy of the weights, refreshed only when the weights change.
/// At `Precision.bf16` the primitives take bf16 input and weights (a float32 input, e.g. the
/// network's images, is converted by the input relayout) and write a bf16 output; the output
/// gradient is bf16 like the output, the input gradient has the input's type (float32 for the
/// images, so attacks get a float32 gradient) and the weight and bias gradients are float32.
public final class Conv2D: Layer {
    public let inputChannels: Int
    public let outputChannels: Int
    public let kernelSize: Int
    public let stride: Int
    /// (O, I, KH, KW)
    public let weight: Parameter
    /// (O)
    public let bias: Parameter
    let engine: Engine
    /// Label used in error messages.
    public var label: String

    private var prepared: MemoryDescriptor?
    private var outputDescriptor: MemoryDescriptor!
    private var forwardPrimitive: Primitive!
    private var backwardData: Primitive!
    private var backwardWeights: Primitive!
    private var sourceIn: Relayout!            // x -> layout of the forward primitive
    private var backwardSourceIn: Relayout!    // forward layout -> backward-weights layout
    private var dataGradientIn: Relayout!      // output layout -> backward-data layout (identity when they agree)
    private var backwardGradientIn: Relayout!  // backward-data layout -> backward-weights layout
    private var weightForward: ParameterView!
    private var weightBackward: ParameterView!
    private var weightGradient: GradientSink!
    private var biasGradient: GradientSink!
    private var output: Tensor!                // (N, O, OH, OW), layout chosen by oneDNN
    private var savedSource: Tensor?           // x in the forward layout, kept for backward
    private var diffSource: Tensor!            // ∂loss/∂x in the backward-data layout
    private var diffSourceOut: Relayout!       // backward-data layout -> x's layout

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1,
                weightInitializer: Initializer? = nil, biasInitializer: Initializer = .constant(0.1),
                engine: Engine, label: String = "conv") {
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.engine = engine
        self.label = label
        let area = kernelSize * kernelSize
        weight = Parameter(shape: [outputChannels, inputChannels, kernelSize, kernelSize],
                           initializer: weightInitializer ?? .glorotUniform(fanIn: inputChannels * area, fanOut: outputChannels * area),
                           engine: engine)
        bias = Parameter(shape: [outputChannels], initializer: biasInitializer, engine: engine)
    }

    public var parameters: [NamedParameter] {
        [NamedParameter(path: "weight", parameter: weight), NamedParameter(path: "bias", parameter: bias)]
    }

    public func prepare(input: MemoryDescriptor) throws -> MemoryDescriptor {
        if let prepared, prepared == input { return outputDescriptor }
        let d = input.dims
        precondition(d.count == 4 && d[1] == inputChannels, "\(label): input \(input), expected \(inputChannels) channels")
        let (n, h, w) = (d[0], d[2], d[3])
        let ph = samePadding(size: h, kernel: kernelSize, stride: stride)
        let pw = samePadding(size: w, kernel: kernelSize, stride: stride)
        let oh = windowOutput(h, kernel: kernelSize, stride: stride, padLow: ph.low, padHigh: ph.high)
        let ow = windowOutput(w, kernel: kernelSize, stride: stride, padLow: pw.low, padHigh: pw.high)
        let strides: [Int64] = [Int64(stride), Int64(stride)]
        let padL: [Int64] = [Int64(ph.low), Int64(pw.low)], padR: [Int64] = [Int64(ph.high), Int64(pw.high)]
        let name = "\(label) \(d.map(String.init).joined(separator: "x"))->\(outputChannels)x\(oh)x\(ow) k\(kernelSize)"

        let operand = engine.precision.operandType
        var src = MemoryDescriptor.any(d, type: operand).md, wts = MemoryDescriptor.any(weight.shape, type: operand).md
        // bf16: the output is bf16 too (rounded once from the float32 accumulators), so the next
        // layers read half the bytes and the next convolution takes it without a conversion.
        var b = bias.value.descriptor.md, dst = MemoryDescriptor.any([n, outputChannels, oh, ow], type: operand).md
        var fwd = dnnl_convolution_desc_t()
        try dnnlCheck(dnnl_convolution_forward_desc_init(&fwd, dnnl_forward_training, dnnl_convolution_direct,
                                                         &src, &wts, &b, &dst, strides, padL, padR),
                      "dnnl_convolution_forward_desc_init", "describing \(name)")
        let f = try Primitive(op: &fwd, engine: engine, name: "\(name) forward")
        let srcMD = f.query(dnnl_query_src_md), dstMD = f.query(dnnl_query_dst_md)

        // The output gradient has the output's layout and type; the input gradient the input's type.
        let dyMD = dstMD
        var chosenDst = dyMD.md
        var dsrc = MemoryDescriptor.any(d, type: input.dataType).md, wtsAny = MemoryDescriptor.any(weight.shape, type: operand).md
        var bd = dnnl_convolution_desc_t()
        try dnnlCheck(dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &dsrc, &wtsAny, &chosenDst,
                                                               strides, padL, padR),
                      "dnnl_convolution_backward_data_desc_init", "describing \(name)")
        let bdp = try Primitive(op: &bd, engine: engine, hint: f, name: "\(name) backward data")

        // Backward weights: keep the forward layouts when a fast kernel takes them; otherwise
        // (e.g. a plain 5-channel input) let oneDNN choose the source layout and reorder to it.
        // Candidates in order of preference: the forward layouts, oneDNN's choice without the
        // forward hint, channels-last. A JIT kernel wins over GEMM, which wins over reference code.
        var candidate: Primitive?
        func rank(_ p: Primitive) -> Int { p.implementation.hasPrefix("jit") ? 2 : p.implementation.hasPrefix("ref") ? 0 : 1 }
        let nhwc = (MemoryDescriptor(dims: d, tag: dnnl_acdb, type: operand),
                    MemoryDescriptor(dims: dstMD.dims, tag: dnnl_acdb, type: operand))
        let choices: [(MemoryDescriptor, MemoryDescriptor, Bool)] = [
            (srcMD, dyMD, true), (.any(d, type: operand), .any(dstMD.dims, type: operand), false), (nhwc.0, nhwc.1, false),
        ]
        for (sourceChoice, dstChoice, useHint) in choices {
            var s = sourceChoice.md, dw = MemoryDescriptor.any(weight.shape).md, db = bias.gradient.descriptor.md
            var ddst = dstChoice.md
            var bw = dnnl_convolution_desc_t()
            try dnnlCheck(dnnl_convolution_backward_weights_desc_init(&bw, dnnl_convolution_direct, &s, &dw, &db,
                                                                      &ddst, strides, padL, padR),
                          "dnnl_convolution_backward_weights_desc_init", "describing \(name)")
            guard let p = try? Primitive(op: &bw, engine: engine, hint: useHint ? f : nil, name: "\(name) backward weights")
            else { continue }
            if candidate == nil || rank(p) > rank(candidate!) { candidate = p }
            if rank(p) == 2 { break }
        }
        let bwp = candidate!
        backwardSourceIn = try Relayout(from: srcMD, to: bwp.query(dnnl_query_src_md), engine: engine,
                                        name: "\(name) backward weights input")
        let bdDyMD = bdp.query(dnnl_query_diff_dst_md)
        dataGradientIn = try Relayout(from: dstMD, to: bdDyMD, engine: engine, name: "\(name) backward data output gradient")
        backwardGradientIn = try Relayout(from: bdDyMD, to: bwp.query(dnnl_query_diff_dst_md), engine: engine,
                                          name: "\(name) backward weights output gradient")
        forwardPrimitive = f
        backwardData = bdp
        backwardWeights = bwp
        sourceIn = try Relayout(from: input, to: srcMD, engine: engine, name: "\(name) input")
        weightForward = try ParameterView(weight, layout: f.query(dnnl_query_weights_md), engine: engine, name: "\(name) weights")
        weightBackward = try ParameterView(weight, layout: bdp.query(dnnl_query_weights_md), engine: engine, name: "\(name) weights")
        weightGradient = try GradientSink(into: weight.gradient, layout: bwp.query(dnnl_query_diff_weights_md),
                                          engine: engine, name: "\(name) weight gradient")
        biasGradient = try GradientSink(into: bias.gradient, layout: bwp.query(dnnl_query_diff_weights_md, 1),
                                        engine: engine, name: "\(name) bias gradient")
        output = Tensor(dstMD, engine: engine)
        let dsrcMD = bdp.query(dnnl_query_diff_src_md)
        diffSource = Tensor(dsrcMD, engine: engine)
        diffSourceOut = try Relayout(from: dsrcMD, to: input, engine: engine, name: "\(name) input gradient")
        savedSource = nil
        prepared = input
        outputDescriptor = dstMD
        return dstMD
    }

    /// The kernels oneDNN picked (forward, backward data, backward weights), e.g.
    /// `jit_bf16:avx512_core_bf16` (after `prepare`).
    public var implementations: String {
        [forwardPrimitive, backwardData, backwardWeights].map { $0?.implementation ?? "unprepared" }.joined(separator: ", ")
    }

    public func forward(_ x: Tensor) -> Tensor {
        let xs = sourceIn.apply(x)
        savedSource = xs
        engine.execute(forwardPrimitive, [
            dnnl_exec_arg_t(arg: Arg.src, memory: xs.memory),
            dnnl_exec_arg_t(arg: Arg.weights, memory: weightForward.tensor.memory),
            dnnl_exec_arg_t(arg: Arg.bias, memory: bias.value.memory),
            dnnl_exec_arg_t(arg: Arg.dst, memory: output.memory),
        ])
        return output
    }

    public func backward(_ dy: Tensor, _ request: GradientRequest) -> Tensor? {
        precondition(dy.descriptor == outputDescriptor, "\(label): gradient \(dy.descriptor) does not match output \(outputDescriptor!)")
        let dyData = dataGradientIn.apply(dy)   // relaid out (if at all) once for both backward primitives
        if request.contains(.parameters) {
            guard let xs = savedSource else { preconditionFailure("\(label): backward before forward") }
            engine.execute(backwardWeights, [
                dnnl_exec_arg_t(arg: Arg.src, memory: backwardSourceIn.apply(xs).memory),
                dnnl_exec_arg_t(arg: Arg.diffDst, memory: backwardGradientIn.apply(dyData).memory),
                dnnl_exec_arg_t(arg: Arg.diffWeights, memory: weightGradient.buffer.memory),
                dnnl_exec_arg_t(arg: Arg.diffBias, memory: biasGradient.buffer.memory),
            ])
            weightGradient.flush()
            biasGradient.flush()
        }
        guard request.contains(.input) else { return nil }
        engine.execute(backwardData, [
            dnnl_exec_arg_t(arg: Arg.diffDst, memory: dyData.memory),
            dnnl_exec_arg_t(arg: Arg.weights, memory: weightBackward.tensor.memory),
            dnnl_exec_arg_t(arg: Arg.diffSrc, memory: diffSource.memory),
        ])
        return diffSourceOut.apply(diffSource)
    }
}
