import CDNNL

/// Presents a tensor in the layout a primitive asked for, reordering only when the layouts differ.
///
/// Built once per layer and batch shape. When source and target layouts are equal, `apply`
/// returns the source itself and costs nothing.
final class Relayout {
    let source: MemoryDescriptor
    let target: MemoryDescriptor
    private let buffer: Tensor?
    private let reorder: Primitive?

    init(from source: MemoryDescriptor, to target: MemoryDescriptor, engine: Engine, name: String) throws {
        self.source = source
        self.target = target
        if source == target {
            buffer = nil
            reorder = nil
        } else {
            buffer = Tensor(target, engine: engine)
            reorder = try Primitive.reorder(from: source, to: target, engine: engine, name: name)
        }
    }

    /// True when no reorder is needed.
    var isIdentity: Bool { reorder == nil }

    /// `tensor` in the target layout (the tensor itself, or the reordered copy).
    func apply(_ tensor: Tensor) -> Tensor {
        precondition(tensor.descriptor == source, "\(reorder?.name ?? "relayout"): expected \(source), got \(tensor.descriptor)")
        guard let reorder, let buffer else { return tensor }
        tensor.engine.execute(reorder, [dnnl_exec_arg_t(arg: Arg.src, memory: tensor.memory),
                                        dnnl_exec_arg_t(arg: Arg.dst, memory: buffer.memory)])
        return buffer
    }

    /// Reorders `tensor` (in the target layout) back into `destination` (in the source layout).
    /// Used for gradients that a primitive produced in its own layout.
    static func copy(_ tensor: Tensor, into destination: Tensor, using reorder: Primitive) {
        tensor.engine.execute(reorder, [dnnl_exec_arg_t(arg: Arg.src, memory: tensor.memory),
                                        dnnl_exec_arg_t(arg: Arg.dst, memory: destination.memory)])
    }
}

/// A parameter presented in a primitive's layout, refreshed only when the parameter changed.
final class ParameterView {
    let parameter: Parameter
    private let source: Tensor
    private let relayout: Relayout
    private var seenVersion = -1

    /// `broadcast`, when given, is a view of the parameter's values with another shape
    /// (PReLU's (C) as (1, C, 1, 1)).
    init(_ parameter: Parameter, broadcast: Tensor? = nil, layout: MemoryDescriptor, engine: Engine, name: String) throws {
        self.parameter = parameter
        self.source = broadcast ?? parameter.value
        self.relayout = try Relayout(from: source.descriptor, to: layout, engine: engine, name: name)
    }

    /// The layout the primitive reads.
    var layout: MemoryDescriptor { relayout.target }

    /// The parameter's current values in the primitive's layout.
    var tensor: Tensor {
        if relayout.isIdentity { return source }
        if seenVersion != parameter.version {
            seenVersion = parameter.version
            return relayout.apply(source)
        }
        return relayout.apply(source, refresh: false)
    }
}

extension Relayout {
    /// The target buffer, reordering from `tensor` only when `refresh` is true.
    func apply(_ tensor: Tensor, refresh: Bool) -> Tensor {
        if refresh || isIdentity { return apply(tensor) }
        return buffer!
    }
}

/// A gradient a primitive writes in its own layout, copied into the parameter's plain gradient.
final class GradientSink {
    let destination: Tensor
    let buffer: Tensor
    private let reorder: Primitive?

    /// `separate` forces a private buffer even when layouts agree (for primitives that always
    /// write a parameter gradient, so that an input-only pass leaves the gradient untouched).
    init(into destination: Tensor, layout: MemoryDescriptor, separate: Bool = false, engine: Engine, name: String) throws {
        self.destination = destination
        if layout == destination.descriptor && !separate {
            buffer = destination
            reorder = nil
        } else {
            buffer = Tensor(layout, engine: engine)
            reorder = try Primitive.reorder(from: layout, to: destination.descriptor, engine: engine, name: name)
        }
    }

    /// Copies the buffer into the destination when they differ (call after the primitive ran).
    func flush() {
        if let reorder { Relayout.copy(buffer, into: destination, using: reorder) }
    }
}
