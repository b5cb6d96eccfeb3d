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
        [
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
    }

    /// Saves the parameters (and optionally optimizer state and history) as an HDF5 model file,
    /// atomically; an existing file is replaced only when `overwrite` is true.
    public func save(to path: String, optimizer: Optimizer? = nil, history: String? = nil, overwrite: Bool = false) throws {
        var attributes = modelAttributes
        attributes.merge(Provenance.photoz(schema: ModelFile.schema, version: ModelFile.schemaVersion, stage: "PhotoZNetwork.save",
                                           configuration: ["architecture": architecture.rawValue, "head": head.rawValue,
                                                           "pixel_transform": pixelTransform.rawValue], inputs: []).hdf5Attributes) { $1 }
        try ModelFile(attributes: attributes, parameters: parameters, optimizer: optimizer?.exportState(), history: history)
            .write(to: path, overwrite: overwrite)
    }

    /// Reads a model file: builds the network it describes and loads its parameters. Throws
    /// `ModelFileError` for an unknown architecture or head, a missing parameter or a shape
    /// mismatch (naming the parameter).
    public static func load(from path: String, engine: Engine? = nil) throws -> LoadedModel {
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
        guard count > 0 && zMax > zMin else {
            throw ModelFileError(path: path, message: "invalid bins: \(count) over [\(zMin), \(zMax)]")
        }
        let network = try PhotoZNetwork(architecture: architecture, head: head,
                                        bins: RedshiftBins(count: count, zMin: zMin, zMax: zMax),
                                        pixelTransform: transform, bands: try integer("bands"),
                                        imageSize: try integer("image_size"), engine: engine)
        try file.restore(into: network.parameters, path: path)
        return LoadedModel(network: network, optimizerState: file.optimizer, history: file.history)
    }
}
