// Fuzz target: `evaluate`'s reading side. The input is one HDF5 file read as a predictions
// file, evaluated and plotted (the plots go to the scratch folder).
import Foundation
import PhotoZ

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPredictions(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzScratch.write(data, size, as: "predictions.h5")
    guard let predictions = try? PredictionFile.read(path), case let report = evaluatePredictions(predictions) else { return 0 }
    _ = report.table
    _ = try? PredictionPlots.write(predictions, report: report, beside: path)
    return 0
}
