import PhotoZData

/// The data set as training, prediction and attacks open it: `DataSetReader` (PhotoZData),
/// under the name the library and CLI have always used.
public typealias DataSet = DataSetReader
