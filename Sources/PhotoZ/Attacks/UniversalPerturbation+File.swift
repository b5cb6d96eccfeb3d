import Foundation
import SafeOutput
import HDF5
import PhotoZData

extension UniversalPerturbation {
    /// Writes v as HDF5 (`schemas/universal-perturbation.md`): dataset `perturbation` float32
    /// (5, S, S), the provenance (`stage` and `inputs`: the model and data it was fitted on) and
    /// the attack settings as root attributes; atomically (`AtomicFile`), refusing to replace an
    /// existing file unless `overwrite`, and then only a universal-perturbation file.
    public func write(to path: String, overwrite: Bool = false, stage: String = "attack --method universal",
                      inputs: [Provenance.Input] = []) throws {
        let record = Provenance.photoz(schema: Self.schema, version: Self.version, stage: stage, configuration: configuration, inputs: inputs)
        try AtomicFile.write(to: path, replacing: .overwrite(overwrite, recognise: PhotoZOutputs.isUniversalPerturbation)) { temporary in
            let file = try HDF5File.create(temporary)
            defer { try? file.close() }
            let root = file.root
            try root.setProvenance(record)
            try root.setAttribute("bands", .strings(Band.allCases.map(\.rawValue)))
            try root.setAttribute("image_size", .int64(Int64(imageSize)))
            try root.setAttribute("pixel_transform", .string(pixelTransform.rawValue))
            try root.setAttribute("norm_value", .double(Double(norm)))
            for (name, value) in configuration.attributes.sorted(by: { $0.key < $1.key }) { try root.setAttribute(name, value) }
            for (name, value) in provenance.sorted(by: { $0.key < $1.key }) { try root.setAttribute(name, value) }
            let dataset = try root.createDataset("perturbation", of: Float.self, shape: [bands, imageSize, imageSize])
            try dataset.write(values)
            try dataset.setAttribute("unit", .string(configuration.space == .input ? "network input (after pixel_transform)" : "sky sigma of each image and band"))
            try file.close()
        }
    }

    /// Reads a universal perturbation file; refuses another schema, a perturbation that is not
    /// (5, S, S) float, or one larger than its recorded bound.
    public static func read(_ path: String) throws -> UniversalPerturbation {
        let file = try HDF5File.open(path, readOnly: true)
        let root = file.root
        func bad(_ message: String) -> PhotoZDataError { .schema(path: path, message: message) }
        guard try root.attribute("schema")?.stringValue == schema else {
            throw bad("not a photoz universal perturbation (root attribute schema is not '\(schema)'); make one with photoz attack --method universal")
        }
        guard try root.attribute("schema_version")?.int64Value == version else {
            throw bad("universal perturbation schema version is not \(version)")
        }
        guard let text = try root.attribute("configuration")?.stringValue,
              let configuration = try? JSONDecoder().decode(AttackConfiguration.self, from: Data(text.utf8)) else {
            throw bad("root attribute configuration is missing or not an attack configuration")
        }
        guard let name = try root.attribute("pixel_transform")?.stringValue, let transform = PixelTransform(rawValue: name) else {
            throw bad("root attribute pixel_transform is missing or unknown")
        }
        guard root.contains("perturbation") else { throw bad("dataset /perturbation is missing") }
        let dataset = try root.dataset("perturbation")
        let shape = try dataset.shape
        guard shape.count == 3, shape[0] == 5, shape[1] == shape[2], shape[1] > 0 else {
            throw bad("/perturbation has shape \(shape); expected (5, S, S)")
        }
        var p = UniversalPerturbation(values: try dataset.read(as: Float.self), imageSize: shape[1], configuration: configuration, pixelTransform: transform)
        guard p.values.allSatisfy(\.isFinite) else { throw bad("/perturbation holds non-finite values") }
        guard p.norm <= configuration.epsilon * 1.0001 else {
            throw bad("/perturbation has \(configuration.norm.rawValue) norm \(p.norm), above its bound ε = \(configuration.epsilon)")
        }
        for name in try root.attributeNames() where name.hasPrefix("fit_") || name.hasPrefix("mean_objective") || name.hasPrefix("model") {
            p.provenance[name] = try root.attribute(name)
        }
        return p
    }
}
