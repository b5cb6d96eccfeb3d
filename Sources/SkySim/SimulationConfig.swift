import Foundation
import PhotoZData

/// Everything that defines a simulated sky; the same configuration and seed give the same files.
public struct SimulationConfig: Codable, Sendable, Equatable {
    /// Number of galaxies (stamps) to simulate.
    public var count: Int
    /// Run seed; object i draws from streams seeded by (seed, i).
    public var seed: UInt64
    /// How the FITS cutouts are laid out on disk.
    public var layout: CutoutLayout
    /// Stamp side in pixels (at least 16).
    public var size: Int
    /// Replace the outputs of an earlier run in a non-empty output folder.
    public var overwrite: Bool
    /// Extinction coefficients A_band / E(B−V) used to redden the galaxies.
    public var extinction: ExtinctionCoefficients
    /// Add sky and source noise (off gives the noiseless model images).
    public var noise: Bool
    /// Put neighbouring galaxies and stars in some stamps.
    public var neighbours: Bool
    /// Force every central galaxy to this spectral type (0 = El … 5 = SB2); nil draws it.
    public var fixedType: Double?
    /// Median r-band seeing FWHM in arcseconds; each object's seeing is log-normal around it (σ_ln 0.15).
    public var medianSeeing: Double
    /// Gain, dark variance, calibration and sky per band.
    public var noiseModel: NoiseModel
    /// Worker threads for `simulateSky`; nil uses every core.
    public var threads: Int?

    /// The smallest stamp side accepted.
    public static let minimumSize = 16

    public init(count: Int, seed: UInt64 = 1, layout: CutoutLayout = .mef, size: Int = Survey.cutoutSize,
                overwrite: Bool = false, extinction: ExtinctionCoefficients = .sfd98, noise: Bool = true,
                neighbours: Bool = true, fixedType: Double? = nil, medianSeeing: Double = 1.4,
                noiseModel: NoiseModel = .sdssField2583, threads: Int? = nil) {
        self.count = count
        self.seed = seed
        self.layout = layout
        self.size = size
        self.overwrite = overwrite
        self.extinction = extinction
        self.noise = noise
        self.neighbours = neighbours
        self.fixedType = fixedType
        self.medianSeeing = medianSeeing
        self.noiseModel = noiseModel
        self.threads = threads
    }

    /// Checks the values a user can set; the message says what to change.
    public func validate() throws {
        guard count > 0 else { throw SimulationError.invalidConfiguration("count must be positive (got \(count))") }
        guard size >= SimulationConfig.minimumSize else {
            throw SimulationError.invalidConfiguration("size must be at least \(SimulationConfig.minimumSize) pixels (got \(size))")
        }
        guard size <= 1024 else { throw SimulationError.invalidConfiguration("size must be at most 1024 pixels (got \(size))") }
        if let t = fixedType, !(0...5).contains(t) {
            throw SimulationError.invalidConfiguration("fixed type must lie in [0, 5] (got \(t))")
        }
        guard medianSeeing > 0.3 && medianSeeing < 5 else {
            throw SimulationError.invalidConfiguration("median seeing must lie in (0.3, 5) arcsec (got \(medianSeeing))")
        }
        if let threads, threads < 1 { throw SimulationError.invalidConfiguration("threads must be at least 1 (got \(threads))") }
    }
}

/// Errors of a simulation run that a user can cause.
public enum SimulationError: Error, CustomStringConvertible, Sendable {
    /// A configuration value is out of range.
    case invalidConfiguration(String)
    /// The output folder holds files and `overwrite` was not given.
    case outputExists(path: String)
    /// A file or folder could not be created, moved or removed.
    case fileSystem(path: String, message: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let message):
            "invalid simulation settings: \(message)"
        case .outputExists(let path):
            "output folder \(path) exists and is not empty; pass --overwrite to replace its simulation outputs, or choose another --out"
        case .fileSystem(let path, let message):
            "cannot write \(path): \(message)"
        }
    }
}
