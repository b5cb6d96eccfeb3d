import Foundation
import PhotoZData

/// A tabulated function of wavelength in ångström, linearly interpolated and zero outside its range.
public struct SpectralCurve: Sendable {
    /// Wavelengths in Å, strictly increasing.
    public let wavelength: [Double]
    /// Values at `wavelength` (a response, or f_λ in arbitrary units).
    public let value: [Double]

    public init(wavelength: [Double], value: [Double]) {
        precondition(wavelength.count == value.count && wavelength.count >= 2, "a spectral curve needs ≥ 2 matching points")
        self.wavelength = wavelength
        self.value = value
    }

    /// The value at λ (linear interpolation; 0 outside the tabulated range).
    public func callAsFunction(_ lambda: Double) -> Double {
        guard lambda >= wavelength[0], lambda <= wavelength[wavelength.count - 1] else { return 0 }
        var low = 0, high = wavelength.count - 1
        while high - low > 1 {
            let mid = (low + high) / 2
            if wavelength[mid] <= lambda { low = mid } else { high = mid }
        }
        let w = (lambda - wavelength[low]) / (wavelength[high] - wavelength[low])
        return value[low] * (1 - w) + value[high] * w
    }
}

/// Errors reading the bundled SED templates and filter curves (a broken installation).
public struct SpectrumFileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String
    public var description: String { "cannot read \(path): \(message); reinstall photoz or restore catalogs/" }
}

/// Readers for the bundled spectral files (copies of `catalogs/filters` and `catalogs/seds`).
public enum SpectralLibrary {
    /// The galaxy templates in type order: type 0 = El, 1 = Sbc, 2 = Scd, 3 = Im, 4 = SB3, 5 = SB2
    /// (Coleman, Wu & Weedman 1980 and Kinney et al. 1996, as extended by Benítez 2004 for BPZ).
    public static let templateNames = ["El", "Sbc", "Scd", "Im", "SB3", "SB2"]

    /// The SDSS response curve of `band` through airmass 1.3 (Doi et al. 2010, Table 4; ECSV from speclite).
    public static func filter(_ band: Band) throws -> SpectralCurve {
        let path = ResourceFiles.url("filters/sdss2010-\(band.rawValue).ecsv").path
        return try readColumns(path: path, skipComments: true, skipHeaderLine: true)
    }

    /// The BPZ template `name` (e.g. `El`): wavelength in Å and f_λ in arbitrary units.
    public static func template(_ name: String) throws -> SpectralCurve {
        let path = ResourceFiles.url("seds/\(name)_B2004a.sed").path
        return try readColumns(path: path, skipComments: true, skipHeaderLine: false)
    }

    /// Parses two whitespace-separated numeric columns.
    static func readColumns(path: String, skipComments: Bool, skipHeaderLine: Bool) throws -> SpectralCurve {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SpectrumFileError(path: path, message: "file missing or not UTF-8")
        }
        var lambda: [Double] = [], value: [Double] = []
        var headerSkipped = !skipHeaderLine
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || (skipComments && trimmed.hasPrefix("#")) { continue }
            if !headerSkipped { headerSkipped = true; continue }
            let fields = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let l = Double(fields[0]), let v = Double(fields[1]) else {
                throw SpectrumFileError(path: path, message: "bad line '\(trimmed)'")
            }
            if let previous = lambda.last, l <= previous { continue }   // drop repeated wavelengths
            lambda.append(l)
            value.append(max(0, v))
        }
        guard lambda.count >= 2 else { throw SpectrumFileError(path: path, message: "fewer than two data lines") }
        return SpectralCurve(wavelength: lambda, value: value)
    }
}
