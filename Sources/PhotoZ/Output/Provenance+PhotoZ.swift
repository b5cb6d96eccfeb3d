import FITS
import Foundation
import HDF5
import PhotoZData
import SafeOutput

extension Provenance {
    /// The provenance of a file written by photoz `stage` (this tool's version, now).
    public static func photoz<C: Encodable>(schema: String, version: Int64, stage: String, configuration: C,
                                            inputs: [Input]) -> Provenance {
        Provenance(schema: schema, schemaVersion: version, toolVersion: PhotoZVersion.current, stage: stage,
                   configuration: configuration, inputs: inputs)
    }
}

extension Provenance.Input {
    /// A file input with the SHA-256 of its bytes, or a data-set folder with its manifest's.
    public static func checksummed(role: String, path: String) throws -> Provenance.Input {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let file = exists && isDirectory.boolValue ? (path as NSString).appendingPathComponent(Manifest.fileName) : path
        return Provenance.Input(role: role, path: path, sha256: try SHA256.hexDigest(ofFile: file))
    }
}

extension Provenance {
    /// `attributes` as HDF5 attribute values, for writers that take a dictionary (model files).
    public var hdf5Attributes: [String: HDF5AttributeValue] {
        Dictionary(uniqueKeysWithValues: attributes.map { attribute in
            switch attribute.value {
            case let .string(text): (attribute.name, HDF5AttributeValue.string(text))
            case let .int(number): (attribute.name, HDF5AttributeValue.int64(number))
            }
        })
    }
}

extension HDF5Group {
    /// Writes `provenance` as root attributes (see `Provenance.attributes`).
    public func setProvenance(_ provenance: Provenance) throws {
        for (name, value) in provenance.attributes {
            switch value {
            case let .string(text): try setAttribute(name, .string(text))
            case let .int(number): try setAttribute(name, .int64(number))
            }
        }
    }
}

/// Recognisers of photoz's own outputs, which `--overwrite` may replace (anything else is refused).
public enum PhotoZOutputs {
    /// An HDF5 file whose root attribute `schema` is `schema`.
    @Sendable public static func isHDF5(_ path: String, schema: String) -> Bool {
        guard let file = try? HDF5File.open(path, readOnly: true), let value = try? file.root.attribute("schema") else { return false }
        return value == .string(schema)
    }

    /// A folder with a photoz manifest (a data set written by ingest or attack).
    @Sendable public static func isDataSet(_ path: String) -> Bool { Manifest.isDataSet(path) }

    /// A predictions file (`photoz predict`, `photoz baseline --out`).
    @Sendable public static func isPredictions(_ path: String) -> Bool { isHDF5(path, schema: PredictionFile.schema) }
    /// A universal-perturbation file.
    @Sendable public static func isUniversalPerturbation(_ path: String) -> Bool { isHDF5(path, schema: UniversalPerturbation.schema) }
    /// A model file.
    @Sendable public static func isModelFile(_ path: String) -> Bool { isHDF5(path, schema: "photoz.model") }
    /// A FITS file `export-fits` wrote (its primary header has photoz's KINDS card).
    @Sendable public static func isFITSExport(_ path: String) -> Bool {
        guard let file = try? FITSFile.open(path), let kinds = try? file.string("KINDS") else { return false }
        return !kinds.isEmpty
    }
    /// A robustness report (`STEM.json` with the report's keys).
    @Sendable public static func isRobustnessReport(_ path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return object["provenance"] != nil && object["models"] != nil
    }
}
