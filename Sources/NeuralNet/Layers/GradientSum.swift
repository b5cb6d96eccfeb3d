import CDNNL

/// Adds the gradients that several consumers of one tensor send back (the Inception branches
/// all read the block's input), with one oneDNN sum primitive.
public final class GradientSum {
    let engine: Engine
    public var label: String
    private var prepared: (MemoryDescriptor, Int)?
    private var sumPrimitive: Primitive!
    private var output: Tensor!   // same shape and layout as the inputs

    public init(engine: Engine, label: String = "sum") {
        self.engine = engine
        self.label = label
    }

    /// Builds the sum of `count` tensors described by `descriptor`.
    /// The corresponding C function is `dnnl_sum_primitive_desc_create`.
    public func prepare(_ descriptor: MemoryDescriptor, count: Int) throws {
        if let prepared, prepared.0 == descriptor, prepared.1 == count { return }
        var dst = descriptor.md
        var srcs = [dnnl_memory_desc_t](repeating: descriptor.md, count: count)
        let scales = [Float](repeating: 1, count: count)
        var pd: dnnl_primitive_desc_t?
        try dnnlCheck(dnnl_sum_primitive_desc_create(&pd, &dst, Int32(count), scales, &srcs, nil, engine.engine),
                      "dnnl_sum_primitive_desc_create", "building \(label) of \(count) x \(descriptor)")
        sumPrimitive = try Primitive(descriptor: pd!, name: label)
        output = Tensor(descriptor, engine: engine)
        prepared = (descriptor, count)
    }

    /// Σ `terms`, into a buffer this object owns.
    public func callAsFunction(_ terms: [Tensor]) -> Tensor {
        precondition(terms.count == prepared?.1, "\(label): \(terms.count) terms, prepared for \(prepared?.1 ?? 0)")
        var args = terms.enumerated().map { dnnl_exec_arg_t(arg: Arg.multipleSrc($0.offset), memory: $0.element.memory) }
        args.append(dnnl_exec_arg_t(arg: Arg.dst, memory: output.memory))
        engine.execute(sumPrimitive, args)
        return output
    }
}
