import Foundation

/// The shard schema, version 1: the names, types and attributes `schemas/shard-v1.md` describes.
///
/// A shard is an HDF5 file of flat, row-aligned datasets: row k of every dataset describes
/// the same object.
public enum ShardSchema {
    public static let name = "photoz.shard"
    public static let version: Int64 = 1

    /// Datasets every shard holds, with their element type and the shape of one row.
    public static let images = "images"            // float32 (N, 5, S, S), nanomaggy
    public static let objectID = "object_id"       // int64 (N)
    public static let ra = "ra"                    // float64 (N), deg
    public static let dec = "dec"                  // float64 (N), deg
    public static let zSpec = "z_spec"             // float32 (N)
    public static let zSpecErr = "z_spec_err"      // float32 (N)
    public static let ebv = "ebv"                  // float32 (N), mag
    /// Optional dataset of adversarial shards: the perturbation added to `images` (flux units).
    public static let perturbation = "perturbation"

    public enum ElementKind: String, Sendable { case float32, float64, int64 }

    /// The required datasets, their element kind and unit.
    public static let datasets: [(name: String, kind: ElementKind, unit: String)] = [
        (images, .float32, "nanomaggy"),
        (objectID, .int64, ""),
        (ra, .float64, "deg"),
        (dec, .float64, "deg"),
        (zSpec, .float32, ""),
        (zSpecErr, .float32, ""),
        (ebv, .float32, "mag"),
    ]

    /// Root attributes every shard carries.
    public enum Attribute {
        public static let schema = "schema"
        public static let schemaVersion = "schema_version"
        public static let bands = "bands"
        public static let imageSize = "image_size"
        public static let pixelScale = "pixel_scale"
        public static let pixelScaleUnit = "pixel_scale_unit"
        public static let fluxUnit = "flux_unit"
        public static let extinctionCoefficients = "extinction_coefficients"
        public static let extinctionValues = "extinction_values"
        public static let split = "split"
        public static let tool = "tool"
        public static let toolVersion = "tool_version"
        public static let created = "created"
        public static let inputs = "inputs"
        public static let configuration = "configuration"
        public static let rows = "rows"
    }

    /// Rows per HDF5 chunk of `images` (4 × 80 KiB = 320 KiB, inside HDF5's 1 MiB chunk cache).
    public static let chunkRows = 4
    /// Rows per chunk of the 1-D datasets.
    public static let columnChunkRows = 1024
}

/// The version of the photoz tool, recorded in every file it writes.
public enum PhotoZVersion {
    public static let current = "0.1.0"
}

/// ISO 8601 time stamps for provenance attributes.
public func isoTimestamp(_ date: Date = Date()) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
}
