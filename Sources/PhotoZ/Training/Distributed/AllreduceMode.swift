// AllreduceMode: whether the gradient averaging under mpirun overlaps the backward pass.
import Foundation
import PhotoZData

/// How `Trainer` averages gradients under mpirun (`GradientBucketReducer`'s two paths).
public enum AllreduceMode: String, Sendable, CaseIterable {
    /// Each bucket's `MPI_Iallreduce` starts as soon as backward has made its gradients final,
    /// and runs while the earlier layers still run backward (as PyTorch DDP and Horovod do).
    case overlap
    /// Every bucket is reduced after backward with the blocking `MPI_Allreduce`: the fallback
    /// for MPI libraries whose non-blocking collectives are slow or unreliable.
    case blocking

    /// The environment variable that chooses the mode, read by every rank (`mpirun -x` passes
    /// it to ranks on other nodes).
    public static let variable = "PHOTOZ_ALLREDUCE"

    /// The mode `PHOTOZ_ALLREDUCE` names (`overlap` or `blocking`); `overlap` when it is unset
    /// or empty. Another value is an error naming the variable.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AllreduceMode {
        guard let value = environment[variable], !value.isEmpty else { return .overlap }
        guard let mode = AllreduceMode(rawValue: value.lowercased()) else {
            throw PhotoZDataError.invalidOption("\(variable)=\(value) is not a gradient allreduce mode; use \(allCases.map(\.rawValue).joined(separator: " or ")), or leave it unset (overlap)")
        }
        return mode
    }
}
