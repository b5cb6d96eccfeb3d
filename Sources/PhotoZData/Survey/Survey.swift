/// Constants shared by every stage: the SDSS imaging the shards describe.
public enum Survey {
    /// SDSS pixel scale in arcseconds per pixel.
    public static let pixelScale = 0.396
    /// Flux unit of every image photoz reads and writes (1 nanomaggy = AB magnitude 22.5).
    public static let fluxUnit = "nanomaggy"
    /// Default cutout side in pixels.
    public static let cutoutSize = 64
    /// AB magnitude of a flux of 1 nanomaggy.
    public static let nanomaggyZeroPoint = 22.5

    /// AB magnitude of a flux in nanomaggies.
    public static func magnitude(nanomaggies flux: Double) -> Double {
        nanomaggyZeroPoint - 2.5 * log10(flux)
    }

    /// Flux in nanomaggies of an AB magnitude.
    public static func nanomaggies(magnitude m: Double) -> Double {
        pow(10, (nanomaggyZeroPoint - m) / 2.5)
    }
}

/// A set of extinction coefficients A_band / E(B−V) for the five SDSS bands.
public struct ExtinctionCoefficients: Codable, Sendable, Equatable {
    /// The name recorded in files (`SFD98`, `SF11`).
    public var name: String
    /// A_band / E(B−V), indexed by `Band.index`.
    public var values: [Double]

    public func coefficient(_ band: Band) -> Double { values[band.index] }

    /// Schlegel, Finkbeiner & Davis 1998, as in SDSS DR8–DR12 `extinction_*` columns.
    public static let sfd98 = ExtinctionCoefficients(name: "SFD98", values: [5.155, 3.793, 2.751, 2.086, 1.479])
    /// Schlafly & Finkbeiner 2011.
    public static let sf11 = ExtinctionCoefficients(name: "SF11", values: [4.239, 3.303, 2.285, 1.698, 1.263])

    public static let all: [ExtinctionCoefficients] = [.sfd98, .sf11]

    /// Looks up a coefficient set by name, case-insensitively.
    public static func named(_ name: String) -> ExtinctionCoefficients? {
        all.first { $0.name.lowercased() == name.lowercased() }
    }
}

import Foundation
