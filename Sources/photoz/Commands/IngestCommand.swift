import ArgumentParser
import Foundation
import PhotoZ
import PhotoZData

extension CutoutLayout: ExpressibleByArgument {}

/// `photoz ingest`: FITS cutouts + catalog → HDF5 shards.
struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Turn FITS cutouts and a spectroscopic catalog into HDF5 training shards.",
        discussion: """
        Writes {split}-NNNNN.h5 shards (schema photoz.shard v1, see schemas/shard-v1.md), \
        manifest.json and skipped.csv (objects left out, with reasons) into --out. Objects \
        whose cutouts are missing or unusable are skipped and reported; the run fails only \
        when nothing can be ingested. Exit codes: 0 done, 1 failed (nothing written).
        """
    )

    @Option(help: "Catalog: a FITS binary table or a CSV file with a header line.")
    var catalog: String

    @Option(help: "Folder of FITS cutouts (.fits, .fits.gz, .fits.bz2, .fits.fz).")
    var cutouts: String

    @Option(help: "Output folder for the shards.")
    var out: String

    @Option(help: "Cutout layout: mef, per-band or cube (default: detected from the files).")
    var layout: CutoutLayout?

    @Option(help: "File-name template with {id} (and {band} for per-band), e.g. '{id}_{band}.fits.gz'.")
    var template: String?

    @Option(help: "Cutout side in pixels; larger images are centre-cropped, smaller ones rejected.")
    var size: Int = 64

    @Option(help: "Rows per shard file.")
    var shardSize: Int = 1000

    @Option(help: "none, gzip or gzip:LEVEL (1-9); gzip adds HDF5's shuffle filter.")
    var compression: String = "gzip:4"

    @Option(help: "Train/valid/test fractions, assigned by a hash of object_id (default 80/10/10; with --append, the data set's).")
    var split: String?

    @Flag(help: "Replace an existing output folder (only once the new one is complete).")
    var overwrite = false

    @Flag(help: "Add the objects to the data set at --out: a new version of it, every existing row kept with its split; an object id already there refuses the append.")
    var append = false

    @Option(help: "Keep objects with NaN/Inf pixels, replacing those pixels by this value.")
    var fillNonfinite: Float?

    @Option(help: "Band order of cubes without BANDS/FILTERn keywords, e.g. ugriz.")
    var cubeBands: String?

    @OptionGroup var columns: CatalogColumnOptions

    @Flag(help: "Keep catalog rows without a redshift (empty, NaN, -9999, -999, -99) as unlabelled rows for predict, instead of skipping them.")
    var keepUnlabelled = false

    @Option(name: .customLong("class"), help: "Keep only rows of these spectral classes (the CLASS column), comma-separated, e.g. GALAXY.")
    var classes: String?

    @Option(help: "Keep only rows with these ZWARNING values, comma-separated, e.g. 0.")
    var zwarning: String?

    @Option(help: "Keep only labelled rows with z at or above this.")
    var zMin: Double?

    @Option(help: "Keep only labelled rows with z at or below this.")
    var zMax: Double?

    @Option(help: "More catalog columns to store as per-row columns (catalog/NAME in the shards), comma-separated, or 'all'.")
    var keepColumns: String?

    @Option(help: "E(B-V) of every object, for a catalog without an E(B-V) column.")
    var ebv: Double?

    @Option(parsing: .upToNextOption, help: "Dust maps to read E(B-V) from at each position: SFD_dust_4096_ngp.fits SFD_dust_4096_sgp.fits, or any FITS map with a celestial WCS.")
    var ebvMap: [String] = []

    @Option(help: "Worker threads reading FITS files (default: one per core).")
    var threads: Int?

    @Flag(help: "Print the summary as JSON on stdout.")
    var json = false

    func validate() throws {
        try checkBounds(size, "--size", Limits.imageSize, "cutout side in pixels")
        try checkBounds(shardSize, "--shard-size", Limits.shardSize, "rows per shard")
        try checkBounds(threads, "--threads", Limits.threads)
        if append && overwrite { throw ValidationError("--append adds to the data set at --out and --overwrite replaces it: choose one") }
        _ = try configuration()
        if append {
            guard PhotoZOutputs.isDataSet(out) else {
                throw ValidationError("--append: --out \(out) is not a photoz data set (no photoz manifest.json); drop --append to write a new one")
            }
            return
        }
        try checkOutput(out, kind: .folder, inputs: [("--catalog", catalog), ("--cutouts", cutouts)], overwrite: overwrite,
                        recognise: PhotoZOutputs.isDataSet)
    }

    /// The library configuration these options describe; option errors are usage errors.
    func configuration() throws -> IngestConfiguration {
        var config = IngestConfiguration(catalog: catalog, cutouts: cutouts, output: out)
        try asUsage {
            config.layout = layout
            config.template = template
            config.size = size
            config.shardSize = shardSize
            config.compression = try ShardCompression(parsing: compression)
            if let split {
                config.split = try SplitFractions(parsing: split)
            } else if append, let manifest = try? Manifest.read(directory: out) {
                config.split = manifest.splitFractions  // new rows are split as the existing ones were
            }
            config.overwrite = overwrite
            config.append = append
            config.fillNonFinite = fillNonfinite
            config.columns = columns.catalogColumns
            config.extinction = try columns.coefficients()
            config.threads = threads
            config.selection.keepUnlabelled = keepUnlabelled
            if let classes {
                let list = classes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                guard !list.isEmpty else { throw ValidationError("--class '\(classes)': name at least one class, e.g. GALAXY") }
                config.selection.classes = list
            }
            if let zwarning {
                let list = zwarning.split(separator: ",").map { Int64($0.trimmingCharacters(in: .whitespaces)) }
                guard !list.isEmpty, list.allSatisfy({ $0 != nil }) else { throw ValidationError("--zwarning '\(zwarning)': integers, comma-separated, e.g. 0") }
                config.selection.zWarning = list.compactMap { $0 }
            }
            for (name, value) in [("--z-min", zMin), ("--z-max", zMax)] {
                if let value, !(value.isFinite && value > -1) { throw ValidationError("\(name) \(value): a redshift above -1") }
            }
            config.selection.zMin = zMin
            config.selection.zMax = zMax
            if ebv != nil && !ebvMap.isEmpty { throw ValidationError("--ebv and --ebv-map both give E(B-V); choose one") }
            if (ebv != nil || !ebvMap.isEmpty) && (columns.ebvColumn != nil || columns.extinctionPrefix != nil) {
                throw ValidationError("--ebv/--ebv-map replace the catalog's E(B-V); drop --ebv-column/--extinction-prefix, or the replacement")
            }
            if let keepColumns {
                let list = keepColumns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                guard !list.isEmpty else { throw ValidationError("--keep-columns '\(keepColumns)': name columns, comma-separated, or all") }
                config.keepColumns = list == ["all"] ? .all : .named(list)
            }
            if let ebv { config.ebv = .constant(ebv) }
            if !ebvMap.isEmpty { config.ebv = .maps(ebvMap) }
            if let cubeBands {
                let bands = cubeBands.compactMap { Band(fitsName: String($0)) }
                guard bands.count == 5, Set(bands).count == 5 else {
                    throw ValidationError("--cube-bands '\(cubeBands)': name the five bands once each, e.g. ugriz")
                }
                config.cubeBandOrder = bands
            }
            try config.validate()
        }
        return config
    }

    func run() throws {
        let lock = try claimOutput(out)
        defer { lock.release() }
        let summary = try ingest(try configuration(), progress: ProgressDisplay("ingest").handler)
        print(json ? jsonText(summary) : describe(summary))
    }
}

/// The human summary of an ingest run.
func describe(_ s: IngestSummary) -> String {
    var lines = [
        (s.appendedTo.map { "appended \(s.ingested) objects to a data set of \($0) rows (kept with their splits); it now holds \(s.ingested + $0) rows" }
            ?? "ingested \(s.ingested) objects") + " (train \(s.rows["train"] ?? 0), valid \(s.rows["valid"] ?? 0), test \(s.rows["test"] ?? 0)) into \(s.shards) shards, \(s.bytes / 1_000_000) MB, layout \(s.layout.rawValue)",
        String(format: "  %.1f s, %.0f objects/s", s.seconds, s.objectsPerSecond),
    ]
    let skipped = s.skipped.values.reduce(0, +)
    if skipped > 0 {
        lines.append("skipped \(skipped): " + s.skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
    } else {
        lines.append("skipped 0")
    }
    if s.unlabelled > 0 {
        lines.append("  \(s.unlabelled) of them unlabelled (no redshift): photoz predict estimates theirs; train needs labelled rows")
    }
    if !s.ebvSource.isEmpty { lines.append("  E(B-V): \(s.ebvSource)") }
    if s.withoutWCS > 0 { lines.append("  \(s.withoutWCS) cutouts had no equatorial celestial WCS in their r-band header: none is stored for them (export-fits writes none)") }
    if s.nonFinitePixelsFilled > 0 { lines.append("  \(s.nonFinitePixelsFilled) non-finite pixels replaced by --fill-nonfinite") }
    lines.append("  report: \(s.skippedReport)")
    lines.append("  output: \(s.output)")
    return lines.joined(separator: "\n")
}

/// Options naming the catalog's columns.
struct CatalogColumnOptions: ParsableArguments {
    @OptionGroup var position: CatalogPositionOptions
    @Option(help: "Spectroscopic-redshift column (default: z, Z, z_spec; none: every row unlabelled).")
    var zColumn: String?
    @Option(help: "Redshift-error column (default: zErr, z_err).")
    var zErrColumn: String?
    @Option(help: "E(B-V) column (default: ebv, EBV).")
    var ebvColumn: String?
    @Option(help: "Prefix of per-band extinction columns used when there is no E(B-V) column (default: extinction_).")
    var extinctionPrefix: String?
    @Option(help: "Extinction coefficients A_band/E(B-V): SFD98 or SF11.")
    var extinctionCoefficients: String = "SFD98"

    /// The option that chooses the column of `role`.
    static func flag(for role: CatalogColumnRole) -> String {
        switch role {
        case .objectID: "--id-column"
        case .ra: "--ra-column"
        case .dec: "--dec-column"
        case .z: "--z-column"
        case .zErr: "--z-err-column"
        case .ebv: "--ebv-column, or give --extinction-prefix (per-band extinction columns), --ebv VALUE (a constant) or --ebv-map FILE… (dust maps)"
        case .extinctionPrefix: "--extinction-prefix"
        case .objectClass: "--class (the CLASS column is needed for the cut)"
        case .zWarning: "--zwarning (the ZWARNING column is needed for the cut)"
        case .kept: "--keep-columns"
        }
    }

    var catalogColumns: CatalogColumns {
        CatalogColumns(objectID: position.idColumn, ra: position.raColumn, dec: position.decColumn, z: zColumn, zErr: zErrColumn, ebv: ebvColumn, extinctionPrefix: extinctionPrefix)
    }

    func coefficients() throws -> ExtinctionCoefficients {
        guard let set = ExtinctionCoefficients.named(extinctionCoefficients) else {
            throw ValidationError("--extinction-coefficients '\(extinctionCoefficients)': known sets are \(ExtinctionCoefficients.all.map(\.name).joined(separator: ", "))")
        }
        return set
    }
}
