import FITS
import Foundation
import PhotoZData

/// Writes one simulated object as FITS cutouts in a `CutoutLayout`, the way `ingest` reads them.
///
/// Every image HDU carries BUNIT = 'nanomaggy', FILTER, EXTNAME (the band letter), PIXSCALE,
/// a TAN WCS centred on the object (CRVAL = RA/Dec at CRPIX = the stamp centre, north up, east
/// left, CD from the pixel scale), the seeing and the noise model (GAIN, DARKVAR, NMGY, SKY,
/// SKYSIG). The primary header holds the simulation truth (Z, ZERR, EBV, SEDTYPE, RMAG …).
/// Files are written straight into the staging folder of `simulateSky` (a `StagedFolder`),
/// which replaces `cutouts/` only once every file is complete.
struct CutoutWriter {
    let layout: CutoutLayout
    let config: SimulationConfig
    static let creator = "photoz simulate"

    /// The file names of an object in this layout (`{id}.fits` or `{id}-{band}.fits`).
    func fileNames(objectID: Int64) -> [String] {
        switch layout {
        case .mef, .cube: ["\(objectID).fits"]
        case .perBand: Band.allCases.map { "\(objectID)-\($0.rawValue).fits" }
        }
    }

    /// Writes `galaxy` into `directory`; returns the file names written.
    @discardableResult
    func write(_ galaxy: SimulatedGalaxy, to directory: String) throws -> [String] {
        let truth = galaxy.truth, size = galaxy.size, n = size * size
        let names = fileNames(objectID: truth.objectID)
        func plane(_ band: Band) -> [Float] { Array(galaxy.image[band.index * n..<(band.index + 1) * n]) }
        switch layout {
        case .mef:
            try writeFITS((directory as NSString).appendingPathComponent(names[0])) { file in
                try file.createImage(bitpix: -32, shape: [])
                try writeTruth(truth, to: file)
                for band in Band.allCases {
                    try file.createImage(bitpix: -32, shape: [size, size])
                    try file.write("EXTNAME", .string(band.rawValue), comment: "SDSS band")
                    try writeImageHeader(truth, band: band, size: size, to: file)
                    try file.writeImage(plane(band))
                }
            }
        case .perBand:
            for (band, name) in zip(Band.allCases, names) {
                try writeFITS((directory as NSString).appendingPathComponent(name)) { file in
                    try file.createImage(bitpix: -32, shape: [size, size])
                    try file.write("EXTNAME", .string(band.rawValue), comment: "SDSS band")
                    try writeImageHeader(truth, band: band, size: size, to: file)
                    try writeTruth(truth, to: file)
                    try file.writeImage(plane(band))
                }
            }
        case .cube:
            try writeFITS((directory as NSString).appendingPathComponent(names[0])) { file in
                try file.createImage(bitpix: -32, shape: [size, size, 5])
                try file.write("BANDS", .string(Band.allCases.map(\.rawValue).joined(separator: ",")), comment: "band of planes 1..5")
                for band in Band.allCases {
                    try file.write("FILTER\(band.index + 1)", .string(band.rawValue), comment: "band of plane \(band.index + 1)")
                }
                try writeImageHeader(truth, band: nil, size: size, to: file)
                try writeTruth(truth, to: file)
                try file.writeImage(galaxy.image)
            }
        }
        return names
    }

    /// The keywords of an image HDU: unit, band, scale, WCS, seeing and noise model.
    private func writeImageHeader(_ truth: GalaxyTruth, band: Band?, size: Int, to file: FITSFile) throws {
        let scale = Survey.pixelScale
        try file.write("BUNIT", .string(Survey.fluxUnit), comment: "1 nanomaggy = AB mag 22.5")
        if let band { try file.write("FILTER", .string(band.rawValue), comment: "SDSS band") }
        try file.write("PIXSCALE", .double(scale), comment: "[arcsec/pixel]")
        try file.write("WCSAXES", .int(band == nil ? 3 : 2), comment: "number of WCS axes")
        try file.write("RADESYS", .string("ICRS"), comment: "celestial frame")
        try file.write("EQUINOX", .double(2000), comment: "equinox of the coordinates")
        try file.write("CTYPE1", .string("RA---TAN"), comment: "gnomonic projection")
        try file.write("CTYPE2", .string("DEC--TAN"), comment: "gnomonic projection")
        try file.write("CUNIT1", .string("deg"), comment: nil)
        try file.write("CUNIT2", .string("deg"), comment: nil)
        try file.write("CRVAL1", .double(truth.ra), comment: "[deg] RA of the object")
        try file.write("CRVAL2", .double(truth.dec), comment: "[deg] Dec of the object")
        try file.write("CRPIX1", .double(Double(size + 1) / 2), comment: "stamp centre")
        try file.write("CRPIX2", .double(Double(size + 1) / 2), comment: "stamp centre")
        try file.write("CD1_1", .double(-scale / 3600), comment: "east to the left")
        try file.write("CD1_2", .double(0), comment: nil)
        try file.write("CD2_1", .double(0), comment: nil)
        try file.write("CD2_2", .double(scale / 3600), comment: "north up")
        if band == nil {
            try file.write("CTYPE3", .string("BAND"), comment: "plane index: 1=u 2=g 3=r 4=i 5=z")
            try file.write("CRPIX3", .double(1), comment: nil)
            try file.write("CRVAL3", .double(1), comment: nil)
            try file.write("CD3_3", .double(1), comment: nil)
        }
        let model = config.noiseModel
        for b in band.map({ [$0] }) ?? Band.allCases {
            let suffix = band == nil ? "_\(b.rawValue.uppercased())" : ""
            let i = b.index
            try file.write("SEEING" + suffix, .double(truth.seeing[i]), comment: "[arcsec] PSF FWHM, \(b.rawValue)")
            try file.write("GAIN" + suffix, .double(model.gain[i]), comment: "[e-/count] \(b.rawValue)")
            try file.write((band == nil ? "DARKV" : "DARKVAR") + suffix, .double(model.darkVariance[i]), comment: "[count^2] dark variance, \(b.rawValue)")
            try file.write("NMGY" + suffix, .double(model.nanomaggiesPerCount[i]), comment: "[nmgy/count] calibration, \(b.rawValue)")
            try file.write("SKY" + suffix, .double(model.skyBrightness[i] * truth.skyScale), comment: "[nmgy/arcsec^2] sky, \(b.rawValue)")
            try file.write("SKYSIG" + suffix, .double(model.sigma(b, skyScale: truth.skyScale)), comment: "[nmgy] empty-sky pixel sigma, \(b.rawValue)")
        }
    }

    /// The simulation truth, written to the primary header.
    private func writeTruth(_ truth: GalaxyTruth, to file: FITSFile) throws {
        try file.write("OBJID", .int(Int(truth.objectID)), comment: "object id (catalog objID)")
        try file.write("RA", .double(truth.ra), comment: "[deg] J2000 right ascension")
        try file.write("DEC", .double(truth.dec), comment: "[deg] J2000 declination")
        try file.write("Z", .double(truth.z), comment: "true redshift (simulation truth)")
        try file.write("ZERR", .double(truth.zErr), comment: "nominal spectroscopic redshift error")
        try file.write("EBV", .double(truth.ebv), comment: "[mag] Galactic E(B-V)")
        try file.write("EXTLAW", .string(config.extinction.name), comment: "extinction coefficients used")
        try file.write("SEDTYPE", .double(truth.type), comment: "spectral type 0=El 1=Sbc 2=Scd 3=Im 4=SB3 5=SB2")
        try file.write("TEMPLATE", .string(truth.templateName), comment: "nearest SED template")
        try file.write("RMAG", .double(truth.rMagnitude), comment: "[mag] total r AB incl. extinction")
        try file.write("RPETRO", .double(truth.petrosianR), comment: "[mag] dereddened Petrosian r")
        try file.write("ABSMAGR", .double(truth.absoluteMagnitudeR), comment: "[mag] rest-frame abs. r, H0=70")
        try file.write("R50", .double(truth.morphology.halfLightRadius), comment: "[arcsec] half-light radius")
        try file.write("BULGEFR", .double(truth.morphology.bulgeFraction), comment: "bulge-to-total flux ratio")
        try file.write("NNEIGHB", .int(truth.neighbours.count), comment: "other sources in the stamp")
        try file.write("SIMSEED", .string(String(config.seed)), comment: "simulation seed")
        try file.write("SIMINDEX", .int(truth.index), comment: "object index in the run")
        try file.write("CREATOR", .string(CutoutWriter.creator), comment: "software that wrote the file")
        try file.writeComment("Simulated SDSS-like galaxy (photoz SkySim); Z, SEDTYPE, RMAG, EBV are the truth.")
    }
}
