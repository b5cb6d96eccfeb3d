import ArgumentParser
import Foundation
import PhotoZData
import SafeOutput
import SkySim

/// `photoz simulate`: a mock SDSS sky of galaxy cutouts and a spectroscopic catalog.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate SDSS-like 5-band galaxy cutouts and their catalog.",
        discussion: """
        Draws galaxies like the SDSS Main Galaxy Sample (r_petro <= 17.77, median z ~ 0.1) \
        from a luminosity function, gives them colours from redshifted SED templates through \
        the SDSS filters, bulge+disk shapes, Galactic reddening, neighbours, seeing and SDSS \
        noise, and writes OUT/cutouts/ (layout mef, per-band or cube, as ingest reads them), \
        OUT/catalog.fits, OUT/catalog.csv (objID, ra, dec, z, zErr, ebv and the truth) and \
        OUT/simulation.json. The same --seed gives the same files on any number of threads. \
        See Sources/SkySim/README.md for the physics and its sources. \
        Exit codes: 0 done, 1 failed, 64 bad arguments.
        """
    )

    @Option(help: "Number of galaxies to simulate.")
    var count: Int

    @Option(help: "Output folder (created if missing).")
    var out: String

    @Option(help: "Random seed; object i depends only on (seed, i).")
    var seed: UInt64 = 1

    @Option(help: "Cutout layout: mef (one multi-extension file per object), per-band or cube.")
    var layout: CutoutLayout = .mef

    @Option(help: "Stamp side in pixels (at least 16).")
    var size: Int = Survey.cutoutSize

    @Flag(help: "Replace the cutouts and catalog of an earlier run in a non-empty --out.")
    var overwrite = false

    @Option(help: "Extinction coefficients A_band/E(B-V) used for reddening: SFD98 or SF11.")
    var extinctionCoefficients: String = "SFD98"

    @Flag(help: "Write the noiseless model images (no sky or source noise).")
    var noiseless = false

    @Flag(help: "Leave out neighbouring galaxies and stars.")
    var isolated = false

    @Option(help: "Worker threads (default: one per core).")
    var threads: Int?

    @Flag(help: "Print the summary as JSON on stdout.")
    var json = false

    func validate() throws {
        guard count > 0 else { throw ValidationError("--count \(count): give a positive number of galaxies, e.g. --count 1000") }
        guard size >= SimulationConfig.minimumSize else {
            throw ValidationError("--size \(size): stamps must be at least \(SimulationConfig.minimumSize) pixels (SDSS photo-z work uses 64)")
        }
        try checkBounds(count, "--count", 1...100_000_000, "galaxies")
        try checkBounds(size, "--size", SimulationConfig.minimumSize...Limits.imageSize.upperBound, "stamp side in pixels")
        try checkBounds(threads, "--threads", Limits.threads)
        guard ExtinctionCoefficients.named(extinctionCoefficients) != nil else {
            throw ValidationError("--extinction-coefficients '\(extinctionCoefficients)': known sets are \(ExtinctionCoefficients.all.map(\.name).joined(separator: ", "))")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw ValidationError("--out \(out) is a file; name a folder") }
            let contents = Leftovers.contents(of: out)
            if !contents.isEmpty && !overwrite {
                throw ValidationError("--out \(out) exists and is not empty; add --overwrite to replace its simulation outputs, or choose another folder")
            }
            if !contents.isEmpty && !isSimulationFolder(out) {
                throw ValidationError("--out \(out) is not a folder photoz simulate wrote (no simulation.json); --overwrite replaces only photoz's own outputs: choose another folder")
            }
        }
    }

    func run() throws {
        let lock = try claimOutput(out)
        defer { lock.release() }
        let config = SimulationConfig(
            count: count, seed: seed, layout: layout, size: size, overwrite: overwrite,
            extinction: ExtinctionCoefficients.named(extinctionCoefficients)!, noise: !noiseless,
            neighbours: !isolated, threads: threads)
        let summary = try simulateSky(config, outputDirectory: out, progress: ProgressDisplay("simulate", unit: "cutouts").handler)
        if json {
            print(jsonText(summary))
        } else {
            print("""
            simulated \(summary.count) galaxies (median z \(String(format: "%.3f", summary.medianRedshift))), \
            \(summary.files) \(summary.layout.rawValue) cutout files of \(size)x\(size) pixels
              \(String(format: "%.1f s, %.0f cutouts/s on %d threads", summary.seconds, summary.cutoutsPerSecond, summary.threads))
              cutouts: \(summary.cutoutDirectory)
              catalog: \(summary.catalogFITS), \(summary.catalogCSV)
            """)
        }
    }
}
