import Foundation
import HDF5
import SafeOutput

/// An error reading or writing a model file, naming the file and, where it applies, the parameter.
public struct ModelFileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String
    public var description: String { "\(path): \(message)" }

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
}

/// The contents of a model file (HDF5; described in `schemas/model-file.md`).
///
/// Layout: root attributes `schema` = "photoz.model", `schema_version` = 1 and the caller's
/// (architecture, head, bins, pixel transform…); `/parameters/<path>` one float32 dataset per
/// parameter in PyTorch order (e.g. `/parameters/i0.b1.conv.weight`, (O, I, KH, KW));
/// optional `/optimizer` (attributes `kind`, `step`, hyperparameters and schedule; datasets
/// `/optimizer/<buffer>/<parameter path>`); optional string dataset `/history` (JSON).
public struct ModelFile {
    public static let schema = "photoz.model"
    public static let schemaVersion: Int64 = 1

    /// Root attributes other than `schema` / `schema_version`.
    public var attributes: [String: HDF5AttributeValue]
    /// Parameter values by path (plain, PyTorch order) with their shapes.
    public var parameters: [String: (shape: [Int], values: [Float])]
    /// The optimizer state for resuming, if saved.
    public var optimizer: OptimizerState?
    /// The training history (JSON text), if saved.
    public var history: String?

    public init(attributes: [String: HDF5AttributeValue], parameters: [NamedParameter],
                optimizer: OptimizerState? = nil, history: String? = nil) {
        self.attributes = attributes
        self.parameters = Dictionary(uniqueKeysWithValues: parameters.map {
            ($0.path, (shape: $0.parameter.shape, values: $0.parameter.value.read()))
        })
        self.optimizer = optimizer
        self.history = history
    }

    init(attributes: [String: HDF5AttributeValue], parameterValues: [String: (shape: [Int], values: [Float])],
         optimizer: OptimizerState?, history: String?) {
        self.attributes = attributes
        self.parameters = parameterValues
        self.optimizer = optimizer
        self.history = history
    }

    /// Copies the saved values into `list`, checking that every parameter is present with the
    /// same shape ("shape mismatch for conv0.weight: expected [64, 5, 5, 5], found [64, 3, 5, 5]").
    public func restore(into list: [NamedParameter], path: String) throws {
        for named in list {
            guard let saved = parameters[named.path] else {
                throw ModelFileError(path: path, message: "missing parameter \(named.path)")
            }
            guard saved.shape == named.parameter.shape else {
                throw ModelFileError(path: path, message: "shape mismatch for \(named.path): expected \(named.parameter.shape), found \(saved.shape)")
            }
            named.parameter.set(saved.values)
        }
        let known = Set(list.map(\.path))
        if let extra = parameters.keys.sorted().first(where: { !known.contains($0) }) {
            throw ModelFileError(path: path, message: "unexpected parameter \(extra) (the file is for another network)")
        }
    }

    /// Writes the file atomically (`SafeOutput.AtomicFile`: a temporary sibling, flushed, renamed
    /// over `path`; the previous file stays until the new one is complete). An existing file is
    /// replaced only when `overwrite` is true and it is a photoz model file (never a user's file).
    public func write(to path: String, overwrite: Bool = false) throws {
        try AtomicFile.write(to: path, replacing: .overwrite(overwrite, recognise: { ModelFile.isModelFile($0) })) { temporary in
            let file = try HDF5File.create(temporary, mode: .exclusive)
            do { try writeContents(file) } catch {
                try? file.close()
                throw error
            }
            try file.close()
        }
    }

    /// Whether `path` is an HDF5 file whose root attribute `schema` is `photoz.model`.
    public static func isModelFile(_ path: String) -> Bool {
        guard let file = try? HDF5File.open(path, readOnly: true), let attribute = try? file.root.attribute("schema") else { return false }
        return attribute == .string(schema)
    }

    private func writeContents(_ file: HDF5File) throws {
        let root = file.root
        try root.setAttribute("schema", .string(Self.schema))
        try root.setAttribute("schema_version", .int64(Self.schemaVersion))
        for (name, value) in attributes.sorted(by: { $0.key < $1.key }) { try root.setAttribute(name, value) }
        let group = try root.createGroup("parameters")
        for (name, p) in parameters.sorted(by: { $0.key < $1.key }) {
            try group.createDataset(name, of: Float.self, shape: p.shape).write(p.values)
        }
        if let optimizer {
            let g = try root.createGroup("optimizer")
            try g.setAttribute("kind", .string(optimizer.kind))
            try g.setAttribute("step", .int64(Int64(optimizer.step)))
            for (k, v) in optimizer.hyperparameters { try g.setAttribute(k, .double(v)) }
            try g.setAttribute("schedule_initial_learning_rate", .double(Double(optimizer.schedule.initial)))
            try g.setAttribute("schedule_step_size", .int64(Int64(optimizer.schedule.stepSize)))
            try g.setAttribute("schedule_gamma", .double(Double(optimizer.schedule.gamma)))
            var buffers: [String: HDF5Group] = [:]
            for (key, values) in optimizer.buffers.sorted(by: { $0.key < $1.key }) {
                guard let slash = key.lastIndex(of: "/") else { continue }
                let param = String(key[..<slash]), buffer = String(key[key.index(after: slash)...])
                let bg = try buffers[buffer] ?? g.createGroup(buffer)
                buffers[buffer] = bg
                let shape = parameters[param]?.shape ?? [values.count]
                try bg.createDataset(param, of: Float.self, shape: shape).write(values)
            }
        }
        if let history { _ = try root.createStringDataset("history", values: [history]) }
    }
}
