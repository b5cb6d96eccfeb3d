import Foundation

/// Integrates bulge + disk galaxies over square pixels (before the PSF).
///
/// Each pixel holds the mean of the surface brightness over an s × s grid of sub-pixels,
/// with s chosen by the distance d (pixels) to the galaxy centre: 1 beyond 10 pixels, 3
/// within 10, 7 within 4, and 25 (9 for neighbours; up to 75 for bulges with R_e below a
/// pixel) within 1.5 — the de Vaucouleurs cusp
/// changes by a factor e within 0.0003 R_e of the centre, so the central pixels need the
/// finest grid. The profiles are normalised analytically (`SersicProfile.totalFlux`), so light
/// falling outside the drawn region is lost as it would be from a real cutout.
struct ProfileRasterizer {
    /// Width and height of the region in pixels.
    let width: Int, height: Int
    /// Arcseconds per pixel.
    let pixelScale: Double

    /// Adds a galaxy of total flux `flux` centred at (`centreX`, `centreY`) (continuous pixel
    /// coordinates, the region's lower-left corner at (0, 0)) to `image`, a (height, width) buffer.
    func add(_ shape: GalaxyMorphology, centreX: Double, centreY: Double, flux: Double,
             fine: Bool, into image: inout [Double]) {
        precondition(image.count == width * height, "raster buffer has the wrong size")
        let bulge = SersicProfile.deVaucouleurs, disk = SersicProfile.exponential
        let bulgeRe = max(shape.bulgeRadius / pixelScale, 1e-3), diskRe = max(shape.diskRadius / pixelScale, 1e-3)
        let qb = shape.bulgeAxisRatio, qd = shape.diskAxisRatio
        let bulgeWeight = shape.bulgeFraction > 0 ? flux * shape.bulgeFraction / (bulge.totalFlux * bulgeRe * bulgeRe) : 0
        let diskWeight = shape.bulgeFraction < 1 ? flux * (1 - shape.bulgeFraction) / (disk.totalFlux * diskRe * diskRe) : 0
        // Major axis along (−sin PA, cos PA) in (x, y): north up, east to the left.
        let pa = shape.positionAngle * .pi / 180
        let majorX = -sin(pa), majorY = cos(pa)
        let reach = max(bulgeWeight > 0 ? bulge.taperEnd * bulgeRe / qb.squareRoot() : 0,
                        diskWeight > 0 ? disk.taperEnd * diskRe / qd.squareRoot() : 0)
        let x0 = max(0, Int((centreX - reach).rounded(.down))), x1 = min(width - 1, Int((centreX + reach).rounded(.up)))
        let y0 = max(0, Int((centreY - reach).rounded(.down))), y1 = min(height - 1, Int((centreY + reach).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        let inverseBulgeRe = 1 / bulgeRe, inverseDiskRe = 1 / diskRe
        // Bulges smaller than a pixel get a finer central grid (up to 75 × 75 sub-pixels).
        let centralSteps = fine ? (bulgeWeight > 0 && bulgeRe < 1 ? min(75, Int(25 / bulgeRe)) : 25) : 9

        @inline(__always) func brightness(_ dx: Double, _ dy: Double) -> Double {
            let major = dx * majorX + dy * majorY, minor = dx * majorY - dy * majorX
            var value = 0.0
            if bulgeWeight > 0 {
                let r2 = qb * major * major + minor * minor / qb
                value += bulgeWeight * bulge.intensity(r2.squareRoot() * inverseBulgeRe)
            }
            if diskWeight > 0 {
                let r2 = qd * major * major + minor * minor / qd
                value += diskWeight * disk.intensity(r2.squareRoot() * inverseDiskRe)
            }
            return value
        }

        image.withUnsafeMutableBufferPointer { pixels in
            for iy in y0...y1 {
                for ix in x0...x1 {
                    let dx = Double(ix) + 0.5 - centreX, dy = Double(iy) + 0.5 - centreY
                    let d = (dx * dx + dy * dy).squareRoot()
                    let steps = d < 1.5 ? centralSteps : (d < 4 ? 7 : (d < 10 ? 3 : 1))
                    var sum = 0.0
                    if steps == 1 {
                        sum = brightness(dx, dy)
                    } else {
                        let h = 1 / Double(steps)
                        for sy in 0..<steps {
                            let oy = dy - 0.5 + (Double(sy) + 0.5) * h
                            for sx in 0..<steps {
                                sum += brightness(dx - 0.5 + (Double(sx) + 0.5) * h, oy)
                            }
                        }
                        sum *= h * h
                    }
                    pixels[iy * width + ix] += sum
                }
            }
        }
    }
}
