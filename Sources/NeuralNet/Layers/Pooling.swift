import CDNNL

/// 2-D pooling (average or max) over a square window with separate low/high padding.
///
/// The output and gradients keep the input's element type (bf16 inside a bf16 network; oneDNN
/// averages in float32 and rounds once). `AvgPool2D(kernelSize: 2, stride: 2)` halves the image; Pasquet et al.'s stride-1 pool is
/// `AvgPool2D(kernelSize: 2, stride: 1, paddingHigh: 1)`: padded only at bottom/right, the
/// padding excluded from the average (TensorFlow's `avg_pool(..., padding="SAME")`).
public class Pool2D: Layer {
    public enum Kind: Sendable { case average, max }

    public let kind: Kind
    public let kernelSize: Int
    public let stride: Int
    public let paddingLow: Int
    public let paddingHigh: Int
    let engine: Engine
    public var label: String
    private var prepared: MemoryDescriptor?
    private var outputDescriptor: MemoryDescriptor!
    private var forwardPrimitive: Primitive!
    private var backwardPrimitive: Primitive!
    private var output: Tensor!      // (N, C, OH, OW), layout chosen from x's
    private var workspace: Tensor?   // max pooling: where each maximum came from
    private var diffInput: Tensor!   // same shape and layout as x
    // bf16 with overlapping windows: the backward pass runs in float32 between these conversions.
    private var gradientToF32: Relayout?
    private var diffInputF32: Tensor?
    private var diffInputToBF16: Relayout?

    public init(kind: Kind, kernelSize: Int, stride: Int, paddingLow: Int = 0, paddingHigh: Int = 0,
                engine: Engine, label: String) {
        self.kind = kind
        self.kernelSize = kernelSize
        self.stride = stride
        self.paddingLow = paddingLow
        self.paddingHigh = paddingHigh
        self.engine = engine
        self.label = label
    }

    public var parameters: [NamedParameter] { [] }

    public func prepare(input: MemoryDescriptor) throws -> MemoryDescriptor {
        if let prepared, prepared == input { return outputDescriptor }
        let d = input.dims
        precondition(d.count == 4, "\(label): input \(input) is not (N, C, H, W)")
        let oh = windowOutput(d[2], kernel: kernelSize, stride: stride, padLow: paddingLow, padHigh: paddingHigh)
        let ow = windowOutput(d[3], kernel: kernelSize, stride: stride, padLow: paddingLow, padHigh: paddingHigh)
        let k: [Int64] = [Int64(kernelSize), Int64(kernelSize)], s: [Int64] = [Int64(stride), Int64(stride)]
        let dil: [Int64] = [0, 0]
        let pl: [Int64] = [Int64(paddingLow), Int64(paddingLow)], pr: [Int64] = [Int64(paddingHigh), Int64(paddingHigh)]
        let alg = kind == .max ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding
        let name = "\(label) \(input)"
        var src = input.md, dst = MemoryDescriptor.any([d[0], d[1], oh, ow], type: input.dataType).md   // bf16 stays bf16
        var f = dnnl_pooling_v2_desc_t()
        try dnnlCheck(dnnl_pooling_v2_forward_desc_init(&f, dnnl_forward_training, alg, &src, &dst, s, k, dil, pl, pr),
                      "dnnl_pooling_v2_forward_desc_init", "describing \(name)")
        let fp = try Primitive(op: &f, engine: engine, name: "\(name) forward")
        let dstMD = fp.query(dnnl_query_dst_md)
        // oneDNN 2.6 accumulates the overlapping windows' contributions to a bf16 input gradient in
        // bf16 (fixed upstream in 2025, oneDNN PR 2386); measured here: errors of hundreds of bf16 roundings
        // for the 2×2 stride-1 pool. So that backward pass converts to float32 and back.
        let overlapping = stride < kernelSize && input.dataType == dnnl_bf16
        if overlapping && kind == .max {
            throw DNNLError(status: "unimplemented", function: "dnnl_pooling_v2_backward_desc_init",
                            context: "building \(name): bf16 max pooling with overlapping windows is not supported (use f32)")
        }
        let f32Input = input.with(type: dnnl_f32), f32Output = dstMD.with(type: dnnl_f32)
        var diffSrc = overlapping ? f32Input.md : input.md, diffDst = overlapping ? f32Output.md : dstMD.md
        var b = dnnl_pooling_v2_desc_t()
        try dnnlCheck(dnnl_pooling_v2_backward_desc_init(&b, alg, &diffSrc, &diffDst, s, k, dil, pl, pr),
                      "dnnl_pooling_v2_backward_desc_init", "describing \(name)")
        var hint = fp
        if overlapping {   // a float32 forward of the same shape and layouts, as the backward's hint
            var src32 = f32Input.md, dst32 = f32Output.md
            var f32 = dnnl_pooling_v2_desc_t()
            try dnnlCheck(dnnl_pooling_v2_forward_desc_init(&f32, dnnl_forward_training, alg, &src32, &dst32, s, k, dil, pl, pr),
                          "dnnl_pooling_v2_forward_desc_init", "describing \(name) (float32 hint)")
            hint = try Primitive(op: &f32, engine: engine, name: "\(name) forward (float32 hint)")
            gradientToF32 = try Relayout(from: dstMD, to: f32Output, engine: engine, name: "\(name) output gradient to f32")
            diffInputF32 = Tensor(f32Input, engine: engine)
            diffInputToBF16 = try Relayout(from: f32Input, to: input, engine: engine, name: "\(name) input gradient to bf16")
        } else {
            gradientToF32 = nil
            diffInputF32 = nil
            diffInputToBF16 = nil
        }
        backwardPrimitive = try Primitive(op: &b, engine: engine, hint: hint, name: "\(name) backward")
        forwardPrimitive = fp
        output = Tensor(dstMD, engine: engine)
        if kind == .max {
            workspace = Tensor(fp.query(dnnl_query_workspace_md), engine: engine)
        }
        diffInput = Tensor(input, engine: engine)
        prepared = input
        outputDescriptor = dstMD
        return dstMD
    }

    public func forward(_ x: Tensor) -> Tensor {
        var args = [dnnl_exec_arg_t(arg: Arg.src, memory: x.memory), dnnl_exec_arg_t(arg: Arg.dst, memory: output.memory)]
        if let workspace { args.append(dnnl_exec_arg_t(arg: Arg.workspace, memory: workspace.memory)) }
        engine.execute(forwardPrimitive, args)
        return output
    }

    public func backward(_ dy: Tensor, _ request: GradientRequest) -> Tensor? {
        guard request.contains(.input) else { return nil }
        precondition(dy.descriptor == outputDescriptor, "\(label): gradient \(dy.descriptor) does not match output")
        if let gradientToF32, let diffInputF32, let diffInputToBF16 {
            engine.execute(backwardPrimitive, [dnnl_exec_arg_t(arg: Arg.diffDst, memory: gradientToF32.apply(dy).memory),
                                               dnnl_exec_arg_t(arg: Arg.diffSrc, memory: diffInputF32.memory)])
            let converted = diffInputToBF16.apply(diffInputF32)
            return converted
        }
        var args = [dnnl_exec_arg_t(arg: Arg.diffDst, memory: dy.memory),
                    dnnl_exec_arg_t(arg: Arg.diffSrc, memory: diffInput.memory)]
        if let workspace { args.append(dnnl_exec_arg_t(arg: Arg.workspace, memory: workspace.memory)) }
        engine.execute(backwardPrimitive, args)
        return diffInput
    }
}

/// Average pooling; padding, when any, is excluded from the average.
public final class AvgPool2D: Pool2D {
    public init(kernelSize: Int, stride: Int, paddingLow: Int = 0, paddingHigh: Int = 0, engine: Engine, label: String = "avgpool") {
        super.init(kind: .average, kernelSize: kernelSize, stride: stride, paddingLow: paddingLow,
                   paddingHigh: paddingHigh, engine: engine, label: label)
    }
}

/// Max pooling.
public final class MaxPool2D: Pool2D {
    public init(kernelSize: Int, stride: Int, engine: Engine, label: String = "maxpool") {
        super.init(kind: .max, kernelSize: kernelSize, stride: stride, engine: engine, label: label)
    }
}
