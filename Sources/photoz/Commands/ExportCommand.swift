import ArgumentParser
import Foundation
import PhotoZ
import PhotoZData

extension ExportFormat: ExpressibleByArgument {}

/// `photoz export`: a data set in the file layout of the Pasquet et al. or Hayat et al. code.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a data set as a Pasquet et al. npz or a Hayat et al. HDF5 file.",
        discussion: """
        pasquet-npz: data (N, S, S, 5) float32 channels last, z, ebv (float32), plus object_id, ra, dec and z_err, \
        as numpy.savez writes them (np.load(FILE)["data"]); photoz convert --from pasquet-npz reads it back bit for bit. \
        hayat: images (N, 5, S, S) float32, specz_redshift, specz_redshift_err, e_bv (N, 5) = R × E(B-V) per band \
        with R = 5.155, 3.793, 2.751, 2.086, 1.479 (SFD98), ObjID, ra, dec. Rows are written by increasing object_id \
        (of all splits, or of --split): a source converted without ids (object_id = its row index) comes back in \
        its own order, whatever the split scheme. Positions (ra, dec) and redshift errors that a converted source         lacked (photoz wrote 0, and the manifest's inputs say absent) are left out of both layouts. Both layouts are u,g,r,i,z: a g,r,i,z,y data set is \
        refused. The file is written under a temporary name and renamed. Exit codes: 0 done, 1 failed, 64 bad options.
        """
    )

    @Argument(help: "Data-set folder or a single shard.")
    var data: String

    @Option(name: .customLong("to"), help: "pasquet-npz or hayat.")
    var format: ExportFormat

    @Option(help: "Only rows of this split: train, valid or test.")
    var split: Split?

    @Option(help: "File to write.")
    var out: String

    @Flag(help: "Replace an existing file that photoz export wrote in this layout.")
    var overwrite = false

    func validate() throws {
        try checkOutput(out, kind: .file, inputs: [("DATA", data)], overwrite: overwrite, recognise: format.isExport)
    }

    func run() throws {
        let lock = try claimOutput(out)
        defer { lock.release() }
        var config = ExportConfiguration(data: data, format: format, out: out)
        config.split = split
        let rows = try exportCollection(config, replacing: overwrite ? .ifRecognised(format.isExport) : .never,
                                        progress: ProgressDisplay("export").handler)
        print("\(rows) rows → \(out) (\(format.rawValue))")
    }
}
