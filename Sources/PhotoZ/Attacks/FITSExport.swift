import FITS
import Foundation
import SafeOutput
import HDF5
import PhotoZData

/// Chosen objects of a data set (adversarial or clean) written as FITS for DS9 or astropy.
///
/// One multi-extension file per object, `{object_id}.fits`: a header-only primary HDU with the
/// object (OBJID, RA, DEC, Z_SPEC, EBV), the shard it came from and the attack settings, then
/// one 2-D image HDU per kind and band, named `CLEAN_u` … `PERT_z` … `ADV_z` (adversarial
/// shards) or `IMAGE_u` … (clean shards), in nanomaggies. When the original cutout can be
/// found (through the source shard's `inputs`), its header cards are copied into the primary
/// and band HDUs; otherwise a TAN WCS centred on (RA, Dec) is written. Files are written under
/// a temporary name and renamed when complete.
public struct FITSExport {
    /// The schema recorded in the primary header (`SCHEMA`).
    public static let schema = "photoz.fits_export"
    /// Data-set folder or shard to read.
    public var data: String
    /// Folder to write into (created if needed).
    public var out: String
    /// Objects to export; nil: the first `first` rows.
    public var objectIDs: [Int64]?
    public var first = 5
    /// A clean data set to take clean images from when the shards hold no `perturbation`.
    public var clean: String?
    public var overwrite = false
    /// Called with each object whose shards store no celestial WCS (its file then has none).
    public var noteWithoutWCS: ((Int64) -> Void)?

    public init(data: String, out: String) {
        self.data = data
        self.out = out
    }

    /// Writes the files; returns their paths. Throws for an unknown object id (naming it)
    /// before writing anything.
    public func run() throws -> [String] {
        guard first >= 1 else { throw PhotoZDataError.invalidOption("--first \(first): at least 1") }
        let rows = try locate()
        let cleanImages = try clean.map { try Self.images(of: rows.map(\.id), in: $0) }
        try OutputRules.check(out, kind: .addingTo, inputs: [("--data", data)] + (clean.map { [("--clean", $0)] } ?? []),
                              overwrite: overwrite, recognise: PhotoZOutputs.isFITSExport)
        for row in rows { try AtomicFile.checkReplacement(path(row.id), replacement) }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let provenance = Provenance.photoz(schema: Self.schema, version: 1, stage: "export-fits",
                                           configuration: ["data": data, "out": out, "clean": clean ?? "", "objects": rows.map { String($0.id) }.joined(separator: ",")],
                                           inputs: [try .checksummed(role: "data", path: data)] + (try clean.map { [try .checksummed(role: "clean", path: $0)] } ?? []))
        var written: [String] = []
        for (k, row) in rows.enumerated() {
            let shard = row.shard
            let batch = try shard.read(rows: row.row..<row.row + 1, columns: shard.columns)
            var kinds: [(name: String, pixels: [Float])]
            if batch.holds(ShardSchema.perturbation) {
                let delta = batch.perturbation
                kinds = [("CLEAN", zip(batch.images, delta).map { $0 - $1 }), ("PERT", delta), ("ADV", batch.images)]
            } else if let cleanImages {
                let c = cleanImages[k]
                kinds = [("CLEAN", c), ("PERT", zip(batch.images, c).map { $0 - $1 }), ("ADV", batch.images)]
            } else {
                kinds = [("IMAGE", batch.images)]
            }
            try write(batch, kinds: kinds, shard: shard, provenance: provenance, to: path(row.id))
            written.append(path(row.id))
        }
        return written
    }

    private func path(_ id: Int64) -> String { (out as NSString).appendingPathComponent("\(id).fits") }

    /// The shard and row of each requested object, in request order.
    private func locate() throws -> [(id: Int64, shard: Shard, row: Int)] {
        let dataSet = try DataSet(path: data)
        var found: [Int64: (Shard, Int)] = [:]
        var order: [Int64] = []
        for info in dataSet.shards(in: nil) {
            let shard = dataSet.shard(info)
            for (row, id) in try shard.objectIDs().enumerated() where found[id] == nil {
                found[id] = (shard, row)
                order.append(id)
            }
        }
        let wanted = objectIDs ?? Array(order.prefix(first))
        return try wanted.map { id in
            guard let (shard, row) = found[id] else {
                throw PhotoZDataError.invalidOption("object \(id) is not in \(data); list its ids with photoz inspect")
            }
            return (id, shard, row)
        }
    }

    /// The images of `ids` in a clean data set, in order.
    static func images(of ids: [Int64], in path: String) throws -> [[Float]] {
        let dataSet = try DataSet(path: path)
        var found: [Int64: [Float]] = [:]
        let wanted = Set(ids)
        for info in dataSet.shards(in: nil) {
            let shard = dataSet.shard(info)
            for (row, id) in try shard.objectIDs().enumerated() where wanted.contains(id) && found[id] == nil {
                found[id] = try shard.read(rows: row..<row + 1, columns: [ShardSchema.column(ShardSchema.images)!]).images
            }
        }
        return try ids.map { id in
            guard let image = found[id] else { throw PhotoZDataError.invalidOption("object \(id) is not in the clean data set \(path)") }
            return image
        }
    }
}
