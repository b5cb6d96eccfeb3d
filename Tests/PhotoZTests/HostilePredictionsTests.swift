import Foundation
import HDF5
import PhotoZData
import Testing
@testable import PhotoZ

/// `evaluate` on whatever a predictions file can hold: values that are NaN, ±Inf, huge or
/// negative are evaluated or counted, never a crash; files whose columns disagree, whose bins
/// are not increasing or whose datasets declare more than the file holds are refused on read.
@Suite final class HostilePredictionsTests {
    private var folders: [String] = []
    deinit { for folder in folders { try? FileManager.default.removeItem(atPath: folder) } }

    private func folder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("photoz-hostile-pred-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        folders.append(dir)
        return dir
    }

    /// Writes the predictions layout by hand, so that each part can be made wrong.
    private func writeRaw(_ path: String, ids: [Int64], zSpec: [Float], zPhot: [Float], edges: [Double]? = nil,
                          pdfs: [Float]? = nil, pdfShape: [Int]? = nil, hugePDFs: Bool = false) throws {
        let file = try HDF5File.create(path)
        try file.root.setAttribute("schema", .string(PredictionFile.schema))
        try file.root.setAttribute("schema_version", .int64(PredictionFile.version))
        let ancil = try file.root.createGroup("ancil")
        try ancil.createDataset("object_id", of: Int64.self, shape: [ids.count]).write(ids)
        try ancil.createDataset("z_spec", of: Float.self, shape: [zSpec.count]).write(zSpec)
        try ancil.createDataset("z_phot", of: Float.self, shape: [zPhot.count]).write(zPhot)
        if let edges {
            try file.root.createGroup("meta").createDataset("bins", of: Double.self, shape: [1, edges.count]).write(edges)
            let data = try file.root.createGroup("data")
            if hugePDFs {
                _ = try data.createDataset("pdfs", of: Float.self, shape: [1 << 30, edges.count - 1], chunks: [1024, edges.count - 1])
            } else if let pdfs {
                try data.createDataset("pdfs", of: Float.self, shape: pdfShape ?? [ids.count, edges.count - 1]).write(pdfs)
            }
        }
        try file.close()
    }

    @Test func everyValueAFileCanHoldIsEvaluatedOrCounted() throws {
        let dir = try folder()
        let path = dir + "/pred.h5"
        let zSpec: [Float] = [0.1, 0.2, .nan, 0.1, -1, -3, .infinity, 3e38, 0.05, 0.1]
        let zPhot: [Float] = [0.11, .nan, 0.1, .infinity, 0.1, 0.1, 0.1, 0.1, -5, 1e30]
        let edges = [0.0, 0.1, 0.2, 0.4]
        // Rows 0, 7, 8 and 9 are the usable objects: a good PDF, a huge but finite one, one
        // with a negative value and one of zeros; the others hold NaN and the like.
        let pdfs: [Float] = [0.2, 0.5, 0.3,  .nan, 0.5, 0.5,  1, 0, 0,  .infinity, 1, 1,  0, 0, 0,
                             1, 1, 1,  0.3, 0.3, 0.4,  3e38, 3e38, 3e38,  -1, 1, 1,  0, 0, 0]
        try writeRaw(path, ids: Array(1...10), zSpec: zSpec, zPhot: zPhot, edges: edges, pdfs: pdfs)
        let p = try PredictionFile.read(path)
        let report = evaluatePredictions(p)
        #expect(report.withoutZSpec == 2)        // NaN and +Inf z_spec
        #expect(report.unusablePredictions == 4)  // z_phot NaN / Inf, z_spec −1 and −3
        #expect(report.overall.count == 4)
        #expect(report.overall.bias.isFinite)
        let pdf = try #require(report.pdf)
        #expect(pdf.rowsLeftOut == 2 && pdf.meanCRPS.isFinite)
        #expect(pdf.pitHistogram.reduce(0, +) == 2)
        _ = report.table
        let plots = try PredictionPlots.write(p, report: report, beside: path)
        #expect(plots.count == 3)
    }

    @Test func anEmptyFileEvaluatesToNoObjects() throws {
        let dir = try folder()
        try writeRaw(dir + "/empty.h5", ids: [], zSpec: [], zPhot: [], edges: [0, 0.2, 0.4], pdfs: [])
        let report = evaluatePredictions(try PredictionFile.read(dir + "/empty.h5"))
        #expect(report.overall.count == 0 && report.overall.bias.isNaN)
    }

    @Test func columnsOfAnotherLengthAreRefused() throws {
        let dir = try folder()
        try writeRaw(dir + "/short.h5", ids: [1, 2, 3], zSpec: [0.1, 0.2, 0.3], zPhot: [0.1, 0.2])
        let error = try #require(throws: PhotoZDataError.self) { try PredictionFile.read(dir + "/short.h5") }
        #expect("\(error)".contains("ancil/z_phot has 2 values") && "\(error)".contains(dir + "/short.h5"))
    }

    @Test(arguments: [[0.0, 0.2, 0.1], [0.0, 0.0, 0.4], [0.0, .nan, 0.4], [0.0, 0.2, .infinity], [0.1], [-1e300, 1e300]])
    func binEdgesThatAreNotFiniteAndIncreasingAreRefused(edges: [Double]) throws {
        let dir = try folder()
        let k = max(edges.count - 1, 1)
        try writeRaw(dir + "/bins.h5", ids: [1], zSpec: [0.1], zPhot: [0.1], edges: edges, pdfs: [Float](repeating: 1, count: k), pdfShape: [1, k])
        let error = try #require(throws: PhotoZDataError.self) { try PredictionFile.read(dir + "/bins.h5") }
        #expect("\(error)".contains("meta/bins"))
    }

    @Test func pdfsOfAnotherShapeAreRefused() throws {
        let dir = try folder()
        try writeRaw(dir + "/pdfs.h5", ids: [1, 2], zSpec: [0.1, 0.2], zPhot: [0.1, 0.2], edges: [0, 0.2, 0.4], pdfs: [1, 0, 0, 1, 0, 0], pdfShape: [2, 3])
        #expect(throws: PhotoZDataError.self) { try PredictionFile.read(dir + "/pdfs.h5") }
    }

    /// 2^31 object ids (16 GB) declared in a file of a few kilobytes (chunked, nothing
    /// written): refused before anything is read.
    @Test func datasetsLargerThanTheFileCanHoldAreRefusedUnread() throws {
        let dir = try folder()
        let path = dir + "/huge.h5"
        let file = try HDF5File.create(path)
        try file.root.setAttribute("schema", .string(PredictionFile.schema))
        try file.root.setAttribute("schema_version", .int64(PredictionFile.version))
        let ancil = try file.root.createGroup("ancil")
        for name in ["object_id", "z_spec", "z_phot"] {
            _ = try ancil.createDataset(name, of: Int64.self, shape: [1 << 31], chunks: [1 << 16])
        }
        try file.close()
        let error = try #require(throws: PhotoZDataError.self) { try PredictionFile.read(path) }
        #expect("\(error)".contains("more data than a file of"))
    }
}
