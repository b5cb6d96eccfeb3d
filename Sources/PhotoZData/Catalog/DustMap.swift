import FITS
import Foundation
import WCS

/// E(B−V) read from dust maps at sky positions: the SFD98 maps as distributed
/// (`SFD_dust_4096_ngp.fits` and `SFD_dust_4096_sgp.fits`, ZEA projections of the Galactic
/// hemispheres) or any FITS image with a celestial WCS (equatorial or Galactic).
///
/// wcslib does the projections; the equatorial → Galactic rotation is the ICRS → Galactic
/// matrix of the Hipparcos catalogue (ESA 1997, vol. 1, §1.5.3), which agrees with astropy's
/// `Galactic` frame to well below an arcsecond (tested), 1/100 of an SFD pixel (2.37′).
/// Values are interpolated bilinearly between the four nearest pixel centres, clamped at the
/// image edges, as the SFD tools (`lambert_getval` with interpolation, the `sfdmap` package)
/// do. A position that falls outside every map (more than half a pixel beyond its edge, or
/// where the projection has no pixel) gets NaN.
///
/// Several maps: a map with `LAM_NSGP` (SFD's hemisphere flag, +1 north, −1 south) serves
/// its Galactic hemisphere (b ≥ 0 north, as SFD's tools choose); otherwise each position goes
/// to the map that covers it whose reference point (CRVAL) is nearest.
public final class DustMap: @unchecked Sendable {
    /// One map image with its WCS.
    struct Image {
        let path: String
        let wcs: WCS
        let galactic: Bool
        let width: Int, height: Int
        /// NAXIS1 varying fastest.
        let pixels: [Float]
        /// +1 / −1 for SFD hemisphere maps, nil otherwise.
        let hemisphere: Int?
        /// Unit vector of the reference point, in the map's own frame.
        let reference: (Double, Double, Double)
    }

    let images: [Image]

    /// The largest map read (pixels): far above SFD's 4096² and small enough to hold in memory.
    public static let maxPixels = 1 << 28

    /// Reads the maps at `paths` (primary HDU, or the first image HDU), refusing files without
    /// a 2-axis celestial WCS, in coordinates other than equatorial or Galactic, or too large.
    public init(paths: [String]) throws {
        guard !paths.isEmpty else { throw PhotoZDataError.invalidOption("no dust map given") }
        images = try paths.map(Self.readImage)
    }

    /// What was read, for provenance: each file and its frame.
    public var description: String {
        images.map { "\(($0.path as NSString).lastPathComponent) (\($0.galactic ? "Galactic" : "equatorial") \($0.wcs.axisTypes.joined(separator: "/")), \($0.width)×\($0.height))" }
            .joined(separator: ", ")
    }

    /// E(B−V) at each (RA, Dec) in degrees (ICRS), NaN where no map covers the position.
    public func values(at positions: [(ra: Double, dec: Double)]) throws -> [Double] {
        var result = [Double](repeating: .nan, count: positions.count)
        let galactic = positions.map { Self.galactic(ra: $0.ra, dec: $0.dec) }
        let orders = positions.indices.map { preferredMaps(positions[$0], galactic[$0]) }
        // Pass p looks each position up in its p-th preferred map, all of a map's positions in
        // one wcslib call; a position that map does not cover goes on to the next pass.
        var pending = Array(positions.indices), pass = 0
        while !pending.isEmpty {
            var byMap = [[Int]](repeating: [], count: images.count)
            for k in pending where pass < orders[k].count { byMap[orders[k][pass]].append(k) }
            var next: [Int] = []
            for (m, ks) in byMap.enumerated() where !ks.isEmpty {
                let image = images[m]
                var sky = [Double]()
                sky.reserveCapacity(2 * ks.count)
                for k in ks {
                    let (lon, lat) = image.galactic ? galactic[k] : (positions[k].ra, positions[k].dec)
                    sky += [lon, lat]
                }
                let pixels: [Double]
                do { pixels = try image.wcs.pixels(sky: sky) } catch {
                    throw PhotoZDataError.io(path: image.path, message: "\(error)")
                }
                for (j, k) in ks.enumerated() {
                    if let v = image.interpolate(x: pixels[2 * j] - 1, y: pixels[2 * j + 1] - 1) { result[k] = v } else { next.append(k) }
                }
            }
            pending = next
            pass += 1
        }
        return result
    }

    /// The maps to try for a position, most preferred first: hemisphere maps of its Galactic
    /// hemisphere, then the other maps by the distance of their reference point.
    private func preferredMaps(_ p: (ra: Double, dec: Double), _ g: (l: Double, b: Double)) -> [Int] {
        let north = g.b >= 0
        let hemisphere = images.indices.filter { images[$0].hemisphere.map { ($0 > 0) == north } ?? false }
        func closeness(_ m: Int) -> Double {
            let i = images[m]
            let v = i.galactic ? Self.unit(g.l, g.b) : Self.unit(p.ra, p.dec)
            return v.0 * i.reference.0 + v.1 * i.reference.1 + v.2 * i.reference.2
        }
        let others = images.indices.filter { images[$0].hemisphere == nil }.sorted { closeness($0) > closeness($1) }
        return hemisphere + others
    }

    // MARK: Coordinates

    /// ICRS → Galactic rotation (Hipparcos, ESA 1997, vol. 1, eq. 1.5.11): rows are the
    /// Galactic x (centre), y (l = 90°), z (north pole) axes in ICRS coordinates.
    static let equatorialToGalactic: [[Double]] = [
        [-0.0548755604162154, -0.8734370902348850, -0.4838350155487132],
        [+0.4941094278755837, -0.4448296299600112, +0.7469822444972189],
        [-0.8676661490190047, -0.1980763734312015, +0.4559837761750669],
    ]

    /// Galactic (l, b) in degrees of an ICRS (RA, Dec) in degrees.
    public static func galactic(ra: Double, dec: Double) -> (l: Double, b: Double) {
        let v = unit(ra, dec)
        let m = equatorialToGalactic
        let x = m[0][0] * v.0 + m[0][1] * v.1 + m[0][2] * v.2
        let y = m[1][0] * v.0 + m[1][1] * v.1 + m[1][2] * v.2
        let z = m[2][0] * v.0 + m[2][1] * v.1 + m[2][2] * v.2
        var l = atan2(y, x) * 180 / .pi
        if l < 0 { l += 360 }
        return (l, asin(max(-1, min(1, z))) * 180 / .pi)
    }

    static func unit(_ lon: Double, _ lat: Double) -> (Double, Double, Double) {
        let a = lon * .pi / 180, d = lat * .pi / 180
        return (cos(d) * cos(a), cos(d) * sin(a), sin(d))
    }

    // MARK: Reading

    private static func readImage(_ path: String) throws -> Image {
        guard FileManager.default.fileExists(atPath: path) else { throw PhotoZDataError.io(path: path, message: "dust map not found") }
        let header = try FrameHeaderReader.primaryHeader(path)
        let wcs: WCS
        do { wcs = try WCS(header: header.text, source: "\(path), HDU 0") } catch {
            throw PhotoZDataError.io(path: path, message: "not a dust map with a celestial WCS: \(error)")
        }
        guard wcs.axisCount == 2, wcs.isCelestial else {
            throw PhotoZDataError.io(path: path, message: "a dust map needs a 2-axis celestial WCS; HDU 0 has axes \(wcs.axisTypes.joined(separator: ", "))")
        }
        let types = wcs.axisTypes.map { $0.uppercased() }
        let galactic: Bool
        if types.contains(where: { $0.hasPrefix("GLON") }) {
            galactic = true
        } else if types.contains(where: { $0.hasPrefix("RA") }) {
            let system = (header.value("RADESYS") ?? header.value("RADECSYS") ?? "ICRS").uppercased()
            guard ["ICRS", "FK5"].contains(system) else {
                throw PhotoZDataError.io(path: path, message: "the map's equatorial frame is \(system); photoz reads ICRS or FK5 (J2000) maps and Galactic maps")
            }
            galactic = false
        } else {
            throw PhotoZDataError.io(path: path, message: "the map's axes are \(types.joined(separator: ", ")); photoz reads equatorial (RA/DEC) or Galactic (GLON/GLAT) maps")
        }
        let (width, height, pixels) = try FITSFile.withFile(path) { file -> (Int, Int, [Float]) in
            let shape = try file.imageShape()
            guard shape.count == 2, shape[0] >= 2, shape[1] >= 2 else {
                throw PhotoZDataError.io(path: path, message: "HDU 0 is not a 2-D image of at least 2×2 pixels (shape \(shape))")
            }
            let (n, overflow) = shape[0].multipliedReportingOverflow(by: shape[1])
            guard !overflow, n <= maxPixels else {
                throw PhotoZDataError.io(path: path, message: "the map declares \(shape[0])×\(shape[1]) pixels, more than the \(maxPixels) photoz reads")
            }
            return (shape[0], shape[1], try file.readImage())  // readImage bounds the declared size by the file's
        }
        let hemisphere = header.int("LAM_NSGP").flatMap { $0 == 1 || $0 == -1 ? $0 : nil }
        let reference: (Double, Double, Double)
        do {
            let centre = try wcs.sky(x: (Double(width) + 1) / 2, y: (Double(height) + 1) / 2)
            reference = unit(centre.longitude, centre.latitude)
        } catch {
            throw PhotoZDataError.io(path: path, message: "the map's centre has no sky position: \(error)")
        }
        return Image(path: path, wcs: wcs, galactic: galactic, width: width, height: height, pixels: pixels,
                     hemisphere: hemisphere, reference: reference)
    }
}

extension DustMap.Image {
    /// Bilinear interpolation at 0-based pixel position (x, y) (pixel centres at integers),
    /// clamped at the edges as the SFD tools do; nil beyond half a pixel outside the image, at
    /// a position without a pixel (NaN) or a non-finite map value.
    func interpolate(x: Double, y: Double) -> Double? {
        guard x.isFinite, y.isFinite, x >= -0.5, y >= -0.5, x <= Double(width) - 0.5, y <= Double(height) - 0.5 else { return nil }
        let fx = x.rounded(.down), fy = y.rounded(.down)
        let wx = x - fx, wy = y - fy
        let x0 = max(Int(fx), 0), x1 = min(Int(fx) + 1, width - 1)
        let y0 = max(Int(fy), 0), y1 = min(Int(fy) + 1, height - 1)
        func p(_ i: Int, _ j: Int) -> Double { Double(pixels[j * width + i]) }
        let v = (1 - wx) * (1 - wy) * p(x0, y0) + wx * (1 - wy) * p(x1, y0) + (1 - wx) * wy * p(x0, y1) + wx * wy * p(x1, y1)
        return v.isFinite ? v : nil
    }
}
