import FITS
import Foundation
import Testing
@testable import PhotoZData

/// Stamp files are formatted by photoz (`StampWriter`) rather than keyword by keyword through
/// cfitsio; both writers must give the same bytes, and the file must be valid FITS.
@Suite struct StampFileTests {
    static func placement(frameName: String, ra: Double, dec: Double, objectID: Int64 = 1_237_648_720_693_755_918, row: Int = 17,
                          offset: (x: Double, y: Double) = (0, 0), field: FieldID = FieldID(run: 2583, camcol: 2, field: 136)) throws -> (Placement, [Band: Frame]) {
        let wcs = try ResamplingTests.frameWCS(crpix: (40.5, 40.5))
        var frames: [Band: Frame] = [:], positions: [Band: (x: Double, y: Double)] = [:]
        for band in Band.allCases {
            frames[band] = Frame(path: "/data/\(band.rawValue)/" + frameName.replacingOccurrences(of: "{band}", with: band.rawValue),
                                 band: band, field: field, width: 2048, height: 1489, wcs: wcs,
                                 referenceSystem: "ICRS", unit: "nanomaggy", primaryBytes: 0)
            positions[band] = (x: 502.65051715383777 + Double(band.index) * 1.37 + offset.x, y: 941.257806845817 - Double(band.index) / 3 + offset.y)
        }
        let target = CutoutTarget(objectID: objectID, ra: ra, dec: dec, row: row)
        return (Placement(target: target, field: field, positions: positions, margin: 300), frames)
    }

    @Test(arguments: [(0.396, 323.363690818, -0.791953368), (0.036, 0.000123, 89.5), (1.0, 359.9999999, -30.25), (0.25, 150, 2)])
    func bothWritersGiveTheSameBytes(scale: Double, ra: Double, dec: Double) throws {
        let dir = TemporaryDirectory()
        let (object, frames) = try Self.placement(frameName: "frame-{band}-002583-2-0136.fits.bz2", ra: ra, dec: dec)
        var config = CutoutConfiguration(frames: "/data", catalog: "/cat.csv", output: dir.path)
        config.size = 16
        config.pixelScale = scale
        config.edge = scale == 1 ? .skip : .mask
        var rng = SplitMix(seed: 5)
        var pixels = (0..<5 * 16 * 16).map { _ in Float(rng.next(in: -3...400)) }
        pixels[7] = .nan
        pixels[300] = -0.0
        let masked = [1, 0, 0, 2, 0]
        try pixels.withUnsafeBufferPointer { p in
            try writeStamp(p, object: object, frames: frames, masked: masked, config: config, to: dir.file("fast.fits"))
            try writeStamp(p, object: object, frames: frames, masked: masked, config: config, to: dir.file("cfitsio.fits"), useCfitsio: true)
        }
        try Self.expectSameBytes(dir.file("fast.fits"), dir.file("cfitsio.fits"))
        // And it reads back: the bands, their pixels (NaN included) and the keywords.
        let stamp = try readStamp(dir.file("fast.fits"))
        for band in Band.allCases {
            let expected = Array(pixels[band.index * 256..<(band.index + 1) * 256])
            #expect(zip(stamp[band]!.pixels, expected).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
            #expect(stamp[band]!.masked == masked[band.index])
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/fitsverify") {
            let verify = Process()
            verify.executableURL = URL(fileURLWithPath: "/usr/bin/fitsverify")
            verify.arguments = ["-q", "-e", dir.file("fast.fits")]
            let out = Pipe()
            verify.standardOutput = out
            try verify.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            verify.waitUntilExit()
            #expect(verify.terminationStatus == 0, "fitsverify: \(text)")
        }
    }

    /// The two files hold the same bytes; otherwise records the first card that differs.
    static func expectSameBytes(_ path: String, _ referencePath: String, _ what: String = "") throws {
        let fast = try Data(contentsOf: URL(fileURLWithPath: path))
        let reference = try Data(contentsOf: URL(fileURLWithPath: referencePath))
        #expect(fast.count == reference.count, "\(what)")
        if fast != reference {
            let first = zip(fast, reference).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(fast.count, reference.count)
            let card = first / 80 * 80
            Issue.record("\(what) first difference at byte \(first): '\(String(decoding: fast[card..<min(card + 80, fast.count)], as: UTF8.self))' vs cfitsio '\(String(decoding: reference[card..<min(card + 80, reference.count)], as: UTF8.self))'")
        }
    }

    /// The pipeline's writer keeps one field's template and file buffer for all its stamps:
    /// each stamp it writes, after others of the same or another field, has cfitsio's bytes
    /// (object ids from Int64.min to Int64.max, reals negative, huge, tiny and subnormal that
    /// take cfitsio's exponent forms, masked counts), and odd stamp sizes pad their data.
    @Test(arguments: [16, 9])
    func oneWriterForManyStampsGivesCfitsiosBytes(size: Int) throws {
        let dir = TemporaryDirectory()
        var config = CutoutConfiguration(frames: "/data", catalog: "/cat.csv", output: dir.path)
        config.size = size
        let plane = size * size
        let cases: [(name: String, id: Int64, row: Int, ra: Double, dec: Double, offset: (x: Double, y: Double), masked: [Int])] = [
            ("frame-{band}-002583-2-0136.fits.bz2", 1_237_648_720_693_755_918, 17, 323.363690818, -0.791953368, (0, 0), [0, 0, 0, 0, 0]),
            ("frame-{band}-002583-2-0136.fits.bz2", -5, 1, 0, -0.0, (-1e20, 1.5e-7), [plane, 0, 3, 0, 1]),
            ("frame-{band}-002583-2-0136.fits.bz2", .max, 123_456_789, 359.99999999999994, 89.99999999999999, (1e-300, -Double.leastNormalMagnitude / 3), [1, 2, 3, 4, 5]),
            ("frame-{band}-004263-5-0099.fits.bz2", .min, 2, 1e-5, -1e-5, (123456789012.5, -0.1), [0, 0, 0, 0, 0]),
            ("frame-{band}-002583-2-0136.fits.bz2", 42, 3, 150, 2, (1e17, 1.0 / 3), [0, plane, 0, 0, 0]),
            ("frame-{band}-004263-5-0099.fits.bz2", 1_237_648_720_693_755_919, 4, 12.5, -45.75, (1e16, -1e22), [7, 0, 0, 0, 0]),
        ]
        var rng = SplitMix(seed: 9)
        let writer = StampWriter(config: config)
        for (k, c) in cases.enumerated() {
            let field = c.name.contains("004263") ? FieldID(run: 4263, camcol: 5, field: 99) : FieldID(run: 2583, camcol: 2, field: 136)
            let (object, frames) = try Self.placement(frameName: c.name, ra: c.ra, dec: c.dec, objectID: c.id, row: c.row, offset: c.offset, field: field)
            var pixels = (0..<5 * plane).map { _ in Float(rng.next(in: -1e3...1e6)) }
            pixels[k] = .nan
            pixels[plane + k] = -.infinity
            pixels[2 * plane + k] = .leastNonzeroMagnitude
            try pixels.withUnsafeBufferPointer { p in
                try writer.write(p, object: object, frames: frames, masked: c.masked, to: dir.file("\(k)-fast.fits"))
                try writeStamp(p, object: object, frames: frames, masked: c.masked, config: config, to: dir.file("\(k)-cfitsio.fits"), useCfitsio: true)
            }
            try Self.expectSameBytes(dir.file("\(k)-fast.fits"), dir.file("\(k)-cfitsio.fits"), "stamp \(k) (id \(c.id)):")
        }
    }

    /// A number a FITS header cannot hold is refused, as cfitsio refuses it, and the writer
    /// goes on with the next stamp.
    @Test func aNonFiniteNumberIsRefused() throws {
        let dir = TemporaryDirectory()
        var config = CutoutConfiguration(frames: "/data", catalog: "/cat.csv", output: dir.path)
        config.size = 8
        let writer = StampWriter(config: config)
        let pixels = [Float](repeating: 2, count: 5 * 64)
        let (bad, frames) = try Self.placement(frameName: "frame-{band}-002583-2-0136.fits.bz2", ra: 10, dec: 20, offset: (.nan, 0))
        #expect(throws: (any Error).self) {
            try pixels.withUnsafeBufferPointer { try writer.write($0, object: bad, frames: frames, masked: [0, 0, 0, 0, 0], to: dir.file("bad.fits")) }
        }
        let (good, _) = try Self.placement(frameName: "frame-{band}-002583-2-0136.fits.bz2", ra: 10, dec: 20)
        try pixels.withUnsafeBufferPointer { p in
            try writer.write(p, object: good, frames: frames, masked: [0, 0, 0, 0, 0], to: dir.file("good.fits"))
            try writeStamp(p, object: good, frames: frames, masked: [0, 0, 0, 0, 0], config: config, to: dir.file("good-cfitsio.fits"), useCfitsio: true)
        }
        try Self.expectSameBytes(dir.file("good.fits"), dir.file("good-cfitsio.fits"))
    }

    /// `RealText` writes reals as cfitsio's `FITSFile.write` does, on 6,000 values: random bit
    /// patterns, random digits at every decimal exponent, integers, halves and thirds, powers
    /// of two and ten, subnormals and signed zeros.
    @Test func realsAreWrittenAsCfitsioWritesThem() throws {
        var values: [Double] = [0, -0.0, 1, -1, 0.1, 0.5, 1.0 / 3, 2.0 / 3, 1e-5, 1.5e-7, 1e16, 1e17, 1e20, 1e22, 1e300,
                                123456789012345680, .leastNonzeroMagnitude, -.leastNormalMagnitude, .greatestFiniteMagnitude,
                                -.greatestFiniteMagnitude, 9.999999999999999e22, 0.30000000000000004, 323.363690818, 0.396 / 3600]
        var rng = SplitMix(seed: 14)
        for e in -20...25 {
            values.append(pow(10, Double(e)))
            values.append(-pow(2, Double(e * 3)))
        }
        while values.count < 2000 {
            let v = Double(bitPattern: rng.next())
            if v.isFinite { values.append(v) }
        }
        while values.count < 4000 {   // random digits at decimal exponents −320…308
            let v = rng.next(in: -10...10) * pow(10, Double(Int(rng.next() % 629) - 320))
            if v.isFinite { values.append(v) }
        }
        for k in 0..<2000 {
            values.append(k % 2 == 0 ? Double(Int64(bitPattern: rng.next()) >> (rng.next() % 63)) : Double(Int(rng.next() % 100_000)) / 8 - 5000)
        }
        let dir = TemporaryDirectory()
        let text = UnsafeMutablePointer<CChar>.allocate(capacity: RealText.capacity)
        defer { text.deallocate() }
        for chunk in stride(from: 0, to: values.count, by: 1000) {
            let part = Array(values[chunk..<min(chunk + 1000, values.count)])
            let path = dir.file("reals-\(chunk).fits")
            try writeStagedFITS(to: path) { file in
                try file.createImage(bitpix: 8, shape: [])
                for (k, v) in part.enumerated() { try file.write("V\(k)", .double(v)) }
            }
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            var cards: [String: String] = [:]
            for start in stride(from: 0, to: bytes.count - 79, by: 80) where bytes[start + 8] == UInt8(ascii: "=") {
                let card = String(decoding: bytes[start..<start + 80], as: UTF8.self)
                cards[card.prefix(8).trimmingCharacters(in: .whitespaces)] = String(card.dropFirst(10)).trimmingCharacters(in: .whitespaces)
            }
            for (k, v) in part.enumerated() {
                let n = RealText.real(v, into: text)
                let mine = n.map { String(decoding: UnsafeRawBufferPointer(start: text, count: $0), as: UTF8.self) }
                #expect(mine == cards["V\(k)"], "\(v) (bits \(String(v.bitPattern, radix: 16)))")
            }
        }
        #expect(RealText.real(.nan, into: text) == nil && RealText.real(-.infinity, into: text) == nil)
        var integers: [Int] = [0, 1, -1, 9, 10, -10, .max, .min]
        for _ in 0..<1000 { integers.append(Int(Int64(bitPattern: rng.next()) >> (rng.next() % 63))) }
        for v in integers {
            let n = RealText.integer(v, into: text)
            #expect(String(decoding: UnsafeRawBufferPointer(start: text, count: n), as: UTF8.self) == String(v))
        }
    }

    /// Reals from Swift's shortest digits are the search's (`FITSFile.significantDigits`' rule)
    /// on 300,000 values: random bit patterns, random digits at every exponent, and stamp-like
    /// positions and coordinates with 9 to 17 digits; these all take the shortest-digits path.
    @Test func shortestDigitsAgreeWithTheSearch() {
        let fast = UnsafeMutablePointer<CChar>.allocate(capacity: RealText.capacity)
        let slow = UnsafeMutablePointer<CChar>.allocate(capacity: RealText.capacity)
        defer { fast.deallocate(); slow.deallocate() }
        var rng = SplitMix(seed: 21)
        var taken = [0, 0, 0], tried = [0, 0, 0]
        for k in 0..<300_000 {
            let v: Double
            switch k % 3 {
            case 0: v = Double(bitPattern: rng.next())
            case 1: v = rng.next(in: -10...10) * pow(10, Double(Int(rng.next() % 629) - 320))
            default:
                let digits = Double(Int(rng.next() % 9) + 9)
                let x = rng.next(in: -2100...2100)
                v = k % 2 == 0 ? x : (x * pow(10, digits - 4)).rounded() / pow(10, digits - 4)
            }
            guard v.isFinite else { continue }
            tried[k % 3] += 1
            guard let n = RealText.fromShortestDigits(v, into: fast) else { continue }
            taken[k % 3] += 1
            let m = RealText.bySearch(v, into: slow)
            let a = String(decoding: UnsafeRawBufferPointer(start: fast, count: n), as: UTF8.self)
            let b = m.map { String(decoding: UnsafeRawBufferPointer(start: slow, count: $0), as: UTF8.self) }
            if a != b { Issue.record("\(v) (bits \(String(v.bitPattern, radix: 16))): \(a) vs search \(b ?? "nil")") }
        }
        // Not taken: values of 10¹⁷ and more (half of the first two kinds), powers of two, integers.
        #expect(taken[0] > tried[0] * 4 / 10 && taken[1] > tried[1] * 4 / 10 && taken[2] > tried[2] * 99 / 100,
                "shortest-digits path taken for \(taken) of \(tried)")
    }

    /// A frame name too long for one card: cfitsio writes the stamp (CONTINUE convention), and
    /// the name reads back whole.
    @Test func aLongFrameNameIsWrittenByCfitsio() throws {
        let dir = TemporaryDirectory()
        let long = String(repeating: "very-long-frame-name-", count: 5) + "frame-{band}-002583-2-0136.fits.bz2"
        let (object, frames) = try Self.placement(frameName: long, ra: 150, dec: 2)
        var config = CutoutConfiguration(frames: "/data", catalog: "/cat.csv", output: dir.path)
        config.size = 16
        #expect(StampTemplate(cards: stampCards(field: object.field, frames: frames, config: config), size: 16) == nil)
        let pixels = [Float](repeating: 1, count: 5 * 256)
        try pixels.withUnsafeBufferPointer { try writeStamp($0, object: object, frames: frames, masked: [0, 0, 0, 0, 0], config: config, to: dir.file("s.fits")) }
        let name = try FITSFile.withFile(dir.file("s.fits")) { file in
            try file.moveTo(hdu: 2)
            return try file.string("FRAME")
        }
        #expect(name == long.replacingOccurrences(of: "{band}", with: "g"))
    }

    /// An existing file is never overwritten (stamps go to fresh names in the staging folder).
    @Test func anExistingFileIsNotReplaced() throws {
        let dir = TemporaryDirectory()
        try Data("keep".utf8).write(to: URL(fileURLWithPath: dir.file("x.fits")))
        #expect(throws: PhotoZDataError.self) { try [UInt8]([1, 2, 3]).withUnsafeBytes { try writeNewFile($0, to: dir.file("x.fits")) } }
        #expect(try String(contentsOfFile: dir.file("x.fits"), encoding: .utf8) == "keep")
    }
}
