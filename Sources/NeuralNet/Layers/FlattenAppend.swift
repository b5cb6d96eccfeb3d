import CDNNL

/// Flattens (N, C, H, W) to (N, C·H·W) in PyTorch order and appends one scalar per image
/// (E(B−V) in the photo-z networks), giving plain (N, C·H·W + 1).
///
/// Forward is one reorder from the input's (blocked) layout into a strided window of the
/// output; backward is the reverse reorder. The scalar's gradient is kept in `scalarGradient`.
public final class FlattenAppend {
    let engine: Engine
    public var label: String
    private var prepared: MemoryDescriptor?
    private var outputDescriptor: MemoryDescriptor!
    private var output: Tensor!          // (N, F + 1) plain
    private var outputWindow: Tensor!    // (N, C, H, W) view of output's first F columns
    private var toWindow: Primitive!
    private var fromWindow: Primitive!
    private var diffInput: Tensor!       // (N, C, H, W), x's layout
    private var gradientWindow: Tensor?  // view of the last dy
    private var features = 0
    /// ∂loss/∂scalar for each image after `backward` (N).
    public private(set) var scalarGradient: [Float] = []

    public init(engine: Engine, label: String = "flatten") {
        self.engine = engine
        self.label = label
    }

    /// Builds the reorders for inputs described by `input`; returns the (N, F + 1) descriptor.
    public func prepare(input: MemoryDescriptor) throws -> MemoryDescriptor {
        if let prepared, prepared == input { return outputDescriptor }
        let d = input.dims
        precondition(d.count == 4, "\(label): input \(input) is not (N, C, H, W)")
        features = d[1] * d[2] * d[3]
        let width = features + 1
        let outMD = MemoryDescriptor.plain([d[0], width])
        let windowMD = MemoryDescriptor(dims: d, strides: [width, d[2] * d[3], d[3], 1])
        output = Tensor(outMD, engine: engine)
        outputWindow = Tensor(view: windowMD, of: output)
        toWindow = try Primitive.reorder(from: input, to: windowMD, engine: engine, name: "\(label) forward")
        fromWindow = try Primitive.reorder(from: windowMD, to: input, engine: engine, name: "\(label) backward")
        diffInput = Tensor(input, engine: engine)
        gradientWindow = nil
        scalarGradient = [Float](repeating: 0, count: d[0])
        prepared = input
        outputDescriptor = outMD
        return outMD
    }

    /// Writes `x` flattened and `scalars` (N values) into the output.
    public func forward(_ x: Tensor, scalars: [Float]) -> Tensor {
        let n = x.shape[0]
        precondition(scalars.count == n, "\(label): \(scalars.count) scalars for a batch of \(n)")
        engine.execute(toWindow, [dnnl_exec_arg_t(arg: Arg.src, memory: x.memory),
                                  dnnl_exec_arg_t(arg: Arg.dst, memory: outputWindow.memory)])
        let p = output.pointer, width = features + 1
        for i in 0..<n { p[i * width + features] = scalars[i] }
        return output
    }

    /// Returns ∂loss/∂x in x's layout and records ∂loss/∂scalar.
    public func backward(_ dy: Tensor) -> Tensor {
        precondition(dy.descriptor == outputDescriptor, "\(label): gradient \(dy.descriptor) does not match output")
        if gradientWindow?.sharesBuffer(with: dy) != true {
            gradientWindow = Tensor(view: outputWindow.descriptor, of: dy)
        }
        engine.execute(fromWindow, [dnnl_exec_arg_t(arg: Arg.src, memory: gradientWindow!.memory),
                                    dnnl_exec_arg_t(arg: Arg.dst, memory: diffInput.memory)])
        let p = dy.pointer, width = features + 1
        for i in scalarGradient.indices { scalarGradient[i] = p[i * width + features] }
        return diffInput
    }
}

extension Tensor {
    /// True when this tensor is a view whose data start at `other`'s buffer.
    func sharesBuffer(with other: Tensor) -> Bool { rawPointer == other.rawPointer }
}
