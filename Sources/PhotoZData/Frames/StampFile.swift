import FITS
import Foundation

/// Writes one object's stamp file: a header-only primary HDU describing the object and the
/// cutting, then one float32 image HDU per band (EXTNAME u…z, BUNIT nanomaggy, the stamp's
/// TAN WCS, NMASKED). Masked pixels are NaN. The format is schemas/cutout-files.md.
func writeStamp(_ pixels: UnsafeBufferPointer<Float>, object: Placement, frames: [Band: Frame], masked: [Int],
                config: CutoutConfiguration, to path: String) throws {
    let n = config.size, plane = n * n
    let grid = StampGrid(ra: object.target.ra, dec: object.target.dec, size: n, pixelScale: config.pixelScale)
    try writeStagedFITS(to: path) { file in
        try file.createImage(bitpix: 8, shape: [])
        try file.write("OBJID", .int(Int(object.target.objectID)), comment: "catalog object id")
        try file.write("CATROW", .int(object.target.row), comment: "1-based catalog row")
        try file.write("RA", .double(object.target.ra), comment: "[deg] catalog RA, the stamp centre")
        try file.write("DEC", .double(object.target.dec), comment: "[deg] catalog Dec, the stamp centre")
        try file.write("RUN", .int(object.field.run), comment: "SDSS run of the frames used")
        try file.write("CAMCOL", .int(object.field.camcol), comment: "SDSS camera column")
        try file.write("FIELD", .int(object.field.field), comment: "SDSS field")
        try file.write("PIXSCALE", .double(config.pixelScale), comment: "[arcsec] stamp pixel side")
        try file.write("KERNEL", .string("LANCZOS3"), comment: "flux-conserving resampling kernel")
        try file.write("EDGE", .string(config.edge.rawValue), comment: "edge policy: NaN pixels are masked")
        try file.write("CREATOR", .string("photoz cutout \(PhotoZVersion.current)"))
        for band in Band.allCases {
            let frame = frames[band]!
            let position = object.positions[band]!
            try file.createImage(bitpix: -32, shape: [n, n])
            try file.writeImage(Array(pixels[band.index * plane..<(band.index + 1) * plane]))
            try file.write("EXTNAME", .string(band.rawValue), comment: "band")
            try file.write("BUNIT", .string("nanomaggy"), comment: "1 nanomaggy = 3.631e-6 Jy")
            try file.write("WCSAXES", .int(2))
            try file.write("CTYPE1", .string("RA---TAN"))
            try file.write("CTYPE2", .string("DEC--TAN"))
            try file.write("CUNIT1", .string("deg"))
            try file.write("CUNIT2", .string("deg"))
            for (key, value) in grid.headerKeywords { try file.write(key, .double(value)) }
            try file.write("RADESYS", .string(frame.referenceSystem))
            try file.write("NMASKED", .int(masked[band.index]), comment: "NaN pixels: kernel left the frame")
            try file.write("FRAME", .string((frame.path as NSString).lastPathComponent), comment: "source frame")
            try file.write("FRAMEX", .double(position.x), comment: "object x in the frame (FITS 1-based)")
            try file.write("FRAMEY", .double(position.y), comment: "object y in the frame (FITS 1-based)")
        }
    }
}

/// Creates a FITS file at `path` directly: stamps are written inside the output's
/// `StagedFolder`, which becomes visible only whole, after one `syncfs` for all of them
/// (SafeOutput). A temporary name, an `fsync` and a rename per stamp, as `AtomicFile` does for
/// a file that is visible at once, bought nothing here and cost a third of the run (2,000
/// stamps: 2.0 s of CPU and waits on the disk).
func writeStagedFITS(to path: String, _ body: (FITSFile) throws -> Void) throws {
    let file = try FITSFile.create(path)  // a fresh name in a fresh staging folder: nothing to clobber
    do { try body(file) } catch { _ = try? file.close(); throw error }
    try file.close()
}
