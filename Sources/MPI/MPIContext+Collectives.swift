// Broadcast, allreduce and gather on the world communicator. Buffers larger than
// `elementsPerCall` go in several calls (MPI's counts are C ints). Without MPI each returns at
// once: the broadcast value is the caller's, the reduction of one rank is its own values.
import CMPI
import Foundation

extension MPIContext {
    // MARK: Broadcast

    /// Copies `root`'s buffer into every rank's buffer; every rank passes the same count.
    /// The corresponding C function is `MPI_Bcast`.
    public func broadcast<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int = 0) throws {
        checkRoot(root, "broadcast")
        guard let world, let base = buffer.baseAddress else { return }
        for piece in pieces(buffer.count) {
            try call("MPI_Bcast", "cannot broadcast \(buffer.count) values from rank \(root)") {
                MPI_Bcast(base + piece.offset, piece.count, T.mpiScalarKind.datatype, Int32(root), world)
            }
        }
    }

    /// Makes every rank's `array` equal to `root`'s, whatever its count on the other ranks.
    ///
    /// The count is broadcast first; a count above `maximumCount` is refused on the receivers
    /// (a bug on the root, not a reason to allocate without bound).
    public func broadcast<T: MPIScalar>(_ array: inout [T], root: Int = 0, maximumCount: Int = 1 << 32) throws {
        checkRoot(root, "broadcast")
        guard isDistributed else { return }
        var count = [Int64(rank == root ? array.count : 0)]
        try count.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
        let n = Int(count[0])
        guard n >= 0, n <= maximumCount else {
            throw error("broadcast", "cannot receive an array from rank \(root)",
                        "rank \(root) sends \(n) values, more than the \(maximumCount) expected")
        }
        if rank != root { array = [T](unsafeUninitializedCapacity: n) { _, initialized in initialized = n } }
        try array.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    }

    /// Sends `root`'s value (JSON-encoded) to every rank; the other ranks pass nil and get it back.
    ///
    /// When the root cannot encode its value, every rank throws (the root sends that instead of
    /// leaving the others waiting).
    public func broadcast<T: Codable>(_ value: T?, root: Int = 0, maximumBytes: Int = 1 << 30) throws -> T {
        checkRoot(root, "broadcast")
        if rank == root { precondition(value != nil, "MPI: the root of a broadcast passes its value") }
        guard isDistributed else { return value! }
        var bytes: [UInt8] = []
        var encodingError: (any Error)?
        if rank == root {
            do { bytes = Array(try JSONEncoder().encode(value!)) } catch { encodingError = error }
        }
        // A leading flag says whether the root's encoding worked.
        var payload = rank == root ? [encodingError == nil ? 1 : 0] + bytes : []
        try broadcast(&payload, root: root, maximumCount: maximumBytes + 1)
        if let encodingError { throw error("broadcast", "cannot encode \(T.self) to broadcast", "\(encodingError)") }
        guard payload.first == 1 else {
            throw error("broadcast", "cannot receive \(T.self) from rank \(root)", "rank \(root) could not encode it (see its message)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(payload.dropFirst()))
        } catch {
            throw self.error("broadcast", "cannot decode \(T.self) from rank \(root)", "\(error)")
        }
    }

    // MARK: Allreduce

    /// Replaces every rank's buffer, element by element, with the reduction over the ranks; same count on every rank.
    /// The corresponding C function is `MPI_Allreduce` (with `MPI_IN_PLACE`).
    public func allreduce<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, _ reduction: MPIReduction) throws {
        guard let world, let base = buffer.baseAddress else { return }
        for piece in pieces(buffer.count) {
            let op = try lock.withLock { try operation(reduction, T.mpiScalarKind) }
            try call("MPI_Allreduce", "cannot reduce \(buffer.count) values across the ranks") {
                MPI_Allreduce(photoz_MPI_IN_PLACE(), base + piece.offset, piece.count, T.mpiScalarKind.datatype, op, world)
            }
        }
    }

    /// `allreduce` over an array, in place.
    public func allreduce<T: MPIScalar>(_ array: inout [T], _ reduction: MPIReduction) throws {
        try array.withUnsafeMutableBufferPointer { try allreduce($0, reduction) }
    }

    /// The reduction of one value over the ranks.
    public func allreduce<T: MPIScalar>(_ value: T, _ reduction: MPIReduction) throws -> T {
        var values = [value]
        try allreduce(&values, reduction)
        return values[0]
    }

    /// Starts an in-place allreduce and returns at once; `buffer` must stay valid and untouched
    /// until the returned request is waited for. Every rank starts its non-blocking collectives
    /// in the same order.
    ///
    /// OpenMPI progresses a non-blocking collective only inside MPI calls, so a caller that wants
    /// it to advance while it computes calls `test()` on the request now and then.
    /// The corresponding C function is `MPI_Iallreduce`.
    public func startAllreduce<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, _ reduction: MPIReduction) throws -> MPIRequest {
        let request = MPIRequest(context: self)
        guard let world, let base = buffer.baseAddress else { return request }
        for piece in pieces(buffer.count) {
            var handle: MPI_Request? = photoz_MPI_REQUEST_NULL()
            let op = try lock.withLock { try operation(reduction, T.mpiScalarKind) }
            try call("MPI_Iallreduce", "cannot start reducing \(buffer.count) values across the ranks") {
                MPI_Iallreduce(photoz_MPI_IN_PLACE(), base + piece.offset, piece.count, T.mpiScalarKind.datatype,
                               op, world, &handle)
            }
            request.handles.append(handle)
        }
        return request
    }

    // MARK: Gather

    /// Concatenates every rank's `values` in rank order on `root` (nil on the other ranks).
    ///
    /// Ranks may pass different counts, including none. The counts are gathered first
    /// (`MPI_Gather`), then each rank's values are sent to the root in pieces (`MPI_Send`/`MPI_Recv`),
    /// so no count or offset has to fit a C int.
    public func gather<T: MPIScalar>(_ values: [T], root: Int = 0) throws -> [T]? {
        checkRoot(root, "gather")
        guard let world else { return values }
        var mine = [Int64(values.count)]
        var counts = [Int64](repeating: 0, count: rank == root ? size : 0)
        try mine.withUnsafeMutableBufferPointer { send in
            try counts.withUnsafeMutableBufferPointer { receive in
                try call("MPI_Gather", "cannot gather the counts of values on rank \(root)") {
                    MPI_Gather(send.baseAddress, 1, photoz_MPI_INT64_T(), receive.baseAddress, 1, photoz_MPI_INT64_T(), Int32(root), world)
                }
            }
        }
        let datatype = T.mpiScalarKind.datatype
        let tag: Int32 = 7
        guard rank == root else {
            try values.withUnsafeBufferPointer { buffer in
                for piece in pieces(buffer.count) {
                    try call("MPI_Send", "cannot send \(buffer.count) values to rank \(root)") {
                        MPI_Send(buffer.baseAddress! + piece.offset, piece.count, datatype, Int32(root), tag, world)
                    }
                }
            }
            return nil
        }
        let total = counts.reduce(0, +)
        var result = [T](unsafeUninitializedCapacity: Int(total)) { _, initialized in initialized = Int(total) }
        try result.withUnsafeMutableBufferPointer { out in
            var offset = 0
            for source in 0..<size {
                let n = Int(counts[source])
                if source == rank {
                    values.withUnsafeBufferPointer { own in
                        if n > 0 { (out.baseAddress! + offset).update(from: own.baseAddress!, count: n) }
                    }
                } else {
                    for piece in pieces(n) {
                        try call("MPI_Recv", "cannot receive \(n) values from rank \(source)") {
                            MPI_Recv(out.baseAddress! + offset + piece.offset, piece.count, datatype, Int32(source), tag, world,
                                     photoz_MPI_STATUS_IGNORE())
                        }
                    }
                }
                offset += n
            }
        }
        return result
    }
}
