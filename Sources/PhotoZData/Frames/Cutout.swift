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
/// overlap by 128 rows), all five bands of that field. Each frame is decompressed once and
/// every object of its field resampled from it, on `threads` threads that share decompressing,
/// resampling and writing (`CutoutPipeline`). The run fails only when nothing at all could be cut.
///
/// With `PHOTOZ_CUTOUT_TRACE=FILE` in the environment, the workers' timeline is written to FILE
/// as CSV once the output is in place (`CutoutTrace`).
public func cutout(_ config: CutoutConfiguration, progress: ProgressHandler? = nil) throws -> CutoutSummary {
    try cutout(config, progress: progress, tracePath: ProcessInfo.processInfo.environment["PHOTOZ_CUTOUT_TRACE"], stampBytes: defaultStampBytes).summary
}

/// `cutout`, with the trace file and the stamp memory budget (bytes) given, also returning the
/// pipeline's memory peaks and bounds (for tests).
func cutout(_ config: CutoutConfiguration, progress: ProgressHandler?, tracePath: String?, stampBytes: Int) throws -> (summary: CutoutSummary, pipeline: BatchOutcome) {
    try config.validate()
    let start = Date()
    let trace = tracePath.map { _ in CutoutTrace() }
    func phase<T>(_ name: String, _ body: () throws -> T) rethrows -> T { try trace.map { try $0.phase(name, body) } ?? body() }
    let threads = config.threads ?? ProcessInfo.processInfo.activeProcessorCount
    let (targets, catalogSkips) = try phase("catalog") { try readCutoutTargets(config.catalog, columns: config.columns) }
    let index = try phase("index") { try FrameIndex.scan(config.frames, threads: threads) }
    var skipped = catalogSkips
    var placements: [FieldID: [Placement]] = [:]
    try phase("place") {
        for target in targets {
            switch try place(target, in: index) {
            case .success(let placement): placements[placement.field, default: []].append(placement)
            case .failure(let skip): skipped.append(skip)
            }
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
    let timing = Timing()
    let outcome = try phase("pipeline") {
        try CutoutPipeline(fields: fieldOrder, objects: fieldOrder.map { placements[$0]! }, index: index, config: writing,
                           threads: threads, timing: timing, progress: progress, stampBytes: stampBytes, trace: trace).run()
    }
    let written = outcome.written
    skipped += outcome.skipped
    let framesRead = fieldOrder.count * 5
    let frameRows = outcome.frameRows
    guard written > 0 else {
        throw PhotoZDataError.catalog(path: config.catalog, message: "no stamp could be cut: \(skipped.count) objects skipped, first: \(skipped.first?.detail ?? "-")")
    }
    let staging = URL(fileURLWithPath: staged.path), out = URL(fileURLWithPath: staged.target)
    try phase("reports") {
        try writeAtomically(Data(("object_id,catalog_row,field,band,frame,x,y,margin,masked_pixels\n" + frameRows.joined()).utf8),
                            to: staging.appendingPathComponent("frames.csv").path)
        try writeCutoutSkips(skipped.sorted { $0.row < $1.row }, to: staging.appendingPathComponent("skipped.csv").path)
    }
    let seconds = Date().timeIntervalSince(start)
    let summary = CutoutSummary(
        written: written, skipped: Dictionary(grouping: skipped, by: \.reason.rawValue).mapValues(\.count),
        fieldsUsed: fieldOrder.count, framesRead: framesRead, seconds: seconds,
        objectsPerSecond: seconds > 0 ? Double(written) / seconds : 0,
        frameReadSeconds: timing.read, resampleSeconds: timing.resample, writeSeconds: timing.write,
        output: config.output, skippedReport: out.appendingPathComponent("skipped.csv").path,
        framesReport: out.appendingPathComponent("frames.csv").path)
    struct Record: Codable { var tool = "photoz cutout"; var toolVersion = PhotoZVersion.current; var configuration: CutoutConfiguration; var summary: CutoutSummary }
    try writeAtomically(Data(jsonText(Record(configuration: config, summary: summary)).utf8), to: staging.appendingPathComponent(cutoutRecordName).path)
    try phase("commit") { try staged.commit() }   // the syncfs that makes the stamps durable, then the swap
    if let trace, let tracePath { try writeAtomically(Data(trace.csv.utf8), to: tracePath) }
    return (summary, outcome)
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
    // The errors name the column's role, not a command-line option: the CLI maps the role to
    // its own flag (as for ingest's catalog reader).
    func column(_ role: CatalogColumnRole, _ explicit: String?) throws -> String {
        let candidates = explicit.map { [$0] } ?? CatalogColumns.defaults[role.rawValue]!
        if let name = candidates.lazy.compactMap({ table.resolve($0) }).first { return name }
        let how = explicit == nil ? "none of \(candidates.joined(separator: ", ")) found" : "column '\(explicit!)' not found"
        throw CatalogColumnError(path: path, role: role, column: nil,
                                 message: "no \(role.rawValue) column (\(role.meaning)): \(how); columns found: \(table.columnNames.joined(separator: ", ")). Name the column that holds it")
    }
    let idName = try column(.objectID, columns.objectID), raName = try column(.ra, columns.ra), decName = try column(.dec, columns.dec)
    if let (largest, limit) = table.inexactIntegers(idName) {
        throw CatalogColumnError(path: path, role: .objectID, column: idName,
                                 message: "object id column '\(idName)' holds floating-point values up to \(largest), beyond \(limit) (2^\(limit.exponent)), the largest integer its type holds exactly: the 64-bit ids were rounded when the catalog was written. Write the ids as 64-bit integers (FITS TFORM 'K', or plain digits in CSV)")
    }
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

/// The CPU time of the calling thread, seconds: phase timings that other processes on the
/// machine do not inflate, as wall-clock intervals on a loaded machine are.
func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
}

/// Thread-summed CPU times of the phases.
final class Timing: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var read = 0.0
    private(set) var resample = 0.0
    private(set) var write = 0.0
    func add(read r: Double = 0, resample s: Double = 0, write w: Double = 0) { lock.lock(); read += r; resample += s; write += w; lock.unlock() }
}

/// What the pipeline did.
struct BatchOutcome {
    var written = 0
    var skipped: [CutoutSkip] = []
    var frameRows: [String] = []
    /// The most frames held in memory (decompressed or decompressing) at once, and the bound:
    /// five per live field.
    var peakFrames = 0
    var liveFields = 0
    /// The most objects whose stamps were held in memory at once, and the budget.
    var peakStampObjects = 0
    var stampBudget = 0
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
