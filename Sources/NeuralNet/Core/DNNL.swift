// The one place that turns oneDNN status codes into Swift errors.
import CDNNL

/// An error reported by oneDNN while building or running a primitive.
public struct DNNLError: Error, CustomStringConvertible, Sendable {
    /// The oneDNN status code (e.g. `unimplemented`, `invalid_arguments`).
    public let status: String
    /// The C function that failed, e.g. `dnnl_primitive_desc_create`.
    public let function: String
    /// What was being built: the layer or primitive and its shapes.
    public let context: String

    public var description: String {
        "oneDNN \(function) failed (\(status)) while \(context)"
    }
}

/// Checks a oneDNN status and throws a `DNNLError` naming `function` and `context` when it is not success.
@inline(__always)
func dnnlCheck(_ status: dnnl_status_t, _ function: StaticString, _ context: @autoclosure () -> String) throws {
    if status != dnnl_success {
        throw DNNLError(status: statusName(status), function: "\(function)", context: context())
    }
}

/// Traps with a precise message when oneDNN fails where failure means a bug (e.g. executing
/// a primitive whose arguments were validated when it was built).
@inline(__always)
func dnnlMust(_ status: dnnl_status_t, _ function: StaticString, _ context: @autoclosure () -> String) {
    if status != dnnl_success {
        preconditionFailure("oneDNN \(function) failed (\(statusName(status))) while \(context())")
    }
}

private func statusName(_ status: dnnl_status_t) -> String {
    if let name = dnnl_status2str(status) { return String(cString: name) }
    return "status \(status.rawValue)"
}

/// Execute-argument identifiers (the `DNNL_ARG_*` macros).
enum Arg {
    static let src = Int32(DNNL_ARG_SRC_0)
    static let dst = Int32(DNNL_ARG_DST_0)
    static let weights = Int32(DNNL_ARG_WEIGHTS_0)
    static let bias = Int32(DNNL_ARG_BIAS)
    static let workspace = Int32(DNNL_ARG_WORKSPACE)
    static let diffSrc = Int32(DNNL_ARG_DIFF_SRC_0)
    static let diffDst = Int32(DNNL_ARG_DIFF_DST_0)
    static let diffWeights = Int32(DNNL_ARG_DIFF_WEIGHTS_0)
    static let diffBias = Int32(DNNL_ARG_DIFF_BIAS)
    /// The i-th source of a multi-source primitive (concat, sum).
    static func multipleSrc(_ i: Int) -> Int32 { Int32(DNNL_ARG_MULTIPLE_SRC) + Int32(i) }
}
