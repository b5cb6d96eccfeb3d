/// The five SDSS photometric bands, in the order every photoz image uses (u, g, r, i, z).
public enum Band: String, CaseIterable, Codable, Sendable, Comparable {
    case u, g, r, i, z

    /// Index of the band in a (5, H, W) image.
    public var index: Int { Band.allCases.firstIndex(of: self)! }

    /// Effective wavelength of the SDSS filter in ångström (Doi et al. 2010).
    public var effectiveWavelength: Double {
        switch self {
        case .u: 3551
        case .g: 4686
        case .r: 6166
        case .i: 7480
        case .z: 8932
        }
    }

    /// Reads a band from a FITS EXTNAME or FILTER value: `r`, `R`, `sdss_r`, `SDSS-R`, `r'`.
    public init?(fitsName: String) {
        // The common case, one letter, without Foundation's Unicode-aware trimming.
        if fitsName.utf8.count == 1, let band = Band(rawValue: fitsName.lowercased()) {
            self = band
            return
        }
        var s = fitsName.trimmingCharacters(in: .whitespaces).lowercased()
        for prefix in ["sdss_", "sdss-", "sdss"] where s.hasPrefix(prefix) { s.removeFirst(prefix.count) }
        if s.hasSuffix("'") || s.hasSuffix("band") {
            s = String(s.prefix { $0 != "'" && $0 != "b" })
        }
        guard let band = Band(rawValue: s) else { return nil }
        self = band
    }

    public static func < (a: Band, b: Band) -> Bool { a.index < b.index }
}

import Foundation
