import Foundation
import HDF5

extension ModelFile {
    /// Reads a model file written by `write(to:)`. Throws `ModelFileError` when it is not a
    /// photoz model file or has a newer format version.
    public static func read(from path: String) throws -> ModelFile {
        let file = try HDF5File.open(path, readOnly: true)
        defer { try? file.close() }
        let root = file.root
        guard try root.attribute("schema")?.stringValue == schema else {
            throw ModelFileError(path: path, message: "not a photoz model file (no schema = \"\(schema)\" attribute)")
        }
        let version = try root.attribute("schema_version")?.int64Value ?? 0
        guard version >= 1 && version <= schemaVersion else {
            throw ModelFileError(path: path, message: "model file format version \(version) is not supported (this build reads 1...\(schemaVersion))")
        }
        var attributes: [String: HDF5AttributeValue] = [:]
        for name in try root.attributeNames() where name != "schema" && name != "schema_version" {
            attributes[name] = try root.attribute(name)
        }
        guard root.contains("parameters") else { throw ModelFileError(path: path, message: "no /parameters group") }
        let group = try root.group("parameters")
        // Every shape is read and bounded before any value is: a dataset may declare any
        // extent in a file of a few kilobytes (HDF5 fills unwritten chunks).
        var shapes: [String: [Int]] = [:]
        var total = 0
        for name in try group.memberNames() {
            let shape = try group.dataset(name).shape
            let count = try valueCount(shape, of: "parameter \(name)", path: path)
            total += count
            guard total <= maximumParameterValues else {
                throw ModelFileError(path: path, message: "the parameters declare more than \(maximumParameterValues) values (\(name) has shape \(shape)), more than any photoz network: the file is corrupt")
            }
            shapes[name] = shape
        }
        var parameters: [String: (shape: [Int], values: [Float])] = [:]
        for (name, shape) in shapes {
            let values = try group.dataset(name).read(as: Float.self)
            try requireFinite(values, "parameter \(name)", path: path)
            parameters[name] = (shape: shape, values: values)
        }
        var optimizer: OptimizerState?
        if root.contains("optimizer") {
            let g = try root.group("optimizer")
            var hyper: [String: Double] = [:]
            var kind = "", step = 0
            var schedule = StepSchedule(initial: 0)
            for name in try g.attributeNames() {
                let v = try g.attribute(name)
                switch name {
                case "kind": kind = v?.stringValue ?? ""
                case "step": step = Int(v?.int64Value ?? 0)
                case "schedule_initial_learning_rate": schedule.initial = Float(v?.doubleValue ?? 0)
                case "schedule_step_size": schedule.stepSize = Int(v?.int64Value ?? 0)
                case "schedule_gamma": schedule.gamma = Float(v?.doubleValue ?? 1)
                default: hyper[name] = v?.doubleValue
                }
            }
            var buffers: [String: [Float]] = [:]
            for buffer in try g.memberNames() {
                let bg = try g.group(buffer)
                for param in try bg.memberNames() {
                    // An optimizer buffer has its parameter's shape; anything else is refused unread.
                    let shape = try bg.dataset(param).shape
                    guard let expected = parameters[param]?.shape else {
                        throw ModelFileError(path: path, message: "optimizer buffer \(buffer) of \(param) has no parameter \(param) in /parameters")
                    }
                    guard shape == expected else {
                        throw ModelFileError(path: path, message: "shape mismatch for optimizer buffer \(buffer) of \(param): expected \(expected), found \(shape)")
                    }
                    let values = try bg.dataset(param).read(as: Float.self)
                    try requireFinite(values, "optimizer buffer \(buffer) of \(param)", path: path)
                    buffers["\(param)/\(buffer)"] = values
                }
            }
            optimizer = OptimizerState(kind: kind, step: step, hyperparameters: hyper, schedule: schedule, buffers: buffers)
        }
        var history: String?
        if root.contains("history") {
            let d = try root.dataset("history")
            let count = try valueCount(try d.shape, of: "/history", path: path)
            guard count <= 1 else { throw ModelFileError(path: path, message: "/history holds \(count) strings; photoz writes one (JSON)") }
            history = try d.readStrings().first
        }
        return ModelFile(attributes: attributes, parameterValues: parameters, optimizer: optimizer, history: history)
    }

    /// The most values the parameters of a model file may declare: 2^28 (1 GiB of float32),
    /// ten times the Inception network's 27 million.
    public static let maximumParameterValues = 1 << 28

    /// The number of values of a dataset of `shape`; throws when the product overflows.
    private static func valueCount(_ shape: [Int], of what: String, path: String) throws -> Int {
        var count = 1
        for length in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: length)
            guard !overflow, length >= 0 else {
                throw ModelFileError(path: path, message: "\(what) declares shape \(shape), more values than 64-bit sizes hold: the file is corrupt")
            }
            count = product
        }
        return count
    }

    /// Throws, naming the value, when `values` holds NaN or ±Inf.
    private static func requireFinite(_ values: [Float], _ what: String, path: String) throws {
        guard let index = values.firstIndex(where: { !$0.isFinite }) else { return }
        throw ModelFileError(path: path, message: "\(what) holds \(values[index]) at index \(index): a model with non-finite weights predicts nothing; the training diverged or the file is corrupt — use an earlier model file")
    }
}
