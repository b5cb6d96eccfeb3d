import NeuralNet

/// The arithmetic of convolutions and dense layers (`--precision f32|bf16`), re-exported so that
/// the command-line tool and other clients of `PhotoZ` need not import `NeuralNet`.
public typealias Precision = NeuralNet.Precision
