import ArgumentParser
import Foundation
import PhotoZ

/// `photoz export-fits`: chosen objects as FITS, for DS9 or astropy.
struct ExportFitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-fits",
        abstract: "Write chosen objects of a (adversarial) data set as FITS: clean, perturbation and adversarial images per band.",
        discussion: """
        One file per object, OUT/{object_id}.fits: a primary header with the object, its shard \
        and the attack settings (ATTACK, EPSILON, EPSSPACE, …), then one image HDU per kind and \
        band (EXTNAME CLEAN_u … PERT_u … ADV_u …, or IMAGE_u … for a clean data set), in \
        nanomaggies, with the header of the original cutout when it can be found (else a TAN WCS \
        centred on the object). Clean images come from the shards' perturbation dataset, or \
        from --clean when the shards were written without it.
        """
    )

    @Option(help: "Data-set folder or shard (adversarial or clean).")
    var data: String

    @Option(help: "Folder to write the FITS files into.")
    var out: String

    @Option(help: "Object ids to export, comma-separated (default: the first --first objects).")
    var objects: String?

    @Option(help: "Number of objects exported when --objects is not given.")
    var first: Int = 5

    @Option(help: "Clean data set to take clean images from (adversarial shards without a perturbation dataset).")
    var clean: String?

    @Flag(help: "Replace existing files.")
    var overwrite = false

    func validate() throws {
        try checkBounds(first, "--first", 1...100_000, "objects exported")
        try checkOutput(out, kind: .addingTo, inputs: [("--data", data), ("--clean", clean)], overwrite: overwrite,
                        recognise: PhotoZOutputs.isFITSExport)
    }

    func run() throws {
        let lock = try claimOutput(out)
        defer { lock.release() }
        var export = FITSExport(data: data, out: out)
        if let objects {
            export.objectIDs = try objects.split(separator: ",").map {
                guard let id = Int64($0.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--objects: '\($0)' is not an object id") }
                return id
            }
        }
        export.first = first
        export.clean = clean
        export.overwrite = overwrite
        export.noteWithoutWCS = { id in printError("export-fits: object \(id): the shards store no celestial WCS for it; its FITS file has none") }
        let written = try export.run()
        for path in written { print(path) }
    }
}
