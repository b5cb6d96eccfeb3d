/// Which gradients a backward pass computes.
///
/// Training needs `.parameters` (the input gradient of the first layer is wasted work there);
/// attacks need only `.input` (as PyTorch's `autograd.grad(loss, x)`, which skips weight gradients).
public struct GradientRequest: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// ∂loss/∂input of the layer.
    public static let input = GradientRequest(rawValue: 1)
    /// ∂loss/∂parameter, written into each `Parameter.gradient`.
    public static let parameters = GradientRequest(rawValue: 2)
    public static let all: GradientRequest = [.input, .parameters]
}

/// A layer: an explicit forward/backward pair over oneDNN primitives (no autograd tape).
///
/// Life cycle: `prepare(input:)` builds the primitives and buffers for one input shape and
/// layout (a no-op when they are unchanged); `forward` computes the output into a buffer the
/// layer owns (valid until the next forward) and keeps what backward needs; `backward` takes
/// ∂loss/∂output in the output's layout and returns ∂loss/∂input in the input's layout,
/// writing (not accumulating) parameter gradients. Each parameter is used once per pass.
public protocol Layer: AnyObject {
    /// The layer's parameters with paths relative to the layer (`weight`, `bias`, `alpha`).
    var parameters: [NamedParameter] { get }

    /// Builds primitives for inputs described by `input`; returns the output's descriptor.
    func prepare(input: MemoryDescriptor) throws -> MemoryDescriptor

    /// Computes the output for `x` (whose descriptor is the prepared input descriptor).
    func forward(_ x: Tensor) -> Tensor

    /// Back-propagates `dy` (∂loss/∂output, output layout). Returns ∂loss/∂input when
    /// `request` contains `.input`, otherwise nil.
    func backward(_ dy: Tensor, _ request: GradientRequest) -> Tensor?
}

/// Output size of a convolution or pooling window along one axis.
@inline(__always)
func windowOutput(_ size: Int, kernel: Int, stride: Int, padLow: Int, padHigh: Int) -> Int {
    (size + padLow + padHigh - kernel) / stride + 1
}

/// Padding for TensorFlow-style "SAME" windows (output size ⌈size/stride⌉), extra padding at the
/// bottom/right as TensorFlow puts it.
func samePadding(size: Int, kernel: Int, stride: Int) -> (low: Int, high: Int) {
    let out = (size + stride - 1) / stride
    let total = max((out - 1) * stride + kernel - size, 0)
    return (total / 2, total - total / 2)
}
