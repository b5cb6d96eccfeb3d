import CDNNL
import Foundation

/// The arithmetic of convolutions and dense layers.
///
/// `.bf16` runs convolutions and dense layers on bfloat16 operands (oneDNN's AVX512-BF16
/// kernels, `jit_bf16:avx512_core_bf16` on Zen 4 / Cooper Lake and later) with float32
/// accumulation. Convolutions write bf16 activations, and everything between two convolutions
/// (PReLU, ReLU, pooling, concatenation, the sum of branch gradients) keeps its input's type, so
/// the convolutional stage runs in bf16 end to end, forward and backward, without conversions;
/// the network input, its gradient, dense-layer outputs, the loss and softmax stay float32, as
/// do the master weights (each layer keeps a bf16 copy refreshed once per weight update), their
/// gradients and the optimizer state. Model files are float32 either way. bf16 keeps 8
/// significant bits (relative rounding error ≤ 2⁻⁸ ≈ 0.4 %, half the spacing 2⁻⁷ of [1, 2)).
public enum Precision: String, Codable, Sendable, CaseIterable {
    case f32, bf16

    /// The precision of engines created without an explicit one; the command-line tools set it
    /// from `--precision` so that every network a command builds or loads uses it.
    public static var `default`: Precision {
        get { defaultLock.withLock { defaultValue } }
        set { defaultLock.withLock { defaultValue = newValue } }
    }
    private static let defaultLock = NSLock()
    nonisolated(unsafe) private static var defaultValue = Precision.f32

    /// oneDNN's element type of the operands of convolutions and dense layers, and of the
    /// activations convolutions write.
    var operandType: dnnl_data_type_t { self == .bf16 ? dnnl_bf16 : dnnl_f32 }
}

/// A oneDNN CPU engine and the stream that runs primitives on it.
///
/// Every tensor and layer of a network is created on one `Engine`. oneDNN streams are not
/// thread-safe: use one engine per thread (a network and everything it owns belongs to one
/// thread at a time). Execution is synchronous: `execute` returns once the primitive is done,
/// so tensors may be read right after a layer returns.
public final class Engine: @unchecked Sendable {
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t
    /// The arithmetic of the convolutions and dense layers built on this engine (fixed: layers
    /// read it when they build their primitives).
    public let precision: Precision

    /// Creates a CPU engine and its stream. Threads: OpenMP reads `OMP_NUM_THREADS`.
    /// `precision` defaults to `Precision.default`.
    ///
    /// The corresponding C functions are `dnnl_engine_create` and `dnnl_stream_create`.
    public init(precision: Precision? = nil) throws {
        self.precision = precision ?? Precision.default
        var e: dnnl_engine_t?
        try dnnlCheck(dnnl_engine_create(&e, dnnl_cpu, 0), "dnnl_engine_create", "creating the CPU engine")
        var s: dnnl_stream_t?
        let status = dnnl_stream_create(&s, e, dnnl_stream_default_flags.rawValue)
        if status != dnnl_success { dnnl_engine_destroy(e) }
        try dnnlCheck(status, "dnnl_stream_create", "creating the CPU stream")
        engine = e!
        stream = s!
    }

    deinit {
        dnnl_stream_destroy(stream)
        dnnl_engine_destroy(engine)
    }

    /// Runs `primitive` with `args` and waits for it to finish, denormals flushed to zero.
    func execute(_ primitive: Primitive, _ args: [dnnl_exec_arg_t]) {
        withDenormalsFlushed {
            args.withUnsafeBufferPointer { buffer in
                dnnlMust(dnnl_primitive_execute(primitive.handle, stream, Int32(buffer.count), buffer.baseAddress),
                         "dnnl_primitive_execute", "running \(primitive.name)")
            }
            dnnlMust(dnnl_stream_wait(stream), "dnnl_stream_wait", "waiting for \(primitive.name)")
        }
    }

    /// The oneDNN library version, e.g. "2.6.3".
    public static var libraryVersion: String {
        guard let v = dnnl_version()?.pointee else { return "unknown" }
        return "\(v.major).\(v.minor).\(v.patch)"
    }
}

/// Runs `body` with denormal floats flushed to zero (the FTZ and DAZ bits of the calling thread's
/// SSE control register set), then restores the register.
///
/// Network arithmetic meets denormals (below 1.2e-38) in small gradients, their squares in
/// Adam's second moment and the activations of real images; x86 handles each such operand
/// in microcode, about a hundred times slower, so the small CNN trained 4 % slower on real
/// shards than on random inputs. TensorFlow computes with denormals flushed on CPU for the same
/// reason; no value a network computes with is near that magnitude. OpenMP's worker threads are
/// created inside the first primitive and keep the flushing they inherit; the register of the
/// calling thread is restored, so other code on it (the sky simulation) sees IEEE arithmetic.
@inline(__always)
public func withDenormalsFlushed<T>(_ body: () throws -> T) rethrows -> T {
    let saved = photoz_mxcsr()
    photoz_set_mxcsr(saved | 0x8040)
    defer { photoz_set_mxcsr(saved) }
    return try body()
}
