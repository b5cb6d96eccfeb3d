// What the commands need to run under mpirun: work done by rank 0 whose failure every rank
// learns of, the optimizer state and the predictions moved between ranks.
import Foundation
import MPI
import NeuralNet

extension MPIContext {
    /// Runs `body` on rank 0 only and hands its result to every rank. When it throws on rank 0,
    /// rank 0 rethrows its error and every other rank throws an `MPIError` saying rank 0 failed,
    /// so no rank is left waiting in the next collective (a library caller gets an error on
    /// every rank, not a hang). Without MPI it is `body()`.
    public func onRoot<T: Codable>(_ what: String, _ body: () throws -> T) throws -> T {
        guard isDistributed else { return try body() }
        var outcome: Result<T, any Error> = .failure(MPIError(function: what, rank: rank, size: size, summary: what, message: "not run"))
        if isRoot { outcome = Result { try body() } }
        // The failure's text travels in place of the value.
        let sent: RootOutcome<T>? = isRoot ? {
            switch outcome {
            case let .success(value): return RootOutcome(value: value, failure: nil)
            case let .failure(error): return RootOutcome(value: nil, failure: "\(error)")
            }
        }() : nil
        let received = try broadcast(sent)
        if isRoot { return try outcome.get() }
        if let value = received.value { return value }
        throw MPIError(function: "MPIContext.onRoot", rank: rank, size: size, summary: "rank 0 failed: \(what)", message: received.failure ?? "")
    }

    /// Whether the work of every rank succeeded: each rank passes its own error (nil if none);
    /// every rank learns the outcome, and a rank that failed rethrows its error while the others
    /// throw an `MPIError` naming the first failed rank. Call it where ranks did local work that
    /// may fail (reading their rows) before the next collective they would otherwise wait in.
    public func agree(_ what: String, _ error: (any Error)?) throws {
        guard isDistributed else { if let error { throw error }; return }
        let failedRank = try allreduce(error == nil ? Int64(size) : Int64(rank), .min)
        if let error { throw error }
        if failedRank < Int64(size) {
            throw MPIError(function: MPIContext.otherRankFailed, rank: rank, size: size, summary: "rank \(failedRank) failed: \(what)",
                           message: "see rank \(failedRank)'s message")
        }
    }
}

private struct RootOutcome<T: Codable>: Codable {
    var value: T?
    var failure: String?
}

extension ParameterSync {
    /// Gives every rank `root`'s optimizer state (step, schedule and per-parameter buffers), for
    /// `--resume`: the other ranks built the same network and optimizer from the configuration.
    /// The corresponding C function is `MPI_Bcast`.
    public static func broadcast(_ optimizer: Optimizer, from root: Int = 0, context: MPIContext) throws {
        guard context.isDistributed else { return }
        struct Header: Codable {
            var kind: String, step: Int, hyperparameters: [String: Double], schedule: StepSchedule
            var names: [String]
        }
        let state = context.rank == root ? optimizer.exportState() : nil
        let header = try context.broadcast(state.map { s in
            Header(kind: s.kind, step: s.step, hyperparameters: s.hyperparameters, schedule: s.schedule, names: s.buffers.keys.sorted())
        }, root: root)
        var buffers: [String: [Float]] = [:]
        for name in header.names {
            var values = state?.buffers[name] ?? []
            try context.broadcast(&values, root: root)
            buffers[name] = values
        }
        if context.rank != root {
            try optimizer.importState(OptimizerState(kind: header.kind, step: header.step, hyperparameters: header.hyperparameters,
                                                     schedule: header.schedule, buffers: buffers))
        }
    }

    /// Throws unless every rank's parameter list has rank 0's paths and sizes (the same network
    /// was built everywhere), before values are broadcast into it.
    public static func checkSameLayout(_ parameters: [NamedParameter], context: MPIContext) throws {
        guard context.isDistributed else { return }
        let mine = parameters.map { "\($0.path):\($0.parameter.count)" }
        let root = try context.broadcast(context.isRoot ? mine : nil)
        guard root == mine else {
            let first = zip(root, mine).first { $0 != $1 }
            throw MPIError(function: "ParameterSync.checkSameLayout", rank: context.rank, size: context.size,
                           summary: "this rank built another network than rank 0",
                           message: "parameter \(first.map { "\($0.1) vs rank 0's \($0.0)" } ?? "count \(mine.count) vs rank 0's \(root.count)")")
        }
    }
}

extension Predictions {
    /// Concatenates every rank's predictions in rank order on rank 0 (nil on the others): each
    /// rank predicted a contiguous share of the rows, so rank order is the single process's order.
    /// The optional columns are those of rank 0's predictions (every rank runs the same head).
    public func gathered(_ context: MPIContext) throws -> Predictions? {
        guard context.isDistributed else { return self }
        func all<T: MPIScalar>(_ values: [T]) throws -> [T] { try context.gather(values) ?? [] }
        func optional<T: MPIScalar>(_ values: [T]?) throws -> [T]? {
            let gathered = try all(values ?? [])
            return values == nil ? nil : gathered
        }
        var result = Predictions(objectID: try all(objectID), zSpec: try all(zSpec), ebv: try all(ebv), zPhot: try all(zPhot),
                                 zPhotMode: try optional(zPhotMode), zPhotStd: try optional(zPhotStd), pdf: try optional(pdf),
                                 binEdges: binEdges)
        result.trueBinLoss = try optional(trueBinLoss)
        result.ra = try optional(ra)  // positions in ancil, as a single process writes them
        result.dec = try optional(dec)
        result.attributes = attributes
        result.provenance = provenance
        return context.isRoot ? result : nil
    }
}
