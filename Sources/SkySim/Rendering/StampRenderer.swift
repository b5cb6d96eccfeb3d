import Foundation
import PhotoZData

/// Turns a `GalaxyTruth` into a (5, size, size) image in nanomaggies.
///
/// Per band: every galaxy in the stamp is integrated over the pixels of a region grown by the
/// PSF radius (so light from just outside the stamp is scattered in), scaled by its flux in
/// that band, convolved with the band's double-Gaussian PSF (separable, pixel-integrated taps);
/// stars are added as pixel-integrated PSFs; then each pixel gets Gaussian noise of the SDSS
/// frame model's variance for its sky plus source counts (Poisson counts ≥ 40 electrons per
/// pixel from the sky alone in every band, where the Gaussian approximation holds).
struct StampRenderer: Sendable {
    let size: Int
    let pixelScale: Double
    let noiseModel: NoiseModel

    /// Renders `truth`; when `noise` is true, draws the pixel noise from `random`.
    func render(_ truth: GalaxyTruth, noise: Bool, random: inout SimRandom) -> [Float] {
        let psfs = Band.allCases.map { PointSpreadFunction(fwhm: truth.seeing[$0.index], pixelScale: pixelScale) }
        let margin = psfs.map(\.radius).max()!
        let width = size + 2 * margin
        let rasterizer = ProfileRasterizer(width: width, height: width, pixelScale: pixelScale)
        let centre = Double(margin) + Double(size) / 2

        // Unit-flux rasters of every galaxy and their fluxes per band in nanomaggies.
        var rasters: [[Double]] = [], fluxes: [[Double]] = []
        var main = [Double](repeating: 0, count: width * width)
        rasterizer.add(truth.morphology, centreX: centre, centreY: centre, flux: 1, fine: true, into: &main)
        rasters.append(main)
        fluxes.append(truth.magnitudes.map { Survey.nanomaggies(magnitude: $0) })
        for neighbour in truth.neighbours where neighbour.kind != .star {
            guard let shape = neighbour.morphology else { continue }
            var raster = [Double](repeating: 0, count: width * width)
            rasterizer.add(shape, centreX: centre + neighbour.x, centreY: centre + neighbour.y, flux: 1,
                           fine: false, into: &raster)
            rasters.append(raster)
            fluxes.append(neighbour.magnitudes.map { Survey.nanomaggies(magnitude: $0) })
        }

        var image = [Float](repeating: 0, count: 5 * size * size)   // (band, y, x)
        var combined = [Double](repeating: 0, count: width * width)
        for band in Band.allCases {
            let b = band.index
            for k in combined.indices { combined[k] = 0 }
            for (raster, flux) in zip(rasters, fluxes) {
                let f = flux[b]
                for k in combined.indices { combined[k] += f * raster[k] }
            }
            var stamp = convolve(combined, width: width, margin: margin, psf: psfs[b])
            for star in truth.neighbours where star.kind == .star {
                addPointSource(flux: Survey.nanomaggies(magnitude: star.magnitudes[b]),
                               x: Double(size) / 2 + star.x, y: Double(size) / 2 + star.y, psf: psfs[b], into: &stamp)
            }
            // σ² = signal · cimg / gain + (sky / gain + darkVariance) · cimg² (the `NoiseModel` formula, expanded).
            let cimg = noiseModel.nanomaggiesPerCount[b], gain = noiseModel.gain[b]
            let perSignal = cimg / gain
            let floor = pow(noiseModel.sigma(band, skyScale: truth.skyScale, pixelScale: pixelScale), 2)
            let offset = b * size * size
            for k in 0..<(size * size) {
                var value = stamp[k]
                if noise { value += (max(0, value) * perSignal + floor).squareRoot() * random.normal() }
                image[offset + k] = Float(value)
            }
        }
        return image
    }

    /// Valid-region convolution of a (width, width) raster with the PSF's two separable
    /// Gaussians; returns the central (size, size) stamp. Loops run tap-outer, pixel-inner
    /// (a sequence of axpy over contiguous rows) so the compiler vectorises them.
    func convolve(_ input: [Double], width: Int, margin: Int, psf: PointSpreadFunction) -> [Double] {
        let size = self.size
        var output = [Double](repeating: 0, count: size * size)
        var rows = [Double](repeating: 0, count: width * size)        // (width, size) after the x pass
        for (sigma, weight) in [(psf.sigmaCore, 1 - psf.wideFraction), (psf.sigmaWide, psf.wideFraction)] {
            let radius = min(margin, Int((4.5 * sigma).rounded(.up)))
            let taps = PointSpreadFunction.taps(sigma: sigma, radius: radius)
            let firstRow = margin - radius, lastRow = margin + size + radius
            input.withUnsafeBufferPointer { src in
                rows.withUnsafeMutableBufferPointer { tmp in
                    for y in firstRow..<lastRow {
                        let out = tmp.baseAddress! + y * size
                        for x in 0..<size { out[x] = 0 }
                        for (k, tap) in taps.enumerated() {
                            let line = src.baseAddress! + y * width + margin - radius + k
                            for x in 0..<size { out[x] += tap * line[x] }
                        }
                    }
                }
            }
            rows.withUnsafeBufferPointer { tmp in
                output.withUnsafeMutableBufferPointer { result in
                    for y in 0..<size {
                        let out = result.baseAddress! + y * size
                        for (k, tap) in taps.enumerated() {
                            let line = tmp.baseAddress! + (y + margin - radius + k) * size
                            let w = weight * tap
                            for x in 0..<size { out[x] += w * line[x] }
                        }
                    }
                }
            }
        }
        return output
    }

    /// Adds a point source of `flux` at (x, y) (continuous stamp coordinates) integrated over pixels.
    func addPointSource(flux: Double, x: Double, y: Double, psf: PointSpreadFunction, into stamp: inout [Double]) {
        let reach = Double(psf.radius)
        let x0 = max(0, Int((x - reach).rounded(.down))), x1 = min(size - 1, Int((x + reach).rounded(.up)))
        let y0 = max(0, Int((y - reach).rounded(.down))), y1 = min(size - 1, Int((y + reach).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        for iy in y0...y1 {
            for ix in x0...x1 {
                stamp[iy * size + ix] += flux * psf.pixelFraction(x0: Double(ix) - x, x1: Double(ix + 1) - x,
                                                                  y0: Double(iy) - y, y1: Double(iy + 1) - y)
            }
        }
    }
}
