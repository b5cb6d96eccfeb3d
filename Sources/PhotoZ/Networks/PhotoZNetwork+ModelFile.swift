import Foundation
import HDF5
import NeuralNet
import SafeOutput

/// A network read from a model file, with what is needed to resume training.
public struct LoadedModel {
    public let network: PhotoZNetwork
    /// The optimizer state saved with the network, if any (pass to `Optimizer.importState`).
    public let optimizerState: OptimizerState?
    /// The training history (JSON), if saved.
    public let history: String?
}

extension PhotoZNetwork {
    /// The root attributes a model file records for this network.
    public var modelAttributes: [String: HDF5AttributeValue] {
        var attributes: [String: HDF5AttributeValue] = [
            "architecture": .string(architecture.rawValue),
            "head": .string(head.rawValue),
            "bins_count": .int64(Int64(bins.count)),
            "bins_z_min": .double(bins.zMin),
            "bins_z_max": .double(bins.zMax),
            "pixel_transform": .string(pixelTransform.rawValue),
            "bands": .int64(Int64(bands)),
            "image_size": .int64(Int64(imageSize)),
            "parameter_count": .int64(Int64(parameters.scalarCount)),
            "creator": .string("photoz"),
        ]
        // Informational: the weights in the file already include it (`withInputScaleFolded`).
        if let inputScale { attributes["training_input_scale"] = .doubles(inputScale.map(Double.init)) }
        return attributes
    }

    /// Saves the parameters (and optionally optimizer state and history) as an HDF5 model file,
    /// atomically; an existing file is replaced only when `overwrite` is true.
    public func save(to path: String, optimizer: Optimizer? = nil, history: String? = nil, overwrite: Bool = false) throws {
        var attributes = modelAttributes
        attributes.merge(Provenance.photoz(schema: ModelFile.schema, version: ModelFile.schemaVersion, stage: "PhotoZNetwork.save",
                                           configuration: ["architecture": architecture.rawValue, "head": head.rawValue,
                                                           "pixel_transform": pixelTransform.rawValue], inputs: []).hdf5Attributes) { $1 }
        try withInputScaleFolded {
            try ModelFile(attributes: attributes, parameters: parameters, optimizer: optimizer?.exportState(), history: history)
                .write(to: path, overwrite: overwrite)
        }
    }

    /// What a model file may declare; everything is checked before the network is built.
    public static let limits = (bands: 1...16, imageSize: 8...512, binsCount: 1...10_000, zMax: 20.0)

    /// The number of parameter values of a network, without allocating it: the count is
    /// a + b·(imageSize/8)² (only the first dense layer depends on the image size), so two
    /// networks for 8- and 16-pixel images give a and b.
    static func parameterCount(architecture: Architecture, head: Head, bins: RedshiftBins, bands: Int, imageSize: Int, engine: Engine?) throws -> Int {
        func count(_ size: Int) throws -> Int {
            try PhotoZNetwork(architecture: architecture, head: head, bins: bins, bands: bands, imageSize: size, engine: engine).parameters.scalarCount
        }
        let small = try count(8), twice = try count(16)
        let perCell = (twice - small) / 3  // (16/8)² − (8/8)² = 3 cells more
        let cells = (imageSize / 8) * (imageSize / 8)
        return small + perCell * (cells - 1)
    }

    /// Reads a model file: builds the network it describes and loads its parameters. Throws
    /// `ModelFileError` for an unknown architecture or head, attributes outside `limits`, a
    /// missing parameter, a shape mismatch (naming the parameter) or non-finite values.
    ///
    /// `inputScale` (training only): the scale the run was trained with; the file's folded first
    /// convolution is unfolded into a network that applies it, so that training continues exactly.
    public static func load(from path: String, engine: Engine? = nil, inputScale: [Float]? = nil) throws -> LoadedModel {
        let file = try ModelFile.read(from: path)
        func string(_ key: String) throws -> String {
            guard let v = file.attributes[key]?.stringValue else {
                throw ModelFileError(path: path, message: "missing attribute \(key)")
            }
            return v
        }
        func integer(_ key: String) throws -> Int {
            guard let v = file.attributes[key]?.int64Value else { throw ModelFileError(path: path, message: "missing attribute \(key)") }
            return Int(v)
        }
        func number(_ key: String) throws -> Double {
            guard let v = file.attributes[key]?.doubleValue else { throw ModelFileError(path: path, message: "missing attribute \(key)") }
            return v
        }
        let name = try string("architecture")
        guard let architecture = Architecture(rawValue: name) else {
            throw ModelFileError(path: path, message: "unknown architecture \"\(name)\" (known: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let headName = try string("head")
        guard let head = Head(rawValue: headName) else {
            throw ModelFileError(path: path, message: "unknown head \"\(headName)\" (known: classification, regression)")
        }
        let transformName = try string("pixel_transform")
        guard let transform = PixelTransform(rawValue: transformName) else {
            throw ModelFileError(path: path, message: "unknown pixel transform \"\(transformName)\"")
        }
        let count = try integer("bins_count"), zMin = try number("bins_z_min"), zMax = try number("bins_z_max")
        guard limits.binsCount.contains(count), zMin.isFinite, zMax.isFinite, zMin > -1, zMax > zMin, zMax <= limits.zMax else {
            throw ModelFileError(path: path, message: "invalid bins: bins_count = \(count), bins_z_min = \(zMin), bins_z_max = \(zMax); a model file has 1...\(limits.binsCount.upperBound) bins over a finite range with -1 < z_min < z_max <= \(limits.zMax)")
        }
        let bands = try integer("bands"), imageSize = try integer("image_size")
        guard limits.bands.contains(bands) else {
            throw ModelFileError(path: path, message: "bands = \(bands) is outside \(limits.bands.lowerBound)...\(limits.bands.upperBound)")
        }
        guard limits.imageSize.contains(imageSize), imageSize % 8 == 0 else {
            throw ModelFileError(path: path, message: "image_size = \(imageSize) is not a multiple of 8 in \(limits.imageSize.lowerBound)...\(limits.imageSize.upperBound)")
        }
        let bins = RedshiftBins(count: count, zMin: zMin, zMax: zMax)
        // The dense layers grow as image_size²: past the default stamp size, the network's
        // parameter count is predicted (from two tiny networks) and compared with the file's
        // before the network is allocated, so a file cannot make photoz allocate gigabytes
        // it does not hold.
        if imageSize > 64 {
            let expected = try parameterCount(architecture: architecture, head: head, bins: bins, bands: bands, imageSize: imageSize, engine: engine)
            let stored = file.parameters.values.reduce(0) { $0 + $1.values.count }
            guard expected == stored else {
                throw ModelFileError(path: path, message: "the file holds \(stored) parameter values but a \(architecture.rawValue) network for \(bands) bands and \(imageSize)-pixel images has \(expected): the attributes do not match the parameters")
            }
        }
        let network = try PhotoZNetwork(architecture: architecture, head: head, bins: bins,
                                        pixelTransform: transform, bands: bands,
                                        imageSize: imageSize, inputScale: inputScale, engine: engine)
        try file.restore(into: network.parameters, path: path)
        network.unfoldInputScale()
        return LoadedModel(network: network, optimizerState: file.optimizer, history: file.history)
    }
}
