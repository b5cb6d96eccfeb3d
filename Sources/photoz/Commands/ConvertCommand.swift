import ArgumentParser
import Foundation
import PhotoZ
import PhotoZData

extension ConvertFormat: ExpressibleByArgument {}

/// `photoz convert`: a published image collection (npz or HDF5) → a photoz data set.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a Pasquet et al. npz, a Hayat et al. or a GalaxiesML HDF5 file into a data set.",
        discussion: """
        pasquet-npz: an .npz (numpy.savez or savez_compressed) with data (N, S, S, 5) channels last (u,g,r,i,z), \
        z and ebv; object_id, ra, dec and z_err are read when present. hayat: an HDF5 file with images (N, 5, S, S), \
        specz_redshift, specz_redshift_err, e_bv (N, 5) = the DR12 extinction per band, turned into E(B-V) by least \
        squares with R = 5.155, 3.793, 2.751, 2.086, 1.479 (SFD98), ObjID, ra and dec. galaxiesml: HSC g,r,i,z,y, \
        image (N, 5, S, S), specz_redshift, object_id (ra, dec, specz_redshift_err read when present); pixels are \
        HSC coadd fluxes (zero point 27) and are scaled to nanomaggies (× 10^-1.8) unless --flux-scale says otherwise; \
        the shards record the bands g,r,i,z,y and the pixel scale 0.168. Images are centre-cropped to --size \
        (offset floor((S - size) / 2), as ingest). A source without ids gets object_id = the row's index in the \
        file (from 0); columns a source lacks (ra, dec, z_spec_err, ebv) are written as 0; both are recorded in \
        manifest.json's inputs. Rows with a non-finite pixel or value are skipped and counted; a repeated id is an \
        error. The file is read in blocks of --block-rows rows. Exit codes: 0 done, 1 failed, 64 bad options.
        """
    )

    @Option(name: .customLong("from"), help: "Source layout: pasquet-npz, hayat or galaxiesml.")
    var format: ConvertFormat

    @Argument(help: "The source file (.npz or HDF5).")
    var source: String

    @Option(help: "Side of the written images in pixels (centre crop); default: the source's.")
    var size: Int?

    @Option(help: "hash (by object id, with --split fractions) or train, valid or test (every row into that split, in source order).")
    var splitScheme: String = "hash"

    @Option(help: "Train/valid/test fractions of the hash scheme, e.g. 80/10/10.")
    var split: String = "80/10/10"

    @Option(help: "Multiply every pixel by this to get nanomaggies (default 1, galaxiesml 10^-1.8).")
    var fluxScale: Double?

    @Option(help: "Rows read and written per block.")
    var blockRows: Int = 256

    @OptionGroup var output: ManagedOutputOptions

    @Flag(help: "Print the summary as JSON on stdout.")
    var json = false

    func validate() throws {
        try checkBounds(size, "--size", 1...ShardSchema.maxImageSize, "pixels")
        try checkBounds(blockRows, "--block-rows", 1...65536)
        if let fluxScale, !(fluxScale.isFinite && fluxScale > 0) { throw ValidationError("--flux-scale \(fluxScale): must be a positive number") }
        try asUsage {
            _ = try ConvertSplitScheme(parsing: splitScheme)
            _ = try SplitFractions(parsing: split)
        }
        try output.check(inputs: [("SOURCE", source)])
    }

    func run() throws {
        let lock = try claimOutput(output.out)
        defer { lock.release() }
        var config = ConvertConfiguration(format: format, source: source, out: output.out)
        config.size = size
        config.splitScheme = try ConvertSplitScheme(parsing: splitScheme)
        config.fractions = try SplitFractions(parsing: split)
        config.fluxScale = fluxScale
        config.blockRows = blockRows
        config.output = try output.output()
        let summary = try convertCollection(config, progress: ProgressDisplay("convert").handler)
        print(json ? jsonText(summary) : describe(summary, verb: "converted"))
    }
}
