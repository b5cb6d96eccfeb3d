import FITS
import Foundation
import SafeOutput
import PhotoZData

/// Writes the catalog of a simulated sky as a FITS binary table (`catalog.fits`, EXTNAME
/// CATALOG) and as CSV (`catalog.csv`), one row per object in index order, with SDSS-style
/// names: `objID`, `ra`, `dec`, `z`, `zErr`, `ebv` (what `ingest` reads) and the truth:
/// `type`, `template`, `r_mag`, `modelMag_u…z` and `extinction_u…z` (observed, as SDSS
/// `modelMag`/`extinction`: magnitudes include Galactic extinction), `petroMag_r` (observed
/// Petrosian r), `absMag_r`, `r50` [arcsec], `bulge_frac`, `axis_ratio` (disk), `pa` [deg],
/// `seeing_r` [arcsec], `sky_scale`, `n_neighbours`.
enum CatalogWriter {
    /// A catalog column: name, unit, and its value per object (numbers or text).
    private struct Column {
        let name: String, unit: String?
        let data: FITSColumnData
        let text: (Int) -> String
    }

    private static func columns(_ truths: [GalaxyTruth]) -> [Column] {
        func double(_ name: String, _ unit: String?, _ value: (GalaxyTruth) -> Double) -> Column {
            let values = truths.map(value)
            return Column(name: name, unit: unit, data: .float64(values)) { "\(values[$0])" }
        }
        var columns: [Column] = []
        let ids = truths.map(\.objectID)
        columns.append(Column(name: "objID", unit: nil, data: .int64(ids)) { "\(ids[$0])" })
        columns.append(double("ra", "deg", \.ra))
        columns.append(double("dec", "deg", \.dec))
        columns.append(double("z", nil, \.z))
        columns.append(double("zErr", nil, \.zErr))
        columns.append(double("ebv", "mag", \.ebv))
        columns.append(double("type", nil, \.type))
        let templates = truths.map(\.templateName)
        columns.append(Column(name: "template", unit: nil, data: .string(templates)) { templates[$0] })
        columns.append(double("r_mag", "mag", \.rMagnitude))
        for band in Band.allCases {
            columns.append(double("modelMag_\(band.rawValue)", "mag") { $0.magnitudes[band.index] })
        }
        for band in Band.allCases {
            columns.append(double("extinction_\(band.rawValue)", "mag") { $0.extinction[band.index] })
        }
        columns.append(double("petroMag_r", "mag") { $0.petrosianR + $0.extinction[Band.r.index] })
        columns.append(double("absMag_r", "mag", \.absoluteMagnitudeR))
        columns.append(double("r50", "arcsec", \.morphology.halfLightRadius))
        columns.append(double("bulge_frac", nil, \.morphology.bulgeFraction))
        columns.append(double("axis_ratio", nil, \.morphology.diskAxisRatio))
        columns.append(double("pa", "deg", \.morphology.positionAngle))
        columns.append(double("seeing_r", "arcsec") { $0.seeing[Band.r.index] })
        columns.append(double("sky_scale", nil, \.skyScale))
        let counts = truths.map { Int32($0.neighbours.count) }
        columns.append(Column(name: "n_neighbours", unit: nil, data: .int32(counts)) { "\(counts[$0])" })
        return columns
    }

    /// Writes `catalog.fits` and `catalog.csv` for `directory` under temporary names; the
    /// caller renames them (`commit`) once every output of the run is complete.
    static func prepare(_ truths: [GalaxyTruth], config: SimulationConfig, in directory: String) throws -> [PendingFile] {
        let columns = columns(truths)
        let fits = try prepareFITS(directory, "catalog.fits") { file in
            try file.createBinaryTable(name: "CATALOG", columns: columns.map { FITSColumn(name: $0.name, unit: $0.unit, data: $0.data) })
            try file.write("CREATOR", .string(CutoutWriter.creator), comment: "software that wrote the file")
            try file.write("SIMSEED", .string(String(config.seed)), comment: "simulation seed")
            try file.write("EXTLAW", .string(config.extinction.name), comment: "extinction coefficients used")
            try file.write("LAYOUT", .string(config.layout.rawValue), comment: "cutout layout")
            try file.write("STAMPSZ", .int(config.size), comment: "[pixel] stamp side")
            try file.writeComment("Simulated SDSS-like Main Galaxy Sample; magnitudes AB, observed (with extinction).")
        }
        var csv = columns.map(\.name).joined(separator: ",") + "\n"
        csv.reserveCapacity(truths.count * 400)
        for row in truths.indices {
            csv += columns.map { $0.text(row) }.joined(separator: ",") + "\n"
        }
        return [fits, try prepareText(directory, "catalog.csv", csv)]
    }
}
