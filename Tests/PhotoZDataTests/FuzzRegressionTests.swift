import Foundation
import Testing
@testable import PhotoZData

/// Inputs the fuzzers found (Fuzz/Regressions/<target>/), each once a crash, now an error.
@Suite struct FuzzRegressionTests {
    /// A shard whose dataset declares an extent beyond 2^63: `Int(hsize_t)` trapped in the
    /// HDF5 wrapper while reading the shape. Now opening it throws and validate reports it.
    @Test func aShardWithAnExtentBeyondInt64IsAnError() throws {
        let path = packageRoot + "/Fuzz/Regressions/shard/extent-beyond-int64.h5"
        #expect(throws: (any Error).self) { try Shard(path: path) }
        let report = validate(path: path)
        #expect(!report.isValid)
        // The reader opens the columns in table order, so the first damaged object it meets is
        // reported (today /object_id's header); what matters is a problem, not a trap.
        #expect(report.problems.contains { $0.contains("extent-beyond-int64.h5") && $0.contains("cannot") }, "\(report.problems)")
    }
}
