import ArgumentParser
import Foundation
import PhotoZData

extension CutoutConfiguration.EdgePolicy: ExpressibleByArgument {}
extension CutoutConfiguration.Kernel: ExpressibleByArgument {}

/// `photoz cutout`: SDSS frames + catalog → aligned five-band FITS stamps that `ingest` reads.
struct CutoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cutout",
        abstract: "Cut aligned five-band stamps from SDSS frames at catalog positions.",
        discussion: """
        Each object gets {id}.fits in --out: one image per band (EXTNAME u…z, nanomaggies), all \
        resampled with Lanczos-3 (flux-conserving) onto one tangent-plane grid centred on the \
        object, north up, east left; see schemas/cutout-files.md. Also writes frames.csv (the \
        frame each band came from), skipped.csv (objects not cut, with reasons) and cutout.json. \
        Then run: photoz ingest --cutouts OUT --catalog CAT --out SHARDS. \
        Exit codes: 0 done, 1 failed (no stamp written).
        """
    )

    @Option(help: "Folder of SDSS frame-{band}-{run}-{camcol}-{field}.fits[.bz2|.gz] files, searched recursively.")
    var frames: String

    @Option(help: "Catalog: a FITS binary table or a CSV file with a header line (object id, ra, dec).")
    var catalog: String

    @Option(help: "Output folder for the stamps (created; must not lie inside --frames or hold the catalog).")
    var out: String

    @Option(help: "Stamp side in pixels.")
    var size: Int = 64

    @Option(help: "Stamp pixel side in arcsec.")
    var pixelScale: Double = 0.396

    @Option(help: "Resampling kernel.")
    var kernel: CutoutConfiguration.Kernel = .lanczos3

    @Option(help: "Objects whose stamp leaves the frame: mask (keep, NaN pixels) or skip.")
    var edge: CutoutConfiguration.EdgePolicy = .mask

    @Option(help: "Worker threads decompressing and cutting frames (default: one per core).")
    var threads: Int?

    @Flag(help: "Replace an existing --out that photoz cutout wrote (any other folder is refused).")
    var overwrite = false

    @OptionGroup var columns: CatalogPositionOptions

    @Flag(help: "Print the summary as JSON on stdout.")
    var json = false

    func validate() throws {
        try checkBounds(size, "--size", Limits.imageSize, "stamp side in pixels")
        try checkBounds(threads, "--threads", Limits.threads)
        guard pixelScale.isFinite, pixelScale > 0, pixelScale <= 60 else {
            throw ValidationError("--pixel-scale \(pixelScale): give the stamp pixel side in arcsec, above 0 and at most 60")
        }
        try checkOutput(out, kind: .folder, inputs: [("--frames", frames), ("--catalog", catalog)], overwrite: overwrite,
                        recognise: isCutoutOutput)
    }

    func run() throws {
        let lock = try claimOutput(out)
        defer { lock.release() }
        var config = CutoutConfiguration(frames: frames, catalog: catalog, output: out)
        config.size = size
        config.pixelScale = pixelScale
        config.kernel = kernel
        config.edge = edge
        config.threads = threads
        config.overwrite = overwrite
        config.columns = columns.catalogColumns
        let summary = try cutout(config, progress: ProgressDisplay("cutout").handler)
        if json {
            print(jsonText(summary))
            return
        }
        let skipped = summary.skipped.values.reduce(0, +)
        print("cut \(summary.written) objects from \(summary.fieldsUsed) fields (\(summary.framesRead) frames) into \(summary.output)")
        print(String(format: "  %.1f s, %.1f objects/s (CPU summed over threads: frames %.2f s, resampling %.2f s, writing %.2f s)",
                     summary.seconds, summary.objectsPerSecond, summary.frameReadSeconds, summary.resampleSeconds, summary.writeSeconds))
        print("skipped \(skipped)" + (skipped > 0 ? ": " + summary.skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") : ""))
        print("  report: \(summary.skippedReport)")
        print("  frames used: \(summary.framesReport)")
    }
}
