import CDNNL

/// Concatenation of (N, Cᵢ, H, W) tensors along channels (the Inception branches).
///
/// Forward is one oneDNN concat primitive into a layout of its choice. Backward splits the
/// gradient with one reorder per branch from a channel window of it: directly when the windows
/// fall on the layout's channel blocks, otherwise through one plain copy of the gradient.
public final class ChannelConcat {
    let engine: Engine
    public var label: String
    private var prepared: [MemoryDescriptor] = []
    private var outputDescriptor: MemoryDescriptor!
    private var concatPrimitive: Primitive!
    private var output: Tensor!                  // (N, ΣCᵢ, H, W)
    private var plainGradient: Tensor?           // (N, ΣCᵢ, H, W) plain, when windows are unaligned
    private var toPlain: Primitive?
    private var windows: [MemoryDescriptor] = [] // channel windows of the (plain or native) gradient
    private var splits: [Primitive] = []
    private var diffInputs: [Tensor] = []        // one per input, in that input's layout
    private var windowViews: [Tensor] = []
    private weak var viewedGradient: Tensor?

    public init(engine: Engine, label: String = "concat") {
        self.engine = engine
        self.label = label
    }

    /// Builds the primitives for inputs with these descriptors; returns the output descriptor.
    public func prepare(inputs: [MemoryDescriptor]) throws -> MemoryDescriptor {
        if inputs == prepared { return outputDescriptor }
        let d0 = inputs[0].dims
        let channels = inputs.map { $0.dims[1] }
        let total = channels.reduce(0, +)
        let outDims = [d0[0], total, d0[2], d0[3]]
        var mds = inputs.map(\.md)
        var dst = MemoryDescriptor.any(outDims).md
        var pd: dnnl_primitive_desc_t?
        try dnnlCheck(dnnl_concat_primitive_desc_create(&pd, &dst, Int32(mds.count), 1, &mds, nil, engine.engine),
                      "dnnl_concat_primitive_desc_create", "building \(label) of \(inputs)")
        let cp = try Primitive(descriptor: pd!, name: "\(label) forward")
        let outMD = cp.query(dnnl_query_dst_md)

        // Channel windows of the gradient: native layout if every window is expressible there.
        var native: [MemoryDescriptor]? = []
        var offset = 0
        for c in channels {
            native = native.flatMap { list in Self.window(of: outMD, channels: c, offset: offset).map { list + [$0] } }
            offset += c
        }
        if let native {
            windows = native
            plainGradient = nil
            toPlain = nil
        } else {
            let plain = MemoryDescriptor.plain(outDims)
            plainGradient = Tensor(plain, engine: engine)
            toPlain = try Primitive.reorder(from: outMD, to: plain, engine: engine, name: "\(label) gradient to plain")
            offset = 0
            windows = channels.map { c in
                defer { offset += c }
                return Self.window(of: plain, channels: c, offset: offset)!
            }
        }
        splits = try zip(windows, inputs).map { try Primitive.reorder(from: $0, to: $1, engine: engine, name: "\(label) split") }
        diffInputs = inputs.map { Tensor($0, engine: engine) }
        if let plainGradient { windowViews = windows.map { Tensor(view: $0, of: plainGradient) } } else { windowViews = [] }
        viewedGradient = nil
        concatPrimitive = cp
        output = Tensor(outMD, engine: engine)
        outputDescriptor = outMD
        prepared = inputs
        return outMD
    }

    /// The sub-memory descriptor of `channels` channels starting at `offset`, or nil when the
    /// layout cannot express it (a blocked layout and an offset off the block boundary).
    static func window(of parent: MemoryDescriptor, channels: Int, offset: Int) -> MemoryDescriptor? {
        var p = parent.md, out = dnnl_memory_desc_t()
        let d = parent.dims
        let dims: [Int64] = [Int64(d[0]), Int64(channels), Int64(d[2]), Int64(d[3])]
        let offs: [Int64] = [0, Int64(offset), 0, 0]
        guard dnnl_memory_desc_init_submemory(&out, &p, dims, offs) == dnnl_success else { return nil }
        return MemoryDescriptor(out)
    }

    /// Concatenates `xs` (in the prepared descriptors) into the output buffer.
    public func forward(_ xs: [Tensor]) -> Tensor {
        var args = xs.enumerated().map { dnnl_exec_arg_t(arg: Arg.multipleSrc($0.offset), memory: $0.element.memory) }
        args.append(dnnl_exec_arg_t(arg: Arg.dst, memory: output.memory))
        engine.execute(concatPrimitive, args)
        return output
    }

    /// Splits ∂loss/∂output into one gradient per input, each in that input's layout.
    public func backward(_ dy: Tensor) -> [Tensor] {
        precondition(dy.descriptor == outputDescriptor, "\(label): gradient \(dy.descriptor) does not match output")
        if let plainGradient, let toPlain {
            engine.execute(toPlain, [dnnl_exec_arg_t(arg: Arg.src, memory: dy.memory),
                                     dnnl_exec_arg_t(arg: Arg.dst, memory: plainGradient.memory)])
        } else if viewedGradient !== dy {
            windowViews = windows.map { Tensor(view: $0, of: dy) }
            viewedGradient = dy
        }
        for i in splits.indices {
            engine.execute(splits[i], [dnnl_exec_arg_t(arg: Arg.src, memory: windowViews[i].memory),
                                       dnnl_exec_arg_t(arg: Arg.dst, memory: diffInputs[i].memory)])
        }
        return diffInputs
    }
}
