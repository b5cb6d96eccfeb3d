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
        var parameters: [String: (shape: [Int], values: [Float])] = [:]
        for name in try group.memberNames() {
            let d = try group.dataset(name)
            parameters[name] = (shape: try d.shape, values: try d.read(as: Float.self))
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
                    buffers["\(param)/\(buffer)"] = try bg.dataset(param).read(as: Float.self)
                }
            }
            optimizer = OptimizerState(kind: kind, step: step, hyperparameters: hyper, schedule: schedule, buffers: buffers)
        }
        var history: String?
        if root.contains("history") { history = try root.dataset("history").readStrings().first }
        return ModelFile(attributes: attributes, parameterValues: parameters, optimizer: optimizer, history: history)
    }
}
