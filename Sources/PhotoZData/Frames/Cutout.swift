import Dispatch
import FITS
import Foundation
import SafeOutput
import WCS

/// One catalog object to cut.
struct CutoutTarget: Sendable {
    var objectID: Int64
    var ra: Double
    var dec: Double
    /// 1-based catalog row.
    var row: Int
}

/// Where an object is cut from: its field and its FITS 1-based position in each band's frame.
struct Placement: Sendable {
    var target: CutoutTarget
    var field: FieldID
    var positions: [Band: (x: Double, y: Double)]
    var margin: Double
}

/// Cuts aligned five-band stamps from survey frames for every catalog object (see
/// `CutoutConfiguration`): writes `{id}.fits` per object, `frames.csv` (the frame each band
/// came from), `skipped.csv` (objects not cut, with reasons) and `cutout.json` into the output.
///
/// Each object takes the field where it lies farthest from the frame edges (SDSS fields
/// overlap by 128 rows), all five bands of that field. Fields are processed in batches; each
/// frame is decompressed once, on one of `threads` threads, and every object of its field is
/// resampled from it. The run fails only when nothing at all could be cut.
public func cutout(_ config: CutoutConfiguration, progress: ProgressHandler? = nil) throws -> CutoutSummary {
    try config.validate()
    let start = Date()
    let threads = config.threads ?? ProcessInfo.processInfo.activeProcessorCount
    let (targets, catalogSkips) = try readCutoutTargets(config.catalog, columns: config.columns)
    let index = try FrameIndex.scan(config.frames, threads: threads)
    var skipped = catalogSkips
    var placements: [FieldID: [Placement]] = [:]
    for target in targets {
        switch try place(target, in: index) {
        case .success(let placement): placements[placement.field, default: []].append(placement)
        case .failure(let skip): skipped.append(skip)
        }
    }
    guard !placements.isEmpty else {
        let reasons = Dictionary(grouping: skipped, by: \.reason.rawValue).map { "\($0.value.count) \($0.key)" }.sorted().joined(separator: ", ")
        throw PhotoZDataError.catalog(path: config.catalog, message: "no object lies inside the frames of \(config.frames) (\(targets.count) usable rows; skipped: \(reasons.isEmpty ? "none" : reasons)). First: \(skipped.first?.detail ?? "-")")
    }
    // The stamps are written into a staging folder beside --out and swapped in at the end
    // (SafeOutput): a failed or killed run leaves the previous output as it was, and
    // --overwrite replaces only a folder photoz cutout wrote (it holds cutout.json).
    let staged = try StagedFolder(target: config.output, replacing: config.overwrite ? .ifRecognised(isCutoutOutput) : .never)
    var writing = config
    writing.output = staged.path

    let fieldOrder = placements.keys.sorted()
    let total = placements.values.reduce(0) { $0 + $1.count }
    var done = 0
    var written = 0
    var framesRead = 0
    var frameRows: [String] = []
    let timing = Timing()
    // Enough fields per batch to keep every thread busy with a frame (five per field).
    let fieldsPerBatch = max(1, (threads + 4) / 5)
    for batchStart in stride(from: 0, to: fieldOrder.count, by: fieldsPerBatch) {
        let batch = Array(fieldOrder[batchStart..<min(batchStart + fieldsPerBatch, fieldOrder.count)])
        let objects = batch.flatMap { placements[$0]! }
        let outcome = try cutBatch(batch, objects: objects, index: index, config: writing, threads: threads, timing: timing)
        framesRead += outcome.framesRead
        skipped += outcome.skipped
        written += outcome.written
        frameRows += outcome.frameRows
        done += objects.count
        progress?(done, total)
    }
    guard written > 0 else {
        throw PhotoZDataError.catalog(path: config.catalog, message: "no stamp could be cut: \(skipped.count) objects skipped, first: \(skipped.first?.detail ?? "-")")
    }
    let staging = URL(fileURLWithPath: staged.path), out = URL(fileURLWithPath: staged.target)
    try writeAtomically(Data(("object_id,catalog_row,field,band,frame,x,y,margin,masked_pixels\n" + frameRows.joined()).utf8),
                        to: staging.appendingPathComponent("frames.csv").path)
    try writeCutoutSkips(skipped.sorted { $0.row < $1.row }, to: staging.appendingPathComponent("skipped.csv").path)
    let seconds = Date().timeIntervalSince(start)
    let summary = CutoutSummary(
        written: written, skipped: Dictionary(grouping: skipped, by: \.reason.rawValue).mapValues(\.count),
        fieldsUsed: fieldOrder.count, framesRead: framesRead, seconds: seconds,
        objectsPerSecond: seconds > 0 ? Double(written) / seconds : 0,
        frameReadSeconds: timing.read, resampleSeconds: timing.resample,
        output: config.output, skippedReport: out.appendingPathComponent("skipped.csv").path,
        framesReport: out.appendingPathComponent("frames.csv").path)
    struct Record: Codable { var tool = "photoz cutout"; var toolVersion = PhotoZVersion.current; var configuration: CutoutConfiguration; var summary: CutoutSummary }
    try writeAtomically(Data(jsonText(Record(configuration: config, summary: summary)).utf8), to: staging.appendingPathComponent(cutoutRecordName).path)
    try staged.commit()
    return summary
}

/// The record every `photoz cutout` output folder holds.
let cutoutRecordName = "cutout.json"

/// Whether `path` is a folder `photoz cutout` wrote (its `cutout.json` says so): the only kind
/// of folder `--overwrite` replaces.
@Sendable public func isCutoutOutput(_ path: String) -> Bool {
    let record = (path as NSString).appendingPathComponent(cutoutRecordName)
    guard let data = FileManager.default.contents(atPath: record),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
    return object["tool"] as? String == "photoz cutout"
}

/// Reads the id, RA and Dec of every catalog row with the same column detection as `ingest`
/// (SDSS-style default names, explicit names first); redshift columns are not needed.
func readCutoutTargets(_ path: String, columns: CatalogColumns) throws -> ([CutoutTarget], [CutoutSkip]) {
    let table = try CatalogTable.read(path)
    func column(_ key: String, _ explicit: String?) throws -> String {
        let candidates = explicit.map { [$0] } ?? CatalogColumns.defaults[key]!
        if let name = candidates.lazy.compactMap({ table.resolve($0) }).first { return name }
        let how = explicit == nil ? "none of \(candidates.joined(separator: ", ")) found" : "column '\(explicit!)' not found"
        throw PhotoZDataError.catalog(path: path, message: "no \(key) column: \(how); columns found: \(table.columnNames.joined(separator: ", ")). Name it with --\(key.replacingOccurrences(of: "_", with: "-"))-column")
    }
    let idName = try column("object_id", columns.objectID), raName = try column("ra", columns.ra), decName = try column("dec", columns.dec)
    let ids = table.int64Values(idName), ras = table.doubleValues(raName), decs = table.doubleValues(decName)
    var targets: [CutoutTarget] = [], skipped: [CutoutSkip] = []
    var firstRow: [Int64: Int] = [:]
    for row in 0..<table.rowCount {
        guard let id = ids[row] else {
            skipped.append(CutoutSkip(objectID: nil, row: row + 1, reason: .badCatalogValue, file: nil, detail: "\(idName) value '\(table.text(idName, row: row))' is not an integer"))
            continue
        }
        guard let ra = ras[row], ra.isFinite, let dec = decs[row], dec.isFinite, (-90...90).contains(dec) else {
            skipped.append(CutoutSkip(objectID: id, row: row + 1, reason: .badCatalogValue, file: nil,
                                      detail: "\(raName), \(decName) = '\(table.text(raName, row: row))', '\(table.text(decName, row: row))' is not a sky position in degrees"))
            continue
        }
        if let first = firstRow[id] {
            skipped.append(CutoutSkip(objectID: id, row: row + 1, reason: .duplicateID, file: nil, detail: "object id \(id) already used at catalog row \(first); the first row is kept"))
            continue
        }
        firstRow[id] = row + 1
        let wrapped = ra.truncatingRemainder(dividingBy: 360)
        targets.append(CutoutTarget(objectID: id, ra: wrapped < 0 ? wrapped + 360 : wrapped, dec: dec, row: row + 1))
    }
    return (targets, skipped)
}

/// Chooses the field for one object: of the fields with all five bands whose frames all
/// contain its centre, the one where it lies farthest from the nearest edge of any band.
func place(_ target: CutoutTarget, in index: FrameIndex) throws -> Result<Placement, CutoutSkip> {
    var best: Placement?
    var incomplete: (FieldID, [Band])?
    var partial: (FieldID, Band)?
    for id in index.candidates(ra: target.ra, dec: target.dec) {
        let frames = index.fields[id]!
        var positions: [Band: (x: Double, y: Double)] = [:]
        var margin = Double.infinity
        var inside = false
        var outsideBand: Band?
        for band in Band.allCases {
            guard let frame = frames[band] else { continue }
            let p = try frame.wcs.pixel(longitude: target.ra, latitude: target.dec)
            let m = p.x.isFinite && p.y.isFinite ? frame.margin(x: p.x, y: p.y) : -.infinity
            positions[band] = p
            margin = min(margin, m)
            if m > 0 { inside = true } else if outsideBand == nil { outsideBand = band }
        }
        guard inside else { continue }
        if positions.count < 5 {
            incomplete = (id, Band.allCases.filter { frames[$0] == nil })
            continue
        }
        guard margin > 0 else { partial = (id, outsideBand!); continue }
        if best == nil || margin > best!.margin {
            best = Placement(target: target, field: id, positions: positions, margin: margin)
        }
    }
    if let best { return .success(best) }
    if let (id, missing) = incomplete {
        return .failure(CutoutSkip(objectID: target.objectID, row: target.row, reason: .missingBand, file: nil,
                                   detail: "(\(target.ra), \(target.dec)) lies in field \(id), which has no frame for band \(missing.map(\.rawValue).joined(separator: ","))"))
    }
    if let (id, band) = partial {
        return .failure(CutoutSkip(objectID: target.objectID, row: target.row, reason: .outsideFrames, file: index.fields[id]![band]!.path,
                                   detail: "(\(target.ra), \(target.dec)) lies in field \(id) but outside its \(band.rawValue) frame (the bands are offset by a few pixels)"))
    }
    return .failure(CutoutSkip(objectID: target.objectID, row: target.row, reason: .outsideFrames, file: nil,
                               detail: "(\(target.ra), \(target.dec)) lies outside every frame found"))
}

/// Thread-summed timings.
final class Timing: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var read = 0.0
    private(set) var resample = 0.0
    func add(read r: Double, resample s: Double) { lock.lock(); read += r; resample += s; lock.unlock() }
}

/// The outcome of one batch of fields.
struct BatchOutcome {
    var written = 0
    var framesRead = 0
    var skipped: [CutoutSkip] = []
    var frameRows: [String] = []
}

/// Decompresses the frames of `fields` in parallel (each once), then resamples the objects of
/// those fields in chunks — every (object, band) a unit of work — and writes their stamps.
///
/// Memory is bounded whatever the catalog: the batch's frames (12 MB each for SDSS) plus one
/// chunk of stamps of at most `chunkBytes`.
func cutBatch(_ fields: [FieldID], objects: [Placement], index: FrameIndex, config: CutoutConfiguration,
              threads: Int, timing: Timing) throws -> BatchOutcome {
    let n = config.size, plane = n * n
    let frameList = fields.flatMap { field in Band.allCases.map { index.fields[field]![$0]! } }
    let images = FrameImages(count: frameList.count)
    let failures = FrameFailures()
    DispatchQueue.concurrentPerform(iterations: min(threads, frameList.count)) { worker in
        for f in stride(from: worker, to: frameList.count, by: threads) {
            let t0 = Date()
            do { images.set(f, try readFrameImage(frameList[f])) } catch { failures.add(frameList[f].field, frameList[f].path, "\(error)") }
            timing.add(read: Date().timeIntervalSince(t0), resample: 0)
        }
    }
    let frameSlot = Dictionary(uniqueKeysWithValues: frameList.enumerated().map { ($0.element.path, $0.offset) })
    let pixelsOf = images.all()

    var outcome = BatchOutcome()
    outcome.framesRead = frameList.count
    var eligible: [Placement] = []
    for object in objects {
        if let (path, message) = failures.get(object.field) {
            outcome.skipped.append(CutoutSkip(objectID: object.target.objectID, row: object.target.row, reason: .unreadableFrame, file: path, detail: message))
        } else {
            eligible.append(object)
        }
    }
    let chunkSize = max(1, chunkBytes / (5 * plane * MemoryLayout<Float>.size))
    let resampler = LanczosResampler()
    let folder = URL(fileURLWithPath: config.output)
    for chunkStart in stride(from: 0, to: eligible.count, by: chunkSize) {
        let chunk = Array(eligible[chunkStart..<min(chunkStart + chunkSize, eligible.count)])
        let stamps = UnsafeMutableBufferPointer<Float>.allocate(capacity: chunk.count * 5 * plane)
        defer { stamps.deallocate() }
        let base = SendablePointer(stamps.baseAddress!)
        let masked = MaskedCounts(objects: chunk.count)
        let errors = FirstError()
        let units = chunk.count * 5
        DispatchQueue.concurrentPerform(iterations: min(threads, units)) { worker in
            let t0 = Date()
            for u in stride(from: worker, to: units, by: threads) {
                let k = u / 5, band = Band.allCases[u % 5]
                let object = chunk[k]
                let frame = index.fields[object.field]![band]!
                let grid = StampGrid(ra: object.target.ra, dec: object.target.dec, size: n, pixelScale: config.pixelScale)
                let target = UnsafeMutableBufferPointer(start: base.pointer + (k * 5 + band.index) * plane, count: plane)
                do {
                    let count = try pixelsOf[frameSlot[frame.path]!]!.withUnsafeBufferPointer { image in
                        try resampler.resample(image: image, width: frame.width, height: frame.height, wcs: frame.wcs, grid: grid, into: target)
                    }
                    masked.set(k, band, count)
                } catch {
                    errors.add("\(frame.path): \(error)")
                }
            }
            timing.add(read: 0, resample: Date().timeIntervalSince(t0))
        }
        if let message = errors.first { throw PhotoZDataError.io(path: config.frames, message: "cannot resample: \(message)") }
        var toWrite: [Int] = []
        for (k, object) in chunk.enumerated() {
            let counts = masked.get(k)
            if config.edge == .skip && counts.contains(where: { $0 > 0 }) {
                outcome.skipped.append(CutoutSkip(objectID: object.target.objectID, row: object.target.row, reason: .onEdge, file: index.fields[object.field]![.r]!.path,
                                                  detail: "the stamp reaches past the frame edge in field \(object.field) (masked pixels u,g,r,i,z: \(counts.map(String.init).joined(separator: ","))); --edge mask keeps it with NaN pixels"))
                continue
            }
            toWrite.append(k)
        }
        let writeList = toWrite
        DispatchQueue.concurrentPerform(iterations: min(threads, max(1, writeList.count))) { worker in
            for w in stride(from: worker, to: writeList.count, by: threads) {
                let k = writeList[w]
                let object = chunk[k]
                let pixels = UnsafeBufferPointer(start: base.pointer + k * 5 * plane, count: 5 * plane)
                do {
                    try writeStamp(pixels, object: object, frames: index.fields[object.field]!, masked: masked.get(k), config: config,
                                   to: folder.appendingPathComponent("\(object.target.objectID).fits").path)
                } catch {
                    errors.add("\(error)")
                }
            }
        }
        if let message = errors.first { throw PhotoZDataError.io(path: config.output, message: "cannot write a stamp: \(message)") }
        for k in writeList {
            let object = chunk[k]
            let counts = masked.get(k)
            for band in Band.allCases {
                let frame = index.fields[object.field]![band]!, p = object.positions[band]!
                let fields = [String(object.target.objectID), String(object.target.row), object.field.description, band.rawValue,
                              frame.path, String(format: "%.4f", p.x), String(format: "%.4f", p.y),
                              String(format: "%.2f", frame.margin(x: p.x, y: p.y)), String(counts[band.index])]
                outcome.frameRows.append(fields.map(csvQuote).joined(separator: ",") + "\n")
            }
        }
        outcome.written += writeList.count
    }
    return outcome
}

/// Stamps held in memory at once: 256 MB (3,200 objects of 64 × 64 × 5).
private let chunkBytes = 256 << 20

/// Decompressed frame images, written by worker threads, read after they join.
final class FrameImages: @unchecked Sendable {
    private var images: [[Float]?]
    private let lock = NSLock()
    init(count: Int) { images = Array(repeating: nil, count: count) }
    func set(_ k: Int, _ pixels: [Float]) { lock.lock(); images[k] = pixels; lock.unlock() }
    func all() -> [[Float]?] { lock.lock(); defer { lock.unlock() }; return images }
}

/// The first error message of a parallel loop.
final class FirstError: @unchecked Sendable {
    private var message: String?
    private let lock = NSLock()
    func add(_ text: String) { lock.lock(); if message == nil { message = text }; lock.unlock() }
    var first: String? { lock.lock(); defer { lock.unlock() }; return message }
}

/// The frame's primary image in nanomaggies, read with cfitsio; `.bz2`/`.gz` frames are first
/// decompressed (primary HDU only) into a temporary file by `FrameHeaderReader`, which lets
/// frames decompress in parallel. Checked against the size its header promised when indexed.
func readFrameImage(_ frame: Frame) throws -> [Float] {
    let lower = frame.path.lowercased()
    var path = frame.path
    var temporary: String?
    if lower.hasSuffix(".bz2") || lower.hasSuffix(".gz") {
        let name = ".photoz-frame-\(getpid())-\(UUID().uuidString).fits"
        temporary = (NSTemporaryDirectory() as NSString).appendingPathComponent(name)
        path = temporary!
    }
    defer { if let temporary { try? FileManager.default.removeItem(atPath: temporary) } }
    if let temporary { try FrameHeaderReader.decompressPrimaryHDU(frame.path, bytes: frame.primaryBytes, to: temporary) }
    do {
        return try FITSFile.withFile(path) { file in
            try file.moveTo(hdu: 0)
            let shape = try file.imageShape()
            guard shape == [frame.width, frame.height] else {
                throw PhotoZDataError.io(path: frame.path, message: "HDU 0 is \(shape) but its header said \(frame.width)×\(frame.height); the file changed while cutting")
            }
            if let unit = try file.string("BUNIT"), !["nanomaggy", "nanomaggies", "nmgy"].contains(unit.lowercased()) {
                throw PhotoZDataError.io(path: frame.path, message: "HDU 0 has BUNIT = '\(unit)'; stamps are written in nanomaggies, so frames must be calibrated (SDSS frame files are)")
            }
            return try file.readImage()
        }
    } catch let error as FITSError where temporary != nil {
        throw PhotoZDataError.io(path: frame.path, message: "HDU 0 (decompressed): \(error.message)")
    }
}

/// Masked-pixel counts per object and band, written by worker threads.
final class MaskedCounts: @unchecked Sendable {
    private var counts: [Int]
    private let lock = NSLock()
    init(objects: Int) { counts = Array(repeating: 0, count: objects * 5) }
    func set(_ k: Int, _ band: Band, _ value: Int) { lock.lock(); counts[k * 5 + band.index] = value; lock.unlock() }
    func get(_ k: Int) -> [Int] { lock.lock(); defer { lock.unlock() }; return Array(counts[k * 5..<k * 5 + 5]) }
}

/// The first failure of each field, written by worker threads.
final class FrameFailures: @unchecked Sendable {
    private var failures: [FieldID: (String, String)] = [:]
    private let lock = NSLock()
    func add(_ field: FieldID, _ path: String, _ message: String) {
        lock.lock()
        if failures[field] == nil { failures[field] = (path, message) }
        lock.unlock()
    }
    func get(_ field: FieldID) -> (String, String)? { lock.lock(); defer { lock.unlock() }; return failures[field] }
}

/// Writes the skipped objects as CSV, in the columns of ingest's skipped.csv.
func writeCutoutSkips(_ skipped: [CutoutSkip], to path: String) throws {
    var text = "object_id,catalog_row,reason,file,detail\n"
    for s in skipped {
        let fields = [s.objectID.map(String.init) ?? "", String(s.row), s.reason.rawValue, s.file ?? "", s.detail]
        text += fields.map(csvQuote).joined(separator: ",") + "\n"
    }
    try writeAtomically(Data(text.utf8), to: path)
}
