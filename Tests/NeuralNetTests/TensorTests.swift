import Testing
@testable import NeuralNet
import CDNNL

@Suite("Tensors")
struct TensorTests {
    @Test("write then read returns the plain values, also through a blocked layout")
    func roundTrip() throws {
        let engine = try Engine()
        let values = (0..<(2 * 20 * 3 * 3)).map { Float($0) * 0.5 }
        let plain = Tensor(shape: [2, 20, 3, 3], engine: engine)
        plain.write(values)
        #expect(plain.read() == values)
        let blocked = Tensor(MemoryDescriptor(dims: [2, 20, 3, 3], tag: dnnl_nChw16c), engine: engine)
        #expect(!blocked.descriptor.isPlain)
        blocked.copy(from: plain)
        #expect(blocked.read() == values)
    }
}

@inline(never) func opaque(_ x: Float) -> Float { x }

@Suite("Denormals")
struct DenormalTests {
    /// Network arithmetic flushes denormals to zero (speed); the caller's thread keeps IEEE
    /// arithmetic afterwards, so code that runs on it later (the sky simulation) is unaffected.
    @Test("flushed inside withDenormalsFlushed and inside primitives, IEEE again afterwards")
    func flushedOnlyWhereAsked() throws {
        let tiny = Float.leastNormalMagnitude
        #expect(tiny * opaque(0.5) > 0)                           // IEEE: a denormal
        let inside = withDenormalsFlushed { tiny * opaque(0.5) }
        #expect(inside == 0)
        #expect(tiny * opaque(0.5) > 0)                           // restored
        let before = photoz_mxcsr()
        let engine = try Engine()
        let x = Tensor(shape: [2, 20, 3, 3], engine: engine)
        x.write((0..<360).map { Float($0) })
        let blocked = Tensor(MemoryDescriptor(dims: [2, 20, 3, 3], tag: dnnl_nChw16c), engine: engine)
        blocked.copy(from: x)                                     // runs a reorder primitive
        #expect(photoz_mxcsr() == before)
        #expect(tiny * opaque(0.5) > 0)
    }
}
