import Foundation

/// What every file photoz writes records about itself: its schema and version, the tool and
/// its version, when, by which command or stage, with which configuration, from which inputs
/// (with their SHA-256). Library calls build it, so a library caller gets the same file as
/// the command-line user. HDF5 files store it as root attributes (`attributes`), JSON files
/// as an object (`Codable`), FITS files as header cards.
public struct Provenance: Codable, Sendable, Equatable {
    /// One input file or folder, and its checksum (a data set's: its manifest's).
    public struct Input: Codable, Sendable, Equatable {
        /// What the input was to the command ("data", "model", "catalog").
        public var role: String
        public var path: String
        public var sha256: String

        public init(role: String, path: String, sha256: String) {
            self.role = role
            self.path = path
            self.sha256 = sha256
        }
    }

    /// A root-attribute value: text or an integer.
    public enum Value: Sendable, Equatable { case string(String), int(Int64) }

    public var schema: String
    public var schemaVersion: Int64
    public var tool: String = "photoz"
    public var toolVersion: String
    /// ISO 8601, UTC.
    public var created: String
    /// The command or library stage that wrote the file ("predict", "train").
    public var stage: String
    /// The configuration of the stage, as JSON text.
    public var configuration: String
    public var inputs: [Input]

    public init<C: Encodable>(schema: String, schemaVersion: Int64, toolVersion: String, stage: String,
                              configuration: C, inputs: [Input], created: Date = Date()) {
        self.schema = schema
        self.schemaVersion = schemaVersion
        self.toolVersion = toolVersion
        self.stage = stage
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.configuration = (try? encoder.encode(configuration)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        self.inputs = inputs
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        self.created = formatter.string(from: created)
    }

    enum CodingKeys: String, CodingKey {
        case schema, schemaVersion = "schema_version", tool, toolVersion = "tool_version", created, stage, configuration, inputs
    }

    /// The root attributes of an HDF5 file: `schema`, `schema_version`, `tool`, `tool_version`,
    /// `created`, `stage`, `configuration` (JSON) and `inputs` (JSON list of role, path, sha256).
    public var attributes: [(name: String, value: Value)] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let inputsText = (try? encoder.encode(inputs)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        return [
            ("schema", .string(schema)), ("schema_version", .int(schemaVersion)), ("tool", .string(tool)),
            ("tool_version", .string(toolVersion)), ("created", .string(created)), ("stage", .string(stage)),
            ("configuration", .string(configuration)), ("inputs", .string(inputsText)),
        ]
    }
}
