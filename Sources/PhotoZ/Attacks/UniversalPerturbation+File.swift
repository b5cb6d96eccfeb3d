import Foundation
import HDF5
import PhotoZData

extension UniversalPerturbation {
    /// Writes v as HDF5 (`schemas/universal-perturbation.md`): dataset `perturbation` float32
    /// (5, S, S) and the attack settings as root attributes; atomically (temporary name, then
    /// rename), refusing to replace an existing file unless `overwrite`.
    public func write(to path: String, overwrite: Bool = false) throws {
        if FileManager.default.fileExists(atPath: path) && !overwrite { throw PhotoZDataError.outputExists(path: path) }
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        try? FileManager.default.removeItem(atPath: temporary)
        do {
            let file = try HDF5File.create(temporary)
            let root = file.root
            try root.setAttribute("schema", .string(Self.schema))
            try root.setAttribute("schema_version", .int64(Self.version))
            try root.setAttribute("tool", .string("photoz"))
            try root.setAttribute("tool_version", .string(PhotoZVersion.current))
            try root.setAttribute("created", .string(isoTimestamp()))
            try root.setAttribute("bands", .strings(Band.allCases.map(\.rawValue)))
            try root.setAttribute("image_size", .int64(Int64(imageSize)))
            try root.setAttribute("pixel_transform", .string(pixelTransform.rawValue))
            try root.setAttribute("norm_value", .double(Double(norm)))
            try root.setAttribute("configuration", .string(jsonText(configuration)))
            for (name, value) in configuration.attributes.sorted(by: { $0.key < $1.key }) { try root.setAttribute(name, value) }
            for (name, value) in provenance.sorted(by: { $0.key < $1.key }) { try root.setAttribute(name, value) }
            let dataset = try root.createDataset("perturbation", of: Float.self, shape: [bands, imageSize, imageSize])
            try dataset.write(values)
            try dataset.setAttribute("unit", .string(configuration.space == .input ? "network input (after pixel_transform)" : "sky sigma of each image and band"))
            try file.close()
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
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
