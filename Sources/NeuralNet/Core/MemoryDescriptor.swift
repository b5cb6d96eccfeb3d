import CDNNL

/// The shape, element type and physical layout of a tensor, as oneDNN describes it.
///
/// Tensors a caller sees are float32; bfloat16 tensors exist only inside networks running at
/// `Precision.bf16` (activations between convolutions and their gradients, primitive operands).
///
/// Logical dimensions are always in PyTorch order: (N, C, H, W) for activations,
/// (O, I, KH, KW) for convolution weights, (O, I) for dense weights. The physical layout may be
/// plain (row-major over the logical order) or blocked (e.g. `nChw16c`) when a primitive chose it.
public struct MemoryDescriptor: CustomStringConvertible, @unchecked Sendable {
    var md: dnnl_memory_desc_t

    init(_ md: dnnl_memory_desc_t) { self.md = md }

    /// A descriptor of `dims` with the layout named by `tag` (`dnnl_format_tag_any` lets a
    /// primitive choose). The corresponding C function is `dnnl_memory_desc_init_by_tag`.
    init(dims: [Int], tag: dnnl_format_tag_t, type: dnnl_data_type_t = dnnl_f32) {
        var md = dnnl_memory_desc_t()
        let d = dims.map { Int64($0) }
        dnnlMust(dnnl_memory_desc_init_by_tag(&md, Int32(d.count), d, type, tag),
                 "dnnl_memory_desc_init_by_tag", "describing a tensor of shape \(dims)")
        self.md = md
    }

    /// A descriptor of `dims` with explicit element strides (a view into a larger buffer).
    /// The corresponding C function is `dnnl_memory_desc_init_by_strides`.
    init(dims: [Int], strides: [Int]) {
        var md = dnnl_memory_desc_t()
        let d = dims.map { Int64($0) }, s = strides.map { Int64($0) }
        dnnlMust(dnnl_memory_desc_init_by_strides(&md, Int32(d.count), d, dnnl_f32, s),
                 "dnnl_memory_desc_init_by_strides", "describing a strided view of shape \(dims)")
        self.md = md
    }

    /// The plain (row-major, dense) layout for `dims`.
    public static func plain(_ dims: [Int]) -> MemoryDescriptor {
        MemoryDescriptor(dims: dims, tag: plainTag(rank: dims.count))
    }

    /// A descriptor that lets the primitive choose the layout.
    static func any(_ dims: [Int], type: dnnl_data_type_t = dnnl_f32) -> MemoryDescriptor {
        MemoryDescriptor(dims: dims, tag: dnnl_format_tag_any, type: type)
    }

    /// The element type (`dnnl_f32`, `dnnl_bf16`).
    var dataType: dnnl_data_type_t { md.data_type }

    /// The same layout (blocking and strides) with another element type: where a bf16 primitive
    /// takes a float32 tensor, the reorder then only converts, it does not relayout.
    func with(type: dnnl_data_type_t) -> MemoryDescriptor {
        var copy = md
        copy.data_type = type
        // Strides and padding are in elements, so they carry over; the offset too.
        return MemoryDescriptor(copy)
    }

    static func plainTag(rank: Int) -> dnnl_format_tag_t {
        switch rank {
        case 1: return dnnl_a
        case 2: return dnnl_ab
        case 3: return dnnl_abc
        case 4: return dnnl_abcd
        default: preconditionFailure("tensors of rank \(rank) are not supported")
        }
    }

    /// The logical dimensions.
    public var dims: [Int] {
        withUnsafeBytes(of: md.dims) { raw in
            Array(raw.bindMemory(to: Int64.self).prefix(Int(md.ndims))).map { Int($0) }
        }
    }

    /// The number of logical elements.
    public var count: Int { dims.reduce(1, *) }

    /// The size of the physical buffer in bytes (blocked layouts may pad).
    public var byteCount: Int {
        withUnsafePointer(to: md) { dnnl_memory_desc_get_size($0) }
    }

    /// True when the layout is the dense row-major one over the logical dimensions, float32.
    public var isPlain: Bool { self == MemoryDescriptor.plain(dims) }

    /// True when the layout is the dense row-major one, whatever the element type.
    var hasPlainLayout: Bool { self == MemoryDescriptor.plain(dims).with(type: dataType) }

    /// True when this is `tag`'s layout over the same dimensions and element type.
    func hasLayout(_ tag: dnnl_format_tag_t) -> Bool {
        self == MemoryDescriptor(dims: dims, tag: tag, type: dataType)
    }

    /// The same logical shape with a different batch size.
    func withBatch(_ n: Int) -> MemoryDescriptor {
        var d = dims
        d[0] = n
        return MemoryDescriptor.plain(d)
    }

    /// A short description of the shape and layout, e.g. `64x240x32x32 (blocked)`.
    public var description: String {
        let shape = dims.map(String.init).joined(separator: "x")
        let type = dataType == dnnl_f32 ? "" : dataType == dnnl_bf16 ? " bf16" : " type \(dataType.rawValue)"
        return "\(shape) (\(hasPlainLayout ? "plain" : "blocked")\(type))"
    }
}

extension MemoryDescriptor: Equatable {
    /// Equal when shape and physical layout are the same. The C function is `dnnl_memory_desc_equal`.
    public static func == (lhs: MemoryDescriptor, rhs: MemoryDescriptor) -> Bool {
        withUnsafePointer(to: lhs.md) { l in withUnsafePointer(to: rhs.md) { r in dnnl_memory_desc_equal(l, r) != 0 } }
    }
}
