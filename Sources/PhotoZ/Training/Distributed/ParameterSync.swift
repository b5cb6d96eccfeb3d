// Making and checking the parameters identical on every rank.
import MPI
import NeuralNet

/// Parameters across ranks: rank 0's values everywhere at the start of a run (or on `--resume`),
/// and the check that they stayed identical.
public enum ParameterSync {
    /// Copies `root`'s parameter values to every rank (each rank built the same network, so the
    /// list, its order and shapes are the same everywhere).
    /// The corresponding C function is `MPI_Bcast`.
    public static func broadcast(_ parameters: [NamedParameter], from root: Int = 0, context: MPIContext) throws {
        guard context.isDistributed else { return }
        for p in parameters {
            try context.broadcast(UnsafeMutableBufferPointer(start: p.parameter.value.pointer, count: p.parameter.count), root: root)
            p.parameter.didChange()  // layers refresh their blocked copies
        }
    }

    /// The paths of the parameters whose values differ between ranks (empty when identical
    /// everywhere; the same answer on every rank).
    ///
    /// Compares a 64-bit hash of each parameter's bits by its minimum and maximum over the
    /// ranks: two bytes of difference anywhere change the hash.
    public static func differing(_ parameters: [NamedParameter], context: MPIContext) throws -> [String] {
        guard context.isDistributed else { return [] }
        let hashes = parameters.map { Int64(bitPattern: hash($0.parameter)) }
        var lowest = hashes, highest = hashes
        try context.allreduce(&lowest, .min)
        try context.allreduce(&highest, .max)
        return parameters.indices.filter { lowest[$0] != highest[$0] }.map { parameters[$0].path }
    }

    /// FNV-1a over the bits of the values (plain layout).
    static func hash(_ parameter: Parameter) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        let p = parameter.value.pointer
        for i in 0..<parameter.count {
            h = (h ^ UInt64(p[i].bitPattern)) &* 0x0000_0100_0000_01B3
        }
        return h
    }
}
