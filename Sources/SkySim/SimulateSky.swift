import Dispatch
import Foundation
import PhotoZData
import SafeOutput

/// What `simulateSky` wrote and how fast.
public struct SimulationSummary: Codable, Sendable, Equatable {
    /// Objects simulated.
    public var count: Int
    /// Cutout files written (count for mef/cube, 5 × count for per-band).
    public var files: Int
    /// Wall-clock seconds for the whole run, catalog included.
    public var seconds: Double
    /// Objects per second.
    public var cutoutsPerSecond: Double
    /// Threads used.
    public var threads: Int
    /// Where the outputs are.
    public var outputDirectory: String, cutoutDirectory: String, catalogFITS: String, catalogCSV: String
    /// Cutout layout written.
    public var layout: CutoutLayout
    /// Median redshift of the simulated objects.
    public var medianRedshift: Double
}

/// Simulates `config.count` objects and writes `OUT/cutouts/…` (in `config.layout`),
/// `OUT/catalog.fits`, `OUT/catalog.csv` and `OUT/simulation.json` (configuration + summary).
///
/// Objects are simulated in blocks on `config.threads` threads (all cores by default); each
/// object depends only on (seed, index), so the files are identical for any thread count.
/// `progress(done, total)` is called after each block, from worker threads. An existing,
/// non-empty `outputDirectory` is refused unless `config.overwrite` is set and it is a folder
/// simulate wrote (`simulation.json`); then the previous `cutouts/` folder and catalog files
/// are replaced (other files there are left alone). The cutouts are written into a
/// `StagedFolder` that replaces `cutouts/` whole at the end; the other files are atomic.
public func simulateSky(_ config: SimulationConfig, outputDirectory: String,
                        progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> SimulationSummary {
    let start = Date()
    let simulator = try SkySimulator(config: config)
    try prepareOutputDirectory(outputDirectory, overwrite: config.overwrite)
    let cutouts = (outputDirectory as NSString).appendingPathComponent("cutouts")
    let staged = try StagedFolder(target: cutouts, replacing: .always)
    let staging = staged.path

    let writer = CutoutWriter(layout: config.layout, config: config)
    let state = RunState(count: config.count)
    let blockSize = 16
    let blocks = (config.count + blockSize - 1) / blockSize
    let threads = max(1, min(config.threads ?? ProcessInfo.processInfo.activeProcessorCount, blocks))
    DispatchQueue.concurrentPerform(iterations: threads) { _ in
        while let block = state.nextBlock(of: blocks) {
            let range = (block * blockSize)..<min(config.count, (block + 1) * blockSize)
            do {
                var truths: [GalaxyTruth] = []
                for index in range {
                    let galaxy = simulator.galaxy(index: index)
                    try writer.write(galaxy, to: staging)
                    truths.append(galaxy.truth)
                }
                let done = state.finish(truths, at: range.lowerBound)
                progress?(done, config.count)
            } catch {
                state.fail(error)
            }
        }
    }
    if let error = state.firstError { throw error }     // `staged` removes the staging folder
    let truths = state.truths.map { $0! }
    // Every file is written (where a full disk or an I/O error can stop the run with the previous
    // outputs untouched) before any is renamed into place.
    let catalogs = try CatalogWriter.prepare(truths, config: config, in: outputDirectory)

    let seconds = Date().timeIntervalSince(start)
    let redshifts = truths.map(\.z).sorted()
    let summary = SimulationSummary(
        count: config.count, files: config.count * (config.layout == .perBand ? 5 : 1), seconds: seconds,
        cutoutsPerSecond: Double(config.count) / max(seconds, 1e-9), threads: threads,
        outputDirectory: outputDirectory, cutoutDirectory: cutouts,
        catalogFITS: (outputDirectory as NSString).appendingPathComponent("catalog.fits"),
        catalogCSV: (outputDirectory as NSString).appendingPathComponent("catalog.csv"),
        layout: config.layout, medianRedshift: redshifts[redshifts.count / 2])
    let provenance = try prepareProvenance(config: config, summary: summary, in: outputDirectory)
    try staged.commit()
    for file in catalogs + [provenance] { try file.commit() }
    return summary
}

/// Creates the output folder, or checks that an existing one may be written into.
private func prepareOutputDirectory(_ path: String, overwrite: Bool) throws {
    let fileManager = FileManager.default
    var isDirectory: ObjCBool = false
    if fileManager.fileExists(atPath: path, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else {
            throw SimulationError.fileSystem(path: path, message: "a file of that name exists; --out must name a folder")
        }
        let contents = Leftovers.contents(of: path)
        if !contents.isEmpty && !overwrite { throw SimulationError.outputExists(path: path) }
        if !contents.isEmpty && !isSimulationFolder(path) {
            throw SimulationError.fileSystem(path: path, message: "is not a folder photoz simulate wrote (no simulation.json); --overwrite replaces only photoz's own outputs: choose another --out")
        }
        return
    }
    do { try fileManager.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        throw SimulationError.fileSystem(path: path, message: error.localizedDescription)
    }
}

/// Whether `path` is a folder `simulateSky` wrote (it holds `simulation.json`), which
/// `overwrite` may write into again.
public func isSimulationFolder(_ path: String) -> Bool {
    FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("simulation.json"))
}

/// Writes `simulation.json` (tool, configuration and summary) under a temporary name.
private func prepareProvenance(config: SimulationConfig, summary: SimulationSummary, in directory: String) throws -> PendingFile {
    struct Provenance: Codable { var creator: String; var config: SimulationConfig; var summary: SimulationSummary }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let data = try encoder.encode(Provenance(creator: CutoutWriter.creator, config: config, summary: summary))
    return try prepareText(directory, "simulation.json", String(decoding: data, as: UTF8.self) + "\n")
}

/// Shared state of the worker threads: block counter, truths, progress and the first error.
private final class RunState: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0, done = 0
    private(set) var truths: [GalaxyTruth?]
    private(set) var firstError: Error?

    init(count: Int) { truths = Array(repeating: nil, count: count) }

    /// The next block to simulate, or nil when all are taken or a worker failed.
    func nextBlock(of blocks: Int) -> Int? {
        lock.withLock {
            guard firstError == nil, next < blocks else { return nil }
            defer { next += 1 }
            return next
        }
    }

    /// Stores a finished block's truths; returns the number of objects done so far.
    func finish(_ block: [GalaxyTruth], at start: Int) -> Int {
        lock.withLock {
            for (k, truth) in block.enumerated() { truths[start + k] = truth }
            done += block.count
            return done
        }
    }

    func fail(_ error: Error) {
        lock.withLock { if firstError == nil { firstError = error } }
    }
}
