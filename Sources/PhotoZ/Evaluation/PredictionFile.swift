import Foundation
import SafeOutput
import HDF5
import PhotoZData

/// Per-object predictions, as written by `predict` and read by `evaluate`.
public struct Predictions: Sendable {
    public var objectID: [Int64]            // (N)
    public var zSpec: [Float]               // (N), NaN where unknown
    public var ebv: [Float]                 // (N)
    public var zPhot: [Float]               // (N) PDF mean over bin centres (or the regression output)
    public var zPhotMode: [Float]?          // (N) centre of the most probable bin
    public var zPhotStd: [Float]?           // (N) PDF standard deviation
    public var pdf: [Float]?                // (N, bins), each row sums to 1
    public var binEdges: [Double]?          // (bins + 1)
    /// −log p(true bin) per object, when PDFs were not kept (validation during training).
    public var trueBinLoss: [Float]?
    /// (N) position of each object in degrees (ancil/ra, ancil/dec), so predictions can be
    /// matched to other catalogs; nil in files written before they were recorded.
    public var ra: [Double]?
    public var dec: [Double]?
    /// Extra root attributes (model checksums, data, split…); on reading, every root attribute.
    public var attributes: [String: HDF5AttributeValue] = [:]
    /// The provenance written as root attributes (schema, tool, stage, configuration, inputs);
    /// `predictToFile` fills it. Nil: the file records the tool and time, no configuration.
    public var provenance: Provenance?

    public var count: Int { objectID.count }
    public var binCount: Int { (binEdges?.count ?? 1) - 1 }

    public init(objectID: [Int64], zSpec: [Float], ebv: [Float], zPhot: [Float], zPhotMode: [Float]? = nil,
                zPhotStd: [Float]? = nil, pdf: [Float]? = nil, binEdges: [Double]? = nil) {
        self.objectID = objectID
        self.zSpec = zSpec
        self.ebv = ebv
        self.zPhot = zPhot
        self.zPhotMode = zPhotMode
        self.zPhotStd = zPhotStd
        self.pdf = pdf
        self.binEdges = binEdges
    }
}

/// The predictions file, schema `photoz.predictions` v1 (`schemas/predictions-v1.md`): a
/// RAIL/qp histogram ensemble (`meta/bins`, `meta/pdf_name`, `meta/pdf_version`, `data/pdfs`)
/// whose `ancil/` group holds the per-object values.
public enum PredictionFile {
    public static let schema = "photoz.predictions"
    public static let version: Int64 = 1

    /// Writes predictions atomically (`AtomicFile`: the previous file stays until the new one is
    /// complete and flushed). An existing file is replaced only with `overwrite`, and only if it
    /// is a predictions file (never another file).
    public static func write(_ p: Predictions, to path: String, overwrite: Bool = false) throws {
        let provenance = p.provenance ?? .photoz(schema: schema, version: version, stage: "PredictionFile.write",
                                                 configuration: [String: String](), inputs: [])
        try AtomicFile.write(to: path, replacing: .overwrite(overwrite, recognise: PhotoZOutputs.isPredictions)) { temporary in
            let file = try HDF5File.create(temporary)
            defer { try? file.close() }
            let root = file.root
            try root.setProvenance(provenance)
            // The schema is this file's whatever the caller's provenance says.
            try root.setAttribute("schema", .string(schema))
            try root.setAttribute("schema_version", .int64(version))
            try root.setAttribute("point_estimate", .string("z_phot: PDF mean over bin centres; z_phot_mode: centre of the most probable bin"))
            for (name, value) in p.attributes.sorted(by: { $0.key < $1.key }) { try root.setAttribute(name, value) }
            let meta = try root.createGroup("meta")
            let ancil = try root.createGroup("ancil")
            func column<T: HDF5Scalar>(_ name: String, _ values: [T]) throws {
                try ancil.createDataset(name, of: T.self, shape: [values.count]).write(values)
            }
            try column("object_id", p.objectID)
            try column("z_spec", p.zSpec)
            try column("ebv", p.ebv)
            try column("z_phot", p.zPhot)
            try column("zmean", p.zPhot)                       // RAIL's name for the PDF mean
            if let mode = p.zPhotMode { try column("z_phot_mode", mode); try column("zmode", mode) }
            if let std = p.zPhotStd { try column("z_phot_std", std) }
            if let ra = p.ra, let dec = p.dec, ra.count == p.count, dec.count == p.count {
                try column("ra", ra)
                try column("dec", dec)
                try ancil.dataset("ra").setAttribute("unit", .string("deg"))
                try ancil.dataset("dec").setAttribute("unit", .string("deg"))
            }
            if let pdf = p.pdf, let edges = p.binEdges {
                try meta.createDataset("bins", of: Double.self, shape: [1, edges.count]).write(edges)
                _ = try meta.createStringDataset("pdf_name", values: ["hist"])
                try meta.createDataset("pdf_version", of: Int64.self, shape: [1]).write([Int64(0)])
                let data = try root.createGroup("data")
                try data.createDataset("pdfs", of: Float.self, shape: [p.count, edges.count - 1],
                                       chunks: [min(max(p.count, 1), 4096), edges.count - 1], compression: .gzip(level: 4), shuffle: true).write(pdf)
            } else {
                _ = try meta.createStringDataset("pdf_name", values: ["point"])
            }
            try file.close()
        }
    }

    /// Reads a predictions file; a file of another schema or version is refused with its path.
    ///
    /// Every column is checked before it is used: one value per object, bin edges finite and
    /// increasing, PDFs of shape (N, bins). No dataset is read whose declared size is beyond
    /// what the file's bytes can hold (deflate expands at most 1032-fold).
    public static func read(_ path: String) throws -> Predictions {
        let file = try HDF5File.open(path, readOnly: true)
        let root = file.root
        guard case .string(schema)? = try root.attribute("schema") else {
            throw PhotoZDataError.schema(path: path, message: "not a photoz predictions file (root attribute schema is not '\(schema)')")
        }
        guard case .int64(version)? = try root.attribute("schema_version") else {
            throw PhotoZDataError.schema(path: path, message: "predictions schema version is not \(version); re-run predict with this photoz")
        }
        let fileBytes = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
        let budget = fileBytes.multipliedReportingOverflow(by: 1032).partialValue &+ (1 << 20)
        func fail(_ message: String) -> PhotoZDataError {
            PhotoZDataError.schema(path: path, message: message + "; the file is corrupt or was not written by photoz predict")
        }
        /// The values of `group/name`, after checking its shape: `count` values in all (nil: any), bounded by the file size.
        func values<T: HDF5Scalar>(_ group: HDF5Group, _ name: String, _ where_: String, as type: T.Type, count: Int?) throws -> [T] {
            let dataset = try group.dataset(name)
            let shape = try dataset.shape
            var total = 1
            for length in shape {
                let (product, overflow) = total.multipliedReportingOverflow(by: length)
                guard !overflow else { throw fail("\(where_)/\(name) declares shape \(shape), more values than 64-bit sizes hold") }
                total = product
            }
            let (bytes, overflow) = total.multipliedReportingOverflow(by: MemoryLayout<T>.size)
            guard !overflow, bytes <= budget else {
                throw fail("\(where_)/\(name) declares shape \(shape), more data than a file of \(fileBytes) bytes can hold")
            }
            if let count, total != count {
                throw fail("\(where_)/\(name) has \(total) values (shape \(shape)) but there are \(count) objects")
            }
            return try dataset.read(as: T.self)
        }
        guard root.contains("ancil") else { throw fail("no ancil group") }
        let ancil = try root.group("ancil")
        for required in ["object_id", "z_spec", "z_phot"] where !ancil.contains(required) {
            throw fail("ancil/\(required) is missing")
        }
        let ids = try values(ancil, "object_id", "ancil", as: Int64.self, count: nil)
        let n = ids.count
        func floats(_ name: String) throws -> [Float]? { ancil.contains(name) ? try values(ancil, name, "ancil", as: Float.self, count: n) : nil }
        var p = Predictions(
            objectID: ids, zSpec: try floats("z_spec") ?? [], ebv: try floats("ebv") ?? [], zPhot: try floats("z_phot") ?? [],
            zPhotMode: try floats("z_phot_mode"), zPhotStd: try floats("z_phot_std"))
        if ancil.contains("ra") && ancil.contains("dec") {
            p.ra = try values(ancil, "ra", "ancil", as: Double.self, count: n)
            p.dec = try values(ancil, "dec", "ancil", as: Double.self, count: n)
        }
        if root.contains("data") {
            guard root.contains("meta"), try root.group("meta").contains("bins") else { throw fail("data/pdfs without meta/bins") }
            let edges = try values(try root.group("meta"), "bins", "meta", as: Double.self, count: nil)
            guard edges.count >= 2, edges.allSatisfy({ $0.isFinite && abs($0) <= 1e6 }), zip(edges, edges.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw fail("meta/bins holds \(edges.count) edges that are not finite and increasing (\(edges.prefix(4).map { String($0) }.joined(separator: ", "))\(edges.count > 4 ? ", …" : ""))")
            }
            let data = try root.group("data")
            guard data.contains("pdfs") else { throw fail("data/pdfs is missing") }
            let shape = try data.dataset("pdfs").shape
            guard shape == [n, edges.count - 1] else {
                throw fail("data/pdfs has shape \(shape) but there are \(n) objects and \(edges.count - 1) bins")
            }
            p.pdf = try values(data, "pdfs", "data", as: Float.self, count: nil)  // shape checked above
            p.binEdges = edges
        }
        for name in try root.attributeNames() { p.attributes[name] = try root.attribute(name) }
        return p
    }
}
