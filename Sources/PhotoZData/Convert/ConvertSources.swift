import Foundation
import HDF5

/// The band sets a shard may hold, in the order of axis 1 of `images`: SDSS u,g,r,i,z (ingest,
/// the Pasquet and Hayat sets) and HSC g,r,i,z,y (GalaxiesML).
extension ShardSchema {
    public static let sdssBands = ["u", "g", "r", "i", "z"]
    public static let hscBands = ["g", "r", "i", "z", "y"]
    public static let knownBandSets = [sdssBands, hscBands]
}

/// The image collections `photoz convert` reads.
public enum ConvertFormat: String, Codable, Sendable, CaseIterable {
    /// Pasquet et al. 2019: an `.npz` with `data` (N, 64, 64, 5) channels last, `z`, `ebv`.
    case pasquetNPZ = "pasquet-npz"
    /// Hayat et al. 2021: an HDF5 file with `images` (N, 5, 107, 107), `specz_redshift`,
    /// `specz_redshift_err`, `e_bv` (N, 5) per-band extinction, `ObjID`, `ra`, `dec`.
    case hayat
    /// GalaxiesML (Do et al. 2024): HSC g,r,i,z,y `image` (N, 5, S, S), `specz_redshift`, `object_id`.
    case galaxiesml

    public var bands: [String] { self == .galaxiesml ? ShardSchema.hscBands : ShardSchema.sdssBands }
    /// Arcseconds per pixel of the survey.
    public var pixelScale: Double { self == .galaxiesml ? 0.168 : Survey.pixelScale }
    /// Factor from the source's pixel values to nanomaggies: HSC coadds are calibrated to a
    /// zero point of 27 AB mag, nanomaggies to 22.5.
    public var defaultFluxScale: Double { self == .galaxiesml ? pow(10, -0.4 * (27 - Survey.nanomaggyZeroPoint)) : 1 }
}

/// The next rows of a source: full-size band-first images and the per-row values.
struct SourceBlock {
    /// The source's buffer, overwritten by its next `read`: release the block before reading again.
    var images: [Float]  // (n, 5, S, S) at the source's size, in the source's units
    var ids: [Int64]?
    var ra: [Double]?
    var dec: [Double]?
    var z: [Float]
    var zErr: [Float]?
    var ebv: [Float]?
}

/// A collection read in order, block by block.
protocol ConvertSource: AnyObject {
    var path: String { get }
    var rows: Int { get }
    var imageSize: Int { get }
    /// Source columns that photoz reads, by shard column (for the provenance).
    var columnsUsed: [String: String] { get }
    func read(_ n: Int) throws -> SourceBlock
}

// MARK: - Pasquet et al. npz

/// `data` (N, S, S, 5) channels last, `z`, `ebv`; optional `object_id`, `ra`, `dec`, `z_err`
/// (what `photoz export --to pasquet-npz` adds so that a round trip keeps them).
final class PasquetSource: ConvertSource {
    let path: String
    let rows: Int
    let imageSize: Int
    private let data: NumpyArrayStream
    private let z: NumpyArrayStream
    private let ebv: NumpyArrayStream
    private let optional: [String: NumpyArrayStream]
    private(set) var columnsUsed: [String: String]
    private var channelsLast: [Float] = []
    private var bandFirst: [Float] = []

    init(path: String) throws {
        self.path = path
        let archive = try ZipArchive(path: path)
        data = try NumpyArrayStream(archive: archive, name: "data")
        z = try NumpyArrayStream(archive: archive, name: "z")
        ebv = try NumpyArrayStream(archive: archive, name: "ebv")
        let shape = data.header.shape
        guard shape.count == 4, shape[3] == 5, shape[1] == shape[2], shape[1] >= 1 else {
            throw PhotoZDataError.schema(path: path, message: "array 'data' has shape \(shape); the Pasquet layout is (N, S, S, 5): N images of S×S pixels, the five bands u,g,r,i,z last")
        }
        rows = shape[0]
        imageSize = shape[1]
        var optional: [String: NumpyArrayStream] = [:]
        columnsUsed = ["images": "data", "z_spec": "z", "ebv": "ebv"]
        for (name, column) in [("object_id", "object_id"), ("ra", "ra"), ("dec", "dec"), ("z_err", "z_spec_err")] where archive.entry(name + ".npy") != nil {
            optional[name] = try NumpyArrayStream(archive: archive, name: name)
            columnsUsed[column] = name
        }
        self.optional = optional
        for array in [z, ebv] + Array(optional.values) {
            guard array.header.shape == [rows] else {
                throw PhotoZDataError.schema(path: path, message: "array '\(array.name)' has shape \(array.header.shape) but 'data' holds \(rows) images: expected (\(rows),)")
            }
        }
    }

    func read(_ n: Int) throws -> SourceBlock {
        let s = imageSize, plane = s * s
        if channelsLast.count < n * plane * 5 { channelsLast = [Float](repeating: 0, count: n * plane * 5) }
        try channelsLast.withUnsafeMutableBufferPointer { try data.readFloats(n, into: UnsafeMutableBufferPointer(rebasing: $0[0..<n * plane * 5])) }
        // (n, y, x, band) → (n, band, y, x), into a buffer kept from block to block (fresh pages
        // for every block cost more in page faults than the transpose).
        if bandFirst.count != n * 5 * plane { bandFirst = [Float](repeating: 0, count: n * 5 * plane) }
        channelsLast.withUnsafeBufferPointer { src in
            bandFirst.withUnsafeMutableBufferPointer { dst in
                for k in 0..<n {
                    let from = src.baseAddress! + k * plane * 5, to = dst.baseAddress! + k * plane * 5
                    for p in 0..<plane {
                        for b in 0..<5 { to[b * plane + p] = from[p * 5 + b] }
                    }
                }
            }
        }
        return SourceBlock(images: bandFirst, ids: try optional["object_id"]?.readIntegers(n, path: path),
                           ra: try optional["ra"]?.readDoubles(n), dec: try optional["dec"]?.readDoubles(n),
                           z: try z.readFloats(n), zErr: try optional["z_err"]?.readFloats(n), ebv: try ebv.readFloats(n))
    }
}

// MARK: - HDF5 collections (Hayat et al., GalaxiesML)

/// An HDF5 file of row-aligned datasets at the root: an image dataset (N, 5, S, S) and 1-D columns.
final class HDF5Source: ConvertSource {
    let path: String
    let rows: Int
    let imageSize: Int
    private let file: HDF5File
    private let images: HDF5Dataset
    private let columns: [String: HDF5Dataset]  // shard column → source dataset
    /// Hayat's per-band extinction (N, 5), turned into E(B−V) by least squares.
    private let extinction: HDF5Dataset?
    let columnsUsed: [String: String]
    private var next = 0
    /// The images of the last block, kept from block to block (see `PasquetSource`).
    private var imageBuffer: [Float] = []

    /// `required` and `optional` map shard columns to candidate dataset names.
    init(path: String, format: ConvertFormat) throws {
        self.path = path
        let file = try HDF5File.open(path, readOnly: true)
        self.file = file
        let root = file.root
        let names = (try? root.memberNames()) ?? []
        func find(_ candidates: [String]) -> String? { candidates.first { names.contains($0) } }
        func missing(_ what: String, _ candidates: [String]) -> PhotoZDataError {
            .schema(path: path, message: "no \(what) dataset (looked for \(candidates.joined(separator: " or "))); the file holds \(names.sorted().joined(separator: ", ")). Is it a \(format.rawValue) file?")
        }
        let layout: (images: [String], required: [(String, [String])], optional: [(String, [String])])
        switch format {
        case .hayat:
            layout = (["images"], [("z_spec", ["specz_redshift"])],
                      [("z_spec_err", ["specz_redshift_err"]), ("object_id", ["ObjID", "objID", "objid"]), ("ra", ["ra"]), ("dec", ["dec"])])
        default:
            layout = (["image", "images"], [("z_spec", ["specz_redshift"])],
                      [("object_id", ["object_id"]), ("ra", ["ra"]), ("dec", ["dec"]), ("z_spec_err", ["specz_redshift_err"]), ("ebv", ["ebv", "e_bv"])])
        }
        guard let imageName = find(layout.images) else { throw missing("image", layout.images) }
        images = try root.dataset(imageName)
        let shape = try images.shape
        guard shape.count == 4, shape[1] == 5, shape[2] == shape[3], shape[2] >= 1 else {
            throw PhotoZDataError.schema(path: path, message: "/\(imageName) has shape \(shape); expected (N, 5, S, S): N images, band-first (\(format.bands.joined(separator: ",")))")
        }
        let imageType = try images.elementType
        guard imageType.isNumeric else { throw PhotoZDataError.schema(path: path, message: "/\(imageName) holds \(imageType) values, not numbers") }
        rows = shape[0]
        imageSize = shape[2]
        // Declared sizes are bounded by the file's bytes (as for shards), before any read.
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let (rowBytes, o1) = (5 * imageSize * imageSize * 4).multipliedReportingOverflow(by: max(rows, 1))
        if o1 || rowBytes / ShardSchema.maxCompressionRatio > fileBytes {
            throw PhotoZDataError.schema(path: path, message: "/\(imageName) declares \(rows) images of \(imageSize)×\(imageSize), more than a \(fileBytes)-byte file can hold: damaged file")
        }
        var found: [String: HDF5Dataset] = [:], used = ["images": imageName]
        let rows = self.rows
        func column(_ name: String, _ target: String) throws -> HDF5Dataset {
            let d = try root.dataset(name)
            let (dShape, dType) = (try d.shape, try d.elementType)
            guard dShape == [rows], dType.isNumeric else {
                throw PhotoZDataError.schema(path: path, message: "/\(name) has shape \(dShape) of \(dType) but /\(imageName) holds \(rows) images: expected \(rows) numbers")
            }
            used[target] = name
            return d
        }
        for (target, candidates) in layout.required {
            guard let name = find(candidates) else { throw missing(target, candidates) }
            found[target] = try column(name, target)
        }
        for (target, candidates) in layout.optional { if let name = find(candidates) { found[target] = try column(name, target) } }
        if format == .hayat {
            guard names.contains("e_bv") else { throw missing("per-band extinction", ["e_bv"]) }
            let d = try root.dataset("e_bv")
            let (dShape, dType) = (try d.shape, try d.elementType)
            guard dShape == [rows, 5] || dShape == [rows], dType.isNumeric else {
                throw PhotoZDataError.schema(path: path, message: "/e_bv has shape \(dShape); expected (\(rows), 5): the extinction in u,g,r,i,z of each object")
            }
            if dShape == [rows] {
                found["ebv"] = d
                used["ebv"] = "e_bv"
                extinction = nil
            } else {
                extinction = d
                used["ebv"] = "e_bv (A_u…A_z) / SFD98 R by least squares"
            }
        } else {
            extinction = nil
        }
        columns = found
        columnsUsed = used
    }

    func read(_ n: Int) throws -> SourceBlock {
        let range = next..<next + n
        next += n
        let count = n * 5 * imageSize * imageSize
        if imageBuffer.count != count { imageBuffer = [Float](repeating: 0, count: count) }
        try imageBuffer.withUnsafeMutableBufferPointer { try self.images.readRows(range, into: $0) }
        func floats(_ c: String) throws -> [Float]? { try columns[c]?.readRows(range, as: Float.self) }
        func doubles(_ c: String) throws -> [Double]? { try columns[c]?.readRows(range, as: Double.self) }
        var ebv = try floats("ebv")
        if let extinction {
            // E(B−V) = Σ_b R_b A_b / Σ_b R_b²: the least-squares fit of A_b = R_b E(B−V).
            let a = try extinction.readRows(range, as: Double.self)
            let r = ExtinctionCoefficients.sfd98.values, norm = r.reduce(0) { $0 + $1 * $1 }
            ebv = (0..<n).map { k in Float((0..<5).reduce(0.0) { $0 + r[$1] * a[k * 5 + $1] } / norm) }
        }
        return SourceBlock(images: imageBuffer, ids: try columns["object_id"]?.readRows(range, as: Int64.self), ra: try doubles("ra"), dec: try doubles("dec"),
                           z: try floats("z_spec")!, zErr: try floats("z_spec_err"), ebv: ebv)
    }
}

extension DataSetReader {
    /// The band names of axis 1 of the images: the manifest's, else the shard's `bands` attribute.
    public var bands: [String] {
        if let bands = manifest?.bands { return bands }
        return (try? opened.first?.file.root.attribute(ShardSchema.Attribute.bands)?.stringsValue ?? nil) ?? ShardSchema.sdssBands
    }

    /// Arcseconds per pixel as the first shard records it (`pixel_scale`); nil where it does not.
    public var pixelScale: Double? {
        guard let value = try? opened.first?.file.root.attribute(ShardSchema.Attribute.pixelScale)?.doubleValue,
              value.isFinite, value > 0 else { return nil }
        return value
    }

    /// Throws unless the images are SDSS u,g,r,i,z: for code whose physics is SDSS's (the k-NN
    /// baseline dereddens u…z magnitudes with SDSS coefficients), `purpose` names it.
    public func requireSDSSBands(purpose: String) throws {
        guard bands == ShardSchema.sdssBands else {
            throw PhotoZDataError.invalidOption("\(path) holds bands \(bands.joined(separator: ",")) but \(purpose) needs SDSS u,g,r,i,z images; it cannot be run on this data set")
        }
    }
}
