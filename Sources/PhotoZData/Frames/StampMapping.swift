import CResampleKernels
import WCS

/// The map from a stamp's pixels to a frame's pixels: exact (wcslib) at the nodes of a coarse
/// grid, bilinear in between, with the grid refined until the interpolation is known to be
/// accurate.
///
/// The nodes span the stamp's outer pixel edges (−0.5 … size − 0.5, 0-based) in `cells` equal
/// cells a side. Besides the nodes, the exact mapping is evaluated at every cell centre and
/// edge midpoint, where bilinear interpolation of a smooth map errs most (for a quadratic map,
/// exactly there); while any of them is off by more than `tolerance` frame pixels, the cells
/// are halved. A TAN frame over a 64-pixel SDSS stamp needs one cell: 9 wcslib evaluations
/// instead of 4,096 (off by < 10⁻⁸ pixel); a frame with SIP distortion a few more (tested).
/// The interpolated map's derivatives give the Jacobian, whose determinant is the ratio of
/// pixel areas used to conserve flux.
struct StampMapping {
    let size: Int
    /// Cells a side, and their side in stamp pixels.
    let cells: Int
    let spacing: Double
    /// Frame positions (0-based x, y) of the (cells + 1)² nodes, x fastest.
    private let nodes: [(x: Double, y: Double)]
    /// The largest interpolation error found at the check points, frame pixels.
    let checkedError: Double

    init(grid: StampGrid, wcs: WCS, tolerance: Double) throws {
        size = grid.size
        var cells = 1
        while true {
            let m = cells + 1
            let h = Double(grid.size) / Double(cells)
            // Nodes at even half-steps, check points at the odd ones: a (2·cells + 1)² lattice.
            let lattice = 2 * cells + 1
            var sky = [Double]()
            sky.reserveCapacity(2 * lattice * lattice)
            for b in 0..<lattice { for a in 0..<lattice {
                let p = grid.sky(x: -0.5 + Double(a) * h / 2, y: -0.5 + Double(b) * h / 2)
                sky.append(p.ra)
                sky.append(p.dec)
            } }
            let exact = try wcs.pixels(sky: sky)   // FITS 1-based
            func at(_ a: Int, _ b: Int) -> (x: Double, y: Double) {
                let k = 2 * (b * lattice + a)
                return (exact[k] - 1, exact[k + 1] - 1)
            }
            var nodes = [(x: Double, y: Double)]()
            nodes.reserveCapacity(m * m)
            for b in 0..<m { for a in 0..<m { nodes.append(at(2 * a, 2 * b)) } }
            var worst = 0.0
            for b in 0..<lattice { for a in 0..<lattice where a % 2 == 1 || b % 2 == 1 {
                // Bilinear prediction from the cell's corners (u, v ∈ {0, ½}).
                let a0 = a / 2 - (a == lattice - 1 ? 1 : 0), b0 = b / 2 - (b == lattice - 1 ? 1 : 0)
                let u = Double(a - 2 * a0) / 2, v = Double(b - 2 * b0) / 2
                let p00 = nodes[b0 * m + a0], p10 = nodes[b0 * m + a0 + 1], p01 = nodes[(b0 + 1) * m + a0], p11 = nodes[(b0 + 1) * m + a0 + 1]
                let x = (1 - v) * ((1 - u) * p00.x + u * p10.x) + v * ((1 - u) * p01.x + u * p11.x)
                let y = (1 - v) * ((1 - u) * p00.y + u * p10.y) + v * ((1 - u) * p01.y + u * p11.y)
                let e = at(a, b)
                // NaN (a point off the projection) compares false: such pixels come out NaN, masked.
                worst = max(worst, abs(x - e.x), abs(y - e.y))
            } }
            // Cells of one pixel are the end: a map that still bends within a pixel is beyond repair.
            if worst <= tolerance || cells >= grid.size {
                self.cells = cells
                self.spacing = h
                self.nodes = nodes
                self.checkedError = worst
                return
            }
            cells *= 2
        }
    }

    /// `row` for every row of the stamp: `x`, `y` and `area` receive `size` × `size` values,
    /// row by row. `vectorKernel`: in C four pixels at a time (`photoz_stamp_mapping_rows`, bit
    /// for bit `row`'s values; only where the CPU has AVX2), else `row` by `row`.
    func rows(x: UnsafeMutablePointer<Double>, y: UnsafeMutablePointer<Double>, area: UnsafeMutablePointer<Double>, vectorKernel: Bool) {
        guard vectorKernel else {
            for j in 0..<size { row(j, x: x + j * size, y: y + j * size, area: area + j * size) }
            return
        }
        precondition(LanczosResampler.vectorKernelAvailable, "the C mapping kernel needs AVX2")
        nodes.withUnsafeBufferPointer { nodes in
            // (x: Double, y: Double) is two doubles, 16 bytes apart: x, y, x, y, …
            let flat = UnsafeRawPointer(nodes.baseAddress!).assumingMemoryBound(to: Double.self)
            photoz_stamp_mapping_rows(flat, cells, spacing, size, x, y, area)
        }
    }

    /// Fills `x`, `y` and `area` (`size` values each) with the frame positions (0-based) of
    /// the pixel centres of stamp row `j` and |det J| there.
    func row(_ j: Int, x: UnsafeMutablePointer<Double>, y: UnsafeMutablePointer<Double>, area: UnsafeMutablePointer<Double>) {
        let m = cells + 1
        // Divisions by the spacing as multiplications by its inverse: exact when the spacing is a
        // power of two (64-pixel stamps), within an ulp otherwise; three divisions per pixel were
        // a quarter of the blocked resampler's time.
        let inverse = 1 / spacing
        let sy = (Double(j) + 0.5) / spacing
        let b = min(Int(sy), cells - 1), v = sy - Double(b)
        for a in 0..<cells {
            let p00 = nodes[b * m + a], p10 = nodes[b * m + a + 1], p01 = nodes[(b + 1) * m + a], p11 = nodes[(b + 1) * m + a + 1]
            // Along the row the map is linear within a cell: left and right ends interpolated in v.
            let lx = (1 - v) * p00.x + v * p01.x, ly = (1 - v) * p00.y + v * p01.y
            let rx = (1 - v) * p10.x + v * p11.x, ry = (1 - v) * p10.y + v * p11.y
            let dxdi = (rx - lx) / spacing, dydi = (ry - ly) / spacing
            let first = a == 0 ? 0 : Int((Double(a) * spacing - 0.5).rounded(.up))
            let last = a == cells - 1 ? size - 1 : min(size - 1, Int((Double(a + 1) * spacing - 0.5).rounded(.up)) - 1)
            guard first <= last else { continue }
            let left = (p01.x - p00.x, p01.y - p00.y), right = (p11.x - p10.x, p11.y - p10.y)
            for i in first...last {
                let u = (Double(i) + 0.5) * inverse - Double(a)
                x[i] = lx + u * (rx - lx)
                y[i] = ly + u * (ry - ly)
                let dxdj = ((1 - u) * left.0 + u * right.0) * inverse
                let dydj = ((1 - u) * left.1 + u * right.1) * inverse
                area[i] = abs(dxdi * dydj - dxdj * dydi)
            }
        }
    }
}
