import Foundation

/// The shape of a simulated galaxy: a de Vaucouleurs bulge plus an exponential disk.
public struct GalaxyMorphology: Codable, Sendable, Equatable {
    /// Fraction of the total flux in the bulge (B/T).
    public var bulgeFraction: Double
    /// Half-light radius of the whole galaxy in arcseconds (circularised).
    public var halfLightRadius: Double
    /// Half-light radius of the bulge, arcseconds (circularised).
    public var bulgeRadius: Double
    /// Half-light radius of the disk, arcseconds (circularised).
    public var diskRadius: Double
    /// Projected minor-to-major axis ratios of bulge and disk.
    public var bulgeAxisRatio: Double, diskAxisRatio: Double
    /// Position angle of the major axis in degrees east of north.
    public var positionAngle: Double
}

/// A source in a stamp other than the central galaxy.
public struct Neighbour: Codable, Sendable, Equatable {
    /// What the source is.
    public enum Kind: String, Codable, Sendable {
        /// A foreground star (blackbody colours).
        case star
        /// An unrelated galaxy at its own redshift.
        case galaxy
        /// A galaxy at the redshift of the central one.
        case companion
    }

    public var kind: Kind
    /// Offset from the stamp centre in pixels along NAXIS1 (x, east to the left) and NAXIS2 (y, north up).
    public var x: Double, y: Double
    /// AB magnitudes u, g, r, i, z as observed (Galactic extinction included).
    public var magnitudes: [Double]
    /// Redshift and type of a galaxy neighbour (0 for stars).
    public var z: Double, type: Double
    /// Shape of a galaxy neighbour (nil for stars).
    public var morphology: GalaxyMorphology?
}

/// Everything the simulator decided about one object: the catalog row and how its stamp is drawn.
public struct GalaxyTruth: Codable, Sendable, Equatable {
    /// Position of the object in the run (0-based).
    public var index: Int
    /// SDSS-style object identifier, unique and positive.
    public var objectID: Int64
    /// J2000 position in degrees.
    public var ra: Double, dec: Double
    /// Redshift and its nominal spectroscopic error.
    public var z: Double, zErr: Double
    /// Galactic reddening E(B−V) in magnitudes.
    public var ebv: Double
    /// Spectral type, continuous from 0 (El) through Sbc, Scd, Im, SB3 to 5 (SB2).
    public var type: Double
    /// Rest-frame absolute r magnitude (H0 = 70).
    public var absoluteMagnitudeR: Double
    /// Total AB magnitudes u, g, r, i, z as observed, Galactic extinction included (like SDSS `modelMag`).
    public var magnitudes: [Double]
    /// Galactic extinction A_band = coefficient · E(B−V), u … z.
    public var extinction: [Double]
    /// Extinction-corrected Petrosian r magnitude, the quantity the Main Galaxy Sample limits at 17.77.
    public var petrosianR: Double
    /// Bulge and disk shape.
    public var morphology: GalaxyMorphology
    /// Seeing FWHM in arcseconds, u … z.
    public var seeing: [Double]
    /// Sky brightness relative to the noise model's default.
    public var skyScale: Double
    /// Other sources in the stamp.
    public var neighbours: [Neighbour]

    /// Observed total r magnitude (the flux the r image holds, with extinction).
    public var rMagnitude: Double { magnitudes[2] }

    /// Name of the template nearest to `type`.
    public var templateName: String { TemplatePhotometry.templateName(type: type) }
}

/// One simulated object: its truth and its (5, size, size) image in nanomaggies, bands u, g, r, i, z.
public struct SimulatedGalaxy: Sendable {
    public var truth: GalaxyTruth
    /// Pixels in band-major order: `image[(band * size + y) * size + x]`.
    public var image: [Float]
    public var size: Int
}
