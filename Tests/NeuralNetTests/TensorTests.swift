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
