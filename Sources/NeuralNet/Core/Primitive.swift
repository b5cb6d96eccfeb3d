import CDNNL

/// A oneDNN primitive together with its primitive descriptor (one owner, released in `deinit`).
///
/// Built once per layer and batch shape, then executed many times.
final class Primitive {
    let descriptor: dnnl_primitive_desc_t
    let handle: dnnl_primitive_t
    /// What this primitive computes, for error messages (e.g. `conv0 forward 64x5x64x64`).
    let name: String

    /// Takes ownership of `descriptor` and creates the primitive.
    /// The corresponding C function is `dnnl_primitive_create`.
    init(descriptor: dnnl_primitive_desc_t, name: String) throws {
        var p: dnnl_primitive_t?
        let status = dnnl_primitive_create(&p, descriptor)
        if status != dnnl_success { dnnl_primitive_desc_destroy(descriptor) }
        try dnnlCheck(status, "dnnl_primitive_create", "creating \(name)")
        self.descriptor = descriptor
        self.handle = p!
        self.name = name
    }

    /// Builds a primitive from an operation descriptor (`dnnl_convolution_desc_t` etc.).
    /// The corresponding C function is `dnnl_primitive_desc_create`.
    convenience init<Op>(op: inout Op, engine: Engine, hint: Primitive? = nil,
                         attributes: dnnl_primitive_attr_t? = nil, name: String) throws {
        var pd: dnnl_primitive_desc_t?
        let status = withUnsafePointer(to: &op) { ptr in
            dnnl_primitive_desc_create(&pd, UnsafeRawPointer(ptr), attributes, engine.engine, hint?.descriptor)
        }
        try dnnlCheck(status, "dnnl_primitive_desc_create", "building \(name)")
        try self.init(descriptor: pd!, name: name)
    }

    /// A reorder from one layout to another (or into / out of a strided view).
    /// The corresponding C function is `dnnl_reorder_primitive_desc_create`.
    static func reorder(from src: MemoryDescriptor, to dst: MemoryDescriptor, engine: Engine, name: String) throws -> Primitive {
        var pd: dnnl_primitive_desc_t?
        var s = src.md, d = dst.md
        try dnnlCheck(dnnl_reorder_primitive_desc_create(&pd, &s, engine.engine, &d, engine.engine, nil),
                      "dnnl_reorder_primitive_desc_create", "building reorder \(name): \(src) -> \(dst)")
        return try Primitive(descriptor: pd!, name: "reorder \(name)")
    }

    deinit {
        dnnl_primitive_destroy(handle)
        dnnl_primitive_desc_destroy(descriptor)
    }

    /// The memory descriptor the primitive chose for `what` (e.g. `dnnl_query_src_md`).
    func query(_ what: dnnl_query_t, _ index: Int32 = 0) -> MemoryDescriptor {
        guard let md = dnnl_primitive_desc_query_md(descriptor, what, index) else {
            preconditionFailure("\(name) has no memory descriptor for query \(what.rawValue)")
        }
        return MemoryDescriptor(md.pointee)
    }

    /// The implementation oneDNN picked, e.g. `jit:avx512_core` or `ref:any`.
    var implementation: String {
        var info: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &info) == dnnl_success,
              let info else { return "unknown" }
        return String(cString: info)
    }
}

/// A primitive bound to its arguments: executing it costs no allocation.
struct BoundPrimitive {
    let primitive: Primitive
    let args: [dnnl_exec_arg_t]
    // Keeps the tensors alive as long as their handles sit in `args`.
    private let tensors: [Tensor]

    init(_ primitive: Primitive, _ bindings: [(Int32, Tensor)]) {
        self.primitive = primitive
        self.args = bindings.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.memory) }
        self.tensors = bindings.map(\.1)
    }

    func run(on engine: Engine) { engine.execute(primitive, args) }
}
