import FITS
import Foundation

/// Why one object's cutout could not be used; becomes a line of the skipped-objects report.
public struct CutoutProblem: Error, Sendable {
    public var reason: SkipReason
    public var file: String
    public var detail: String
}

/// Reads the five bands of one object into a (5, size, size) float32 buffer, u,g,r,i,z.
///
/// Bands come from EXTNAME or FILTER (multi-extension), from the file name (per band) or from
/// `BANDS` / `FILTERn` (cube), never from HDU order. Larger images are centre-cropped to
/// `size`; smaller ones are rejected. Non-finite pixels reject the object unless `fillNonFinite`
/// gives a replacement value.
public struct CutoutReader: Sendable {
    /// Cutout files up to this size are read whole into memory before cfitsio parses them
    /// (one system call instead of a few dozen); larger ones are read from disk as usual.
    static let inMemoryLimit = 16 << 20
    public var layout: CutoutLayout
    public var size: Int
    public var fillNonFinite: Float?
    /// Band order for cubes without `BANDS`/`FILTERn` keywords, e.g. `[.u, .g, .r, .i, .z]`.
    public var cubeBandOrder: [Band]?

    public init(layout: CutoutLayout, size: Int = Survey.cutoutSize, fillNonFinite: Float? = nil, cubeBandOrder: [Band]? = nil) {
        self.layout = layout
        self.size = size
        self.fillNonFinite = fillNonFinite
        self.cubeBandOrder = cubeBandOrder
    }

    /// Reads one object; `files` maps bands to paths (one path under any band for mef/cube).
    /// Returns the number of non-finite pixels replaced.
    @discardableResult
    public func read(files: [Band: String], into image: UnsafeMutableBufferPointer<Float>) throws(CutoutProblem) -> Int {
        try readStamp(files: files, into: image).filled
    }

    /// Reads one object and the stamp's celestial WCS, from the r band's header (a cube's own
    /// header) with the crop applied; nil when that header has no equatorial WCS.
    public func readStamp(files: [Band: String], into image: UnsafeMutableBufferPointer<Float>) throws(CutoutProblem) -> (filled: Int, wcs: StampWCS?) {
        precondition(image.count == 5 * size * size, "image buffer must hold 5 × size × size floats")
        var header: ReferenceHeader?
        switch layout {
        case .mef: try readMEF(files.values.first!, into: image, header: &header)
        case .perBand: try readPerBand(files, into: image, header: &header)
        case .cube: try readCube(files.values.first!, into: image, header: &header)
        }
        let filled = try checkFinite(image, file: files.values.sorted().first!)  // (sorted only for a message)
        let wcs = header.flatMap { h in StampWCS.derive(cards: h.cards, x0: h.x0, y0: h.y0, size: size, source: "\(h.path), HDU \(h.hdu)") }
        return (filled, wcs)
    }

    /// The celestial WCS cards of the header the stamp's WCS comes from, and where the crop
    /// starts in that image (0-based).
    struct ReferenceHeader {
        var cards: [FITSCard]
        var x0: Int, y0: Int
        var path: String, hdu: Int
    }

    /// The reference band of a stamp's WCS (photoz's stamps share one grid; r is SDSS's reference).
    static let referenceBand = Band.r

    private func readMEF(_ path: String, into image: UnsafeMutableBufferPointer<Float>, header: inout ReferenceHeader?) throws(CutoutProblem) {
        var seen: [Band: Int] = [:]
        do {
            // HDU by HDU to the end: each header is read once (counting the HDUs first would
            // read them all twice, compression keywords included).
            let file = try FITSFile.open(path, wholeInMemory: Self.inMemoryLimit)
            var hdu = 0
            var type: FITSHDUType? = try file.currentHDUType()
            while let current = type {
                if current == .image { try readBand(file, hdu: hdu, path: path, seen: &seen, into: image, reference: &header) }
                do {
                    type = try file.moveToNextHDU()
                } catch where truncationNote(path) != nil {
                    break  // a cut-off file: the bands found so far and the truncation are reported below
                }
                hdu += 1
            }
        } catch let problem as CutoutProblem { throw problem } catch {
            throw CutoutProblem(reason: .unreadableCutout, file: path, detail: "\(error)")
        }
        let missing = Band.allCases.filter { seen[$0] == nil }
        if !missing.isEmpty, let truncation = truncationNote(path) {
            throw CutoutProblem(reason: .unreadableCutout, file: path, detail: "found only bands \(seen.keys.sorted().map(\.rawValue).joined(separator: ",")): \(truncation)")
        }
        if !missing.isEmpty {
            throw CutoutProblem(reason: .missingBand, file: path, detail: "missing band \(missing.map(\.rawValue).joined(separator: ",")) (found \(seen.keys.sorted().map(\.rawValue).joined(separator: ",")))")
        }
    }

    /// Reads the current image HDU of a multi-extension file into its band's plane.
    private func readBand(_ file: FITSFile, hdu: Int, path: String, seen: inout [Band: Int],
                          into image: UnsafeMutableBufferPointer<Float>, reference: inout ReferenceHeader?) throws {
        let shape = try file.imageShape()
        if shape.isEmpty || shape.allSatisfy({ $0 == 0 }) { return }   // header-only primary
        // Every keyword below, and the size check before the pixels are read, from one read of
        // the header (cfitsio searched the whole header for each absent keyword: BSCALE, BZERO,
        // often BUNIT and FILTER, and for the stamp's WCS every card was read once more).
        let header = try file.header()
        let extname = try header.string("EXTNAME") ?? ""
        let filter = Band(fitsName: extname) == nil ? try header.string("FILTER") ?? "" : ""
        let name = extname.isEmpty ? filter : extname
        guard let band = Band(fitsName: extname) ?? Band(fitsName: filter) else {
            throw CutoutProblem(reason: .missingBand, file: path, detail: "HDU \(hdu) has no band in EXTNAME or FILTER (found '\(name)'); name each band's HDU u, g, r, i or z")
        }
        if let other = seen[band] {
            throw CutoutProblem(reason: .missingBand, file: path, detail: "band \(band.rawValue) appears in HDU \(other) and HDU \(hdu)")
        }
        seen[band] = hdu
        try checkUnit(header, path: path, hdu: hdu)
        try cropPlane(file, shape: shape, path: path, hdu: hdu, into: plane(image, band))
        if band == Self.referenceBand { reference = try self.reference(header, shape: shape, path: path, hdu: hdu) }
    }

    /// The WCS cards of `header` with the crop offsets of an image of `shape`. Every card is
    /// checked (`FITSHeader.cards(where:)`), as when the stamp's WCS was derived from all of them.
    private func reference(_ header: FITSHeader, shape: [Int], path: String, hdu: Int) throws -> ReferenceHeader {
        ReferenceHeader(cards: try header.cards(where: StampWCS.isCelestialKeyword), x0: (shape[0] - size) / 2, y0: (shape[1] - size) / 2, path: path, hdu: hdu)
    }

    /// Explains a short read: an uncompressed FITS file is a whole number of 2880-byte blocks.
    private func truncationNote(_ path: String) -> String? {
        let lower = path.lowercased()
        guard !lower.hasSuffix(".gz"), !lower.hasSuffix(".bz2"), !lower.hasSuffix(".fz"),
              let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size % 2880 != 0 else { return nil }
        return "the file is truncated (\(size) bytes is not a whole number of 2880-byte FITS blocks); copy it again"
    }

    private func readPerBand(_ files: [Band: String], into image: UnsafeMutableBufferPointer<Float>, header: inout ReferenceHeader?) throws(CutoutProblem) {
        let missing = Band.allCases.filter { files[$0] == nil }
        if !missing.isEmpty {
            throw CutoutProblem(reason: .missingBand, file: files.values.sorted().first ?? "", detail: "missing band file for \(missing.map(\.rawValue).joined(separator: ","))")
        }
        for band in Band.allCases {
            let path = files[band]!
            do {
                let file = try FITSFile.open(path, wholeInMemory: Self.inMemoryLimit)
                let hdu = try firstImageHDU(file, path: path)
                let fileHeader = try file.header()
                try checkUnit(fileHeader, path: path, hdu: hdu)
                let shape = try file.imageShape()
                try cropPlane(file, shape: shape, path: path, hdu: hdu, into: plane(image, band))
                if band == Self.referenceBand { header = try reference(fileHeader, shape: shape, path: path, hdu: hdu) }
            } catch let problem as CutoutProblem { throw problem } catch {
                throw CutoutProblem(reason: .unreadableCutout, file: path, detail: "\(error)")
            }
        }
    }

    private func readCube(_ path: String, into image: UnsafeMutableBufferPointer<Float>, header: inout ReferenceHeader?) throws(CutoutProblem) {
        do {
            let file = try FITSFile.open(path, wholeInMemory: Self.inMemoryLimit)
            let hdu = try firstImageHDU(file, path: path)
            let shape = try file.imageShape()
            guard shape.count == 3, shape[2] == 5 else {
                throw CutoutProblem(reason: .wrongDimensions, file: path, detail: "HDU \(hdu) is \(shape.map(String.init).joined(separator: "×")); a cube is NAXIS1×NAXIS2×5")
            }
            let fileHeader = try file.header()
            let order = try cubeBands(fileHeader, path: path)
            try checkUnit(fileHeader, path: path, hdu: hdu)
            try checkSize(shape, path: path, hdu: hdu)
            let x0 = (shape[0] - size) / 2, y0 = (shape[1] - size) / 2
            header = try reference(fileHeader, shape: shape, path: path, hdu: hdu)
            for (plane, band) in order.enumerated() {
                let pixels = try file.readImageSection([x0..<x0 + size, y0..<y0 + size, plane..<plane + 1])
                let target = self.plane(image, band)
                _ = pixels.withUnsafeBufferPointer { target.update(fromContentsOf: $0) }
            }
        } catch let problem as CutoutProblem { throw problem } catch {
            throw CutoutProblem(reason: .unreadableCutout, file: path, detail: "\(error)")
        }
    }

    private func cubeBands(_ file: FITSHeader, path: String) throws -> [Band] {
        if let list = try file.string("BANDS") {
            let bands = list.split(whereSeparator: { ", ".contains($0) }).compactMap { Band(fitsName: String($0)) }
            let compact = bands.count == 5 ? bands : list.compactMap { Band(fitsName: String($0)) }
            if compact.count == 5 && Set(compact).count == 5 { return compact }
            throw CutoutProblem(reason: .missingBand, file: path, detail: "BANDS = '\(list)' does not name the five bands u,g,r,i,z once each")
        }
        var bands: [Band] = []
        for plane in 1...5 {
            guard let name = try file.string("FILTER\(plane)") ?? file.string("BAND\(plane)"), let band = Band(fitsName: name) else { break }
            bands.append(band)
        }
        if bands.count == 5 && Set(bands).count == 5 { return bands }
        if let cubeBandOrder { return cubeBandOrder }
        throw CutoutProblem(reason: .missingBand, file: path, detail: "the cube's header gives no band order (BANDS = 'u,g,r,i,z' or FILTER1…FILTER5); add the keywords or pass --cube-bands ugriz")
    }

    private func firstImageHDU(_ file: FITSFile, path: String) throws -> Int {
        var hdu = 0
        var type: FITSHDUType? = try file.currentHDUType()
        while let current = type {
            if current == .image {
                let shape = try file.imageShape()
                if !shape.isEmpty && !shape.contains(0) { return hdu }
            }
            type = try file.moveToNextHDU()
            hdu += 1
        }
        throw CutoutProblem(reason: .wrongDimensions, file: path, detail: "no image HDU with data")
    }

    private func checkUnit(_ header: FITSHeader, path: String, hdu: Int) throws {
        // cfitsio takes a BSCALE or BZERO it cannot use (NAN, INF) as absent and reads the
        // stored values unscaled: silently wrong pixels. Such a header is refused. Every card
        // is checked: cfitsio scales by the last one, a keyword read gives the first.
        for keyword in ["BSCALE", "BZERO"] {
            for value in try header.doubles(keyword) where !value.isFinite || (keyword == "BSCALE" && value == 0) {
                throw CutoutProblem(reason: .unreadableCutout, file: path, detail: "HDU \(hdu) has \(keyword) = \(value), which no image can have: the header is corrupt")
            }
        }
        guard let unit = try header.string("BUNIT") else { return }
        let u = unit.lowercased().trimmingCharacters(in: .whitespaces)
        if !["nanomaggy", "nanomaggies", "nmgy", "nanomaggie"].contains(u) {
            throw CutoutProblem(reason: .wrongUnit, file: path, detail: "HDU \(hdu) has BUNIT = '\(unit)'; photoz expects images in nanomaggies (calibrate them first)")
        }
    }

    private func checkSize(_ shape: [Int], path: String, hdu: Int) throws {
        guard shape.count >= 2, shape[0] >= size, shape[1] >= size else {
            throw CutoutProblem(reason: .wrongDimensions, file: path, detail: "HDU \(hdu) is \(shape.map(String.init).joined(separator: "×")), smaller than --size \(size)")
        }
    }

    private func cropPlane(_ file: FITSFile, shape: [Int], path: String, hdu: Int, into target: UnsafeMutableBufferPointer<Float>) throws {
        guard shape.count == 2 else {
            throw CutoutProblem(reason: .wrongDimensions, file: path, detail: "HDU \(hdu) has \(shape.count) axes (\(shape.map(String.init).joined(separator: "×"))); expected a 2-D image")
        }
        try checkSize(shape, path: path, hdu: hdu)
        if shape[0] == size && shape[1] == size {
            try file.readImage(into: target)
            return
        }
        let x0 = (shape[0] - size) / 2, y0 = (shape[1] - size) / 2
        let pixels = try file.readImageSection([x0..<x0 + size, y0..<y0 + size])
        _ = pixels.withUnsafeBufferPointer { target.update(fromContentsOf: $0) }
    }

    private func plane(_ image: UnsafeMutableBufferPointer<Float>, _ band: Band) -> UnsafeMutableBufferPointer<Float> {
        let n = size * size
        return UnsafeMutableBufferPointer(rebasing: image[band.index * n..<(band.index + 1) * n])
    }

    private func checkFinite(_ image: UnsafeMutableBufferPointer<Float>, file: @autoclosure () -> String) throws(CutoutProblem) -> Int {
        // x · 0 is 0 for finite x and NaN for NaN and ±Inf: one vectorised pass (lane-wise
        // sums, which the compiler may not reorder from a scalar loop) finds out whether the
        // slow scan below is needed at all.
        var lanes = SIMD16<Float>()
        let whole = image.count / 16 * 16
        if let base = UnsafeRawPointer(image.baseAddress) {
            for k in stride(from: 0, to: whole * 4, by: 64) { lanes += base.loadUnaligned(fromByteOffset: k, as: SIMD16<Float>.self) * 0 }
        }
        var probe = lanes.sum()
        for i in whole..<image.count { probe += image[i] * 0 }
        if probe == 0 { return 0 }
        var bad = 0
        var firstBad: Int?
        for i in image.indices where !image[i].isFinite {
            bad += 1
            if firstBad == nil { firstBad = i }
            if let fill = fillNonFinite { image[i] = fill }
        }
        if bad > 0 && fillNonFinite == nil {
            let n = size * size, i = firstBad!
            let band = Band.allCases[i / n]
            throw CutoutProblem(reason: .nonFinitePixels, file: file(), detail: "\(bad) NaN/Inf pixels (first in band \(band.rawValue) at x=\(i % size), y=\(i % n / size)); pass --fill-nonfinite VALUE to keep such objects")
        }
        return bad
    }
}
