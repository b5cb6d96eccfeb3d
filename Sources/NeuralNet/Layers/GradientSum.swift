import CDNNL

/// Adds the gradients that several consumers of one tensor send back (the Inception branches
/// all read the block's input), with one oneDNN sum primitive (float32) or a hand-written
/// kernel (bf16).
///
/// bf16: oneDNN 2.6 sums channel-padded blocked bf16 tensors (476 = 29.75 × 16 channels) with
/// its reference kernel, so the terms are added here over the whole physical buffer: all share
/// one layout, the padding is zero in each, and each element is widened, summed in float32 and
/// rounded to bf16 once.
public final class GradientSum {
    let engine: Engine
    public var label: String
    private var prepared: (MemoryDescriptor, Int)?
    private var sumPrimitive: Primitive?
    private var output: Tensor!   // same shape, layout and element type as the inputs

    public init(engine: Engine, label: String = "sum") {
        self.engine = engine
        self.label = label
    }

    /// Builds the sum of `count` tensors described by `descriptor`.
    /// The corresponding C function is `dnnl_sum_primitive_desc_create`.
    public func prepare(_ descriptor: MemoryDescriptor, count: Int) throws {
        if let prepared, prepared.0 == descriptor, prepared.1 == count { return }
        prepared = nil
        sumPrimitive = nil
        if descriptor.dataType != dnnl_bf16 {
            sumPrimitive = try Self.primitive(descriptor, count: count, label: label, engine: engine)
        }
        output = Tensor(descriptor, engine: engine)
        prepared = (descriptor, count)
    }

    private static func primitive(_ descriptor: MemoryDescriptor, count: Int, label: String, engine: Engine) throws -> Primitive {
        var dst = descriptor.md
        var srcs = [dnnl_memory_desc_t](repeating: descriptor.md, count: count)
        let scales = [Float](repeating: 1, count: count)
        var pd: dnnl_primitive_desc_t?
        try dnnlCheck(dnnl_sum_primitive_desc_create(&pd, &dst, Int32(count), scales, &srcs, nil, engine.engine),
                      "dnnl_sum_primitive_desc_create", "building \(label) of \(count) x \(descriptor)")
        return try Primitive(descriptor: pd!, name: label)
    }

    /// Σ `terms`, into a buffer this object owns.
    public func callAsFunction(_ terms: [Tensor]) -> Tensor {
        precondition(terms.count == prepared?.1, "\(label): \(terms.count) terms, prepared for \(prepared?.1 ?? 0)")
        guard let sumPrimitive else {
            for t in terms { precondition(t.descriptor == output.descriptor, "\(label): term \(t.descriptor), prepared for \(output.descriptor)") }
            Self.addBF16(terms.map { UnsafePointer($0.bf16Pointer) }, into: output.bf16Pointer,
                         count: output.descriptor.byteCount / MemoryLayout<UInt16>.size)
            return output
        }
        var args = terms.enumerated().map { dnnl_exec_arg_t(arg: Arg.multipleSrc($0.offset), memory: $0.element.memory) }
        args.append(dnnl_exec_arg_t(arg: Arg.dst, memory: output.memory))
        engine.execute(sumPrimitive, args)
        return output
    }
}

extension GradientSum {
    /// out[i] = bf16(Σₜ terms[t][i]) for `count` bf16 elements, on all cores.
    static func addBF16(_ terms: [UnsafePointer<UInt16>], into out: UnsafeMutablePointer<UInt16>, count: Int) {
        nonisolated(unsafe) let (terms, out) = (terms, out)
        let chunk = 1 << 14   // elements per job: 32 KiB of each term, a multiple of 16
        parallelFor((count + chunk - 1) / chunk) { job in
            let start = job * chunk, end = min(start + chunk, count)
            var i = start
            while i + 16 <= end {
                var acc = UInt16.load16(terms[0] + i)
                for t in 1..<terms.count { acc += UInt16.load16(terms[t] + i) }
                UInt16.store16(acc, out + i)
                i += 16
            }
            while i < end {
                var acc: Float = 0
                for t in terms { acc += t[i].float }
                out[i] = UInt16(rounding: acc)
                i += 1
            }
        }
    }
}
