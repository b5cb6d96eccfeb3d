import CDNNL

/// A tensor (float32, or bf16 for activations at `Precision.bf16`) that owns a oneDNN memory object.
///
/// The logical shape follows PyTorch order; the physical layout is the one in `descriptor`
/// (plain or blocked). `read()` / `write(_:)` convert to and from plain row-major float32,
/// so callers never see the blocked layout or the bf16 element type. A tensor may also be a view into another
/// tensor's buffer (a strided window); it then keeps that tensor alive.
public final class Tensor {
    /// Shape and physical layout.
    public let descriptor: MemoryDescriptor
    let memory: dnnl_memory_t
    let engine: Engine
    private let base: Tensor?

    /// Allocates a zero-filled tensor with the given layout.
    /// The corresponding C function is `dnnl_memory_create`.
    public init(_ descriptor: MemoryDescriptor, engine: Engine) {
        self.descriptor = descriptor
        self.engine = engine
        self.base = nil
        var m: dnnl_memory_t?
        var md = descriptor.md
        dnnlMust(dnnl_memory_create(&m, &md, engine.engine, photoz_dnnl_memory_allocate()),
                 "dnnl_memory_create", "allocating a tensor \(descriptor)")
        memory = m!
        zero()
    }

    /// A plain tensor of `shape`, zero-filled.
    public convenience init(shape: [Int], engine: Engine) {
        self.init(MemoryDescriptor.plain(shape), engine: engine)
    }

    /// A view with layout `descriptor` whose data start `byteOffset` bytes into `base`'s buffer.
    init(view descriptor: MemoryDescriptor, of base: Tensor, byteOffset: Int = 0) {
        self.descriptor = descriptor
        self.engine = base.engine
        self.base = base
        var m: dnnl_memory_t?
        var md = descriptor.md
        let handle = base.rawPointer + byteOffset
        dnnlMust(dnnl_memory_create(&m, &md, engine.engine, handle),
                 "dnnl_memory_create", "creating a view \(descriptor)")
        memory = m!
    }

    deinit { dnnl_memory_destroy(memory) }

    /// The logical shape.
    public var shape: [Int] { descriptor.dims }

    /// The number of logical elements.
    public var count: Int { descriptor.count }

    /// The raw buffer, in the physical layout of `descriptor`; float32 tensors only.
    public var pointer: UnsafeMutablePointer<Float> {
        precondition(descriptor.dataType == dnnl_f32, "float pointer into a \(descriptor) tensor")
        return rawPointer.assumingMemoryBound(to: Float.self)
    }

    /// The raw buffer of any element type, in the physical layout of `descriptor`.
    var rawPointer: UnsafeMutableRawPointer {
        var handle: UnsafeMutableRawPointer?
        dnnlMust(dnnl_memory_get_data_handle(memory, &handle), "dnnl_memory_get_data_handle", "reading a tensor handle")
        return handle!
    }

    /// The raw buffer of a bf16 tensor as 16-bit words (the upper halves of float32 values).
    var bf16Pointer: UnsafeMutablePointer<UInt16> {
        precondition(descriptor.dataType == dnnl_bf16, "bf16 pointer into a \(descriptor) tensor")
        return rawPointer.assumingMemoryBound(to: UInt16.self)
    }

    /// Sets every element (and padding) to zero.
    public func zero() {
        precondition(base == nil, "zeroing a view would clear its base beyond the view")
        rawPointer.initializeMemory(as: UInt8.self, repeating: 0, count: descriptor.byteCount)
    }

    /// The values in plain row-major order of the logical shape (bf16 values widened exactly).
    public func read() -> [Float] {
        if descriptor.isPlain { return Array(UnsafeBufferPointer(start: pointer, count: count)) }
        let plain = Tensor(.plain(shape), engine: engine)
        plain.copy(from: self)
        return plain.read()
    }

    /// Replaces the values from plain row-major order; `values.count` must equal `count`
    /// (rounded to nearest even when the tensor is bf16).
    public func write(_ values: [Float]) {
        precondition(values.count == count, "writing \(values.count) values into a tensor of \(count) (\(descriptor))")
        if descriptor.isPlain {
            values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: count) }
            return
        }
        let plain = Tensor(.plain(shape), engine: engine)
        plain.write(values)
        copy(from: plain)
    }

    /// Copies `source` into this tensor, converting the layout (same logical shape).
    /// Slow path (builds a reorder each call): for edges and tests, not inside a step.
    public func copy(from source: Tensor) {
        precondition(source.shape == shape, "copying \(source.descriptor) into \(descriptor)")
        if source.descriptor == descriptor && base == nil && source.base == nil {
            rawPointer.copyMemory(from: source.rawPointer, byteCount: descriptor.byteCount)
            return
        }
        do {
            let r = try Primitive.reorder(from: source.descriptor, to: descriptor, engine: engine, name: "copy")
            BoundPrimitive(r, [(Arg.src, source), (Arg.dst, self)]).run(on: engine)
        } catch {
            preconditionFailure("\(error)")
        }
    }
}
