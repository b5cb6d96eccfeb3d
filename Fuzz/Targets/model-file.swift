// Fuzz target: the model-file reader. The input is one HDF5 file read as a model file and
// loaded into the network it describes.
import Foundation
import NeuralNet
import PhotoZ

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzScratch.write(data, size, as: "model.h5")
    _ = try? ModelFile.read(from: path)
    _ = try? PhotoZNetwork.load(from: path)
    return 0
}
