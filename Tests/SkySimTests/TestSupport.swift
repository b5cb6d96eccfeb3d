import Foundation
import PhotoZData
@testable import SkySim

/// A fresh temporary folder, removed when the value is released.
final class TemporaryDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "photoz-skysim-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

/// The package root, from this file's path.
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
    }
    fatalError("Package.swift not found above \(#filePath)")
}()

struct ToolError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs an executable and returns (status, stdout + stderr).
func runTool(_ path: String, _ arguments: [String]) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// The interop venv's python (astropy, pandas), made by scripts/bootstrap; a missing venv fails the test.
func venvPython() throws -> String {
    let venv = ProcessInfo.processInfo.environment["PHOTOZ_VENV"] ?? packageRoot + "/.venv-interop"
    let python = venv + "/bin/python"
    guard FileManager.default.isExecutableFile(atPath: python) else {
        throw ToolError("interop venv not found at \(venv): run scripts/bootstrap (or set PHOTOZ_VENV)")
    }
    return python
}

/// Sum of one band of a (5, size, size) image, in nanomaggies.
func bandFlux(_ image: [Float], size: Int, _ band: Band) -> Double {
    let n = size * size
    return image[band.index * n..<(band.index + 1) * n].reduce(0.0) { $0 + Double($1) }
}

/// Median of a non-empty array.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let n = sorted.count
    return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
}

/// An independent AB colour computation, straight from the catalogs/ files: trapezoid
/// integrals on the filter's own wavelength grid, template linearly interpolated at λ/(1+z).
enum ReferencePhotometry {
    static func columns(_ path: String, skipHeader: Bool) -> (x: [Double], y: [Double]) {
        let text = try! String(contentsOfFile: path, encoding: .utf8)
        var x: [Double] = [], y: [Double] = []
        var skipped = !skipHeader
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.trimmingCharacters(in: .whitespaces).isEmpty {
            if !skipped { skipped = true; continue }
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let a = Double(f[0]), let b = Double(f[1]) else { continue }
            if let last = x.last, a <= last { continue }
            x.append(a); y.append(b)
        }
        return (x, y)
    }

    static func interpolate(_ curve: (x: [Double], y: [Double]), _ t: Double) -> Double {
        guard t >= curve.x[0], t <= curve.x.last! else { return 0 }
        var k = 0, high = curve.x.count - 1
        while high - k > 1 {
            let mid = (k + high) / 2
            if curve.x[mid] <= t { k = mid } else { high = mid }
        }
        let w = (t - curve.x[k]) / (curve.x[k + 1] - curve.x[k])
        return curve.y[k] * (1 - w) + curve.y[k + 1] * w
    }

    /// f_ν-weighted mean flux ∫ f_λ(λ/(1+z)) λ R dλ / ∫ R/λ dλ of a template through a band.
    static func flux(template: String, band: Band, z: Double) -> Double {
        let filter = columns(packageRoot + "/catalogs/filters/sdss2010-\(band.rawValue).ecsv", skipHeader: true)
        let sed = columns(packageRoot + "/catalogs/seds/\(template)_B2004a.sed", skipHeader: false)
        var top = 0.0, bottom = 0.0
        for k in 0..<(filter.x.count - 1) {
            // Each filter interval split in 8 sub-steps (templates are finer than the filter grid).
            let a = filter.x[k], b = filter.x[k + 1]
            for s in 0..<8 {
                let l0 = a + (b - a) * Double(s) / 8, l1 = a + (b - a) * Double(s + 1) / 8
                func f(_ l: Double) -> (Double, Double) {
                    let r = interpolate(filter, l)
                    return (interpolate(sed, l / (1 + z)) * l * r, r / l)
                }
                let (t0, b0) = f(l0), (t1, b1) = f(l1)
                top += 0.5 * (t0 + t1) * (l1 - l0)
                bottom += 0.5 * (b0 + b1) * (l1 - l0)
            }
        }
        return top / bottom
    }

    static func colour(template: String, z: Double, _ a: Band, _ b: Band) -> Double {
        -2.5 * log10(flux(template: template, band: a, z: z) / flux(template: template, band: b, z: z))
    }
}
