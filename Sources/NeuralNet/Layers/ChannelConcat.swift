import CDNNL

/// Concatenation of (N, Cᵢ, H, W) tensors along channels (the Inception branches).
///
/// Forward is one oneDNN concat primitive into a layout of its choice when oneDNN has a fast
/// kernel for the inputs (channel counts on 16-channel block boundaries, or plain inputs).
/// Blocked inputs whose channel counts split the output's blocks (92-channel branches in
/// `nChw16c`) get oneDNN 2.6's reference concat only; they go through `BlockedConcatKernels`,
/// which writes the blocked layout directly and splits the gradient back. Otherwise (e.g.
/// other layouts) the output is channels-last (NHWC), where any channel window is a strided
/// view. Backward splits the gradient with one reorder per branch from a channel window of it
/// (through one plain copy of the gradient only if neither layout can express the windows).
/// The output has the inputs' element type.
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
    private var blocked: BlockedConcatKernels?   // hand-written concat/split into `aBcd16b`
    /// Set when the inputs and the output are `aBcd16b` and every input but the last covers whole
    /// 16-channel blocks: each output block is then one block of one input, which
    /// `forward(_:activations:)` copies (or writes through a PReLU) itself.
    private var blockSources: [(input: Int, block: Int)]?

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
        let type = inputs[0].dataType
        func build(_ destination: MemoryDescriptor) throws -> Primitive {
            var mds = inputs.map(\.md)
            var dst = destination.md
            var pd: dnnl_primitive_desc_t?
            try dnnlCheck(dnnl_concat_primitive_desc_create(&pd, &dst, Int32(mds.count), 1, &mds, nil, engine.engine),
                          "dnnl_concat_primitive_desc_create", "building \(label) of \(inputs)")
            return try Primitive(descriptor: pd!, name: "\(label) forward")
        }
        // Channel windows of the gradient in `layout`, or nil if one is not expressible there.
        func channelWindows(in layout: MemoryDescriptor) -> [MemoryDescriptor]? {
            var list: [MemoryDescriptor] = [], offset = 0
            for c in channels {
                guard let w = Self.window(of: layout, channels: c, offset: offset) else { return nil }
                list.append(w)
                offset += c
            }
            return list
        }
        var cp = try build(.any(outDims, type: type))
        var outMD = cp.query(dnnl_query_dst_md)
        // Blocked inputs whose channel counts split the 16-channel blocks (i1's 92-channel
        // branches): oneDNN 2.6 has only its reference concat for them, into a plain or NHWC
        // output that every consumer reorders back to blocks. The hand-written kernels write the
        // blocked layout directly and split the gradient back (measured in docs/benchmarks.md).
        let blockedMD = MemoryDescriptor(dims: outDims, tag: dnnl_aBcd16b, type: type)
        if cp.implementation.hasPrefix("ref") || outMD != blockedMD,
           let kernels = BlockedConcatKernels(inputs: inputs, output: blockedMD) {
            blocked = kernels
            blockSources = nil
            concatPrimitive = nil
            windows = []
            splits = []
            plainGradient = nil
            toPlain = nil
            windowViews = []
            viewedGradient = nil
            diffInputs = inputs.map { Tensor($0, engine: engine) }
            output = Tensor(blockedMD, engine: engine)
            outputDescriptor = blockedMD
            prepared = inputs
            return blockedMD
        }
        blocked = nil
        var native = channelWindows(in: outMD)
        // Blocked inputs whose channel counts split the blocks (92-channel branches): oneDNN
        // picks a reference concat into the plain layout. NHWC is written in whole runs of
        // channels per pixel and relaid out to blocks by the next layers in one pass each.
        if native == nil || (outMD.hasPlainLayout && !inputs.allSatisfy(\.hasPlainLayout)) {
            let nhwc = MemoryDescriptor(dims: outDims, tag: dnnl_acdb, type: type)
            if let w = channelWindows(in: nhwc), let p = try? build(nhwc) {
                cp = p
                outMD = nhwc
                native = w
            }
        }
        var offset = 0
        if let native {
            windows = native
            plainGradient = nil
            toPlain = nil
        } else {
            let plain = MemoryDescriptor.plain(outDims).with(type: type)
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
        blockSources = nil
        if outMD == blockedMD, inputs.allSatisfy({ $0.hasLayout(dnnl_aBcd16b) }),
           channels.dropLast().allSatisfy({ $0 % 16 == 0 }) {
            blockSources = channels.enumerated().flatMap { i, c in (0..<((c + 15) / 16)).map { (input: i, block: $0) } }
        }
        return outMD
    }

    /// True (after `prepare`) when `forward(_:activations:)` can apply a PReLU to inputs while
    /// concatenating them: the inputs split at 16-channel block boundaries of `aBcd16b` (i0 and
    /// i2–i4 of the Inception network) and the CPU runs the AVX-512 kernels.
    public var appliesPReLU: Bool { (blockSources != nil || blocked != nil) && PReLUKernels.useAVX512 }

    /// Concatenates PReLU(xᵢ) with each `activations[i]`'s slopes (xᵢ itself where nil) into the
    /// output buffer: the Inception branches' last PReLU (`PReLU.forwardDeferred`) and the copy
    /// in one pass, instead of a PReLU pass writing each branch and the concat reading it back.
    /// Values are those of PReLU then `forward(_:)`, bit for bit. Needs `appliesPReLU`.
    public func forward(_ xs: [Tensor], activations: [PReLU?]) -> Tensor {
        precondition(appliesPReLU && xs.count == prepared.count && activations.count == xs.count,
                     "\(label): the fused PReLU concat needs aligned blocked inputs and AVX-512 (appliesPReLU)")
        for (x, md) in zip(xs, prepared) { precondition(x.descriptor == md, "\(label): input \(x.descriptor), prepared for \(md)") }
        // Slopes in channel order, zero-padded to whole blocks (padding lanes are zero in x).
        let slopes: [[Float]?] = zip(activations, prepared).map { prelu, md in
            prelu.map { p in
                precondition(p.channels == md.dims[1], "\(label): PReLU of \(p.channels) channels on an input of \(md.dims[1])")
                return (0..<(((p.channels + 15) / 16) * 16)).map { $0 < p.channels ? p.alpha.value.pointer[$0] : 0 }
            }
        }
        if let blocked {   // unaligned branches (i1): through channels-last rows
            withPointers(slopes) { pointers in
                blocked.concat(xs.map { UnsafeRawPointer($0.rawPointer) }, slopes: pointers, into: output.rawPointer)
            }
            return output
        }
        let d = outputDescriptor.dims
        let (n, s) = (d[0], d[2] * d[3])
        let bf16 = outputDescriptor.dataType == dnnl_bf16
        let element = bf16 ? 2 : 4
        let sources = blockSources!
        let outBlocks = sources.count
        let blocks = prepared.map { ($0.dims[1] + 15) / 16 }
        nonisolated(unsafe) let inputs = xs.map { UnsafeRawPointer($0.rawPointer) }
        nonisolated(unsafe) let out = output.rawPointer
        let planeBytes = s * 16 * element
        slopes.withUnsafeBufferPointer { slopes in
            nonisolated(unsafe) let slopes = slopes
            parallelFor(n * outBlocks) { job in
                let (image, k) = (job / outBlocks, job % outBlocks)
                let (i, b) = sources[k]
                let from = inputs[i] + (image * blocks[i] + b) * planeBytes
                let to = out + (image * outBlocks + k) * planeBytes
                if let alpha = slopes[i] {
                    alpha.withUnsafeBufferPointer { a in
                        PReLUKernels.forwardBlock(from, alpha16: a.baseAddress! + b * 16, to, pixels: s, bf16: bf16)
                    }
                } else {
                    to.copyMemory(from: from, byteCount: planeBytes)
                }
            }
        }
        return output
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
        if let blocked {
            for (x, md) in zip(xs, prepared) { precondition(x.descriptor == md, "\(label): input \(x.descriptor), prepared for \(md)") }
            blocked.concat(xs.map { UnsafeRawPointer($0.rawPointer) }, into: output.rawPointer)
            return output
        }
        var args = xs.enumerated().map { dnnl_exec_arg_t(arg: Arg.multipleSrc($0.offset), memory: $0.element.memory) }
        args.append(dnnl_exec_arg_t(arg: Arg.dst, memory: output.memory))
        engine.execute(concatPrimitive, args)
        return output
    }

    /// Runs `body` with a pointer to each array's elements (nil for nil), valid during the call.
    private func withPointers<R>(_ arrays: [[Float]?], _ body: ([UnsafePointer<Float>?]) -> R) -> R {
        func next(_ i: Int, _ done: [UnsafePointer<Float>?]) -> R {
            if i == arrays.count { return body(done) }
            guard let a = arrays[i] else { return next(i + 1, done + [nil]) }
            return a.withUnsafeBufferPointer { next(i + 1, done + [$0.baseAddress!]) }
        }
        return next(0, [])
    }

    /// Splits ∂loss/∂output into one gradient per input, each in that input's layout.
    public func backward(_ dy: Tensor) -> [Tensor] {
        precondition(dy.descriptor == outputDescriptor, "\(label): gradient \(dy.descriptor) does not match output")
        if let blocked {
            blocked.split(UnsafeRawPointer(dy.rawPointer), into: diffInputs.map(\.rawPointer))
            return diffInputs
        }
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
