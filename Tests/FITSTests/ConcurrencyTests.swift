import Foundation
import Synchronization
import Testing
@testable import FITS

@Suite struct ConcurrencyTests {
    /// Debian's cfitsio is built thread-safe, which is why the FITS module takes no lock.
    @Test func cfitsioIsReentrant() {
        #expect(CFITSIO.isReentrant)
        #expect(CFITSIO.version >= 4)
    }

    /// Two threads reading different 5-band cutout files at once get exactly the pixels written.
    @Test func distinctFilesReadConcurrently() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let paths = [folder.path("a.fits"), folder.path("b.fits")]
        for (index, path) in paths.enumerated() { try writeCutout(path, seed: index) }
        let expected = (0..<2).map { seed in (1...5).map { expectedPixels(seed: seed, band: $0) } }
        let mismatches = Mutex(0)
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { thread in
            var buffer = [Float](repeating: 0, count: 64 * 64)
            for _ in 0..<150 {
                do {
                    try FITSFile.withFile(paths[thread]) { (file: FITSFile) throws in
                        for band in 1...5 {
                            try file.moveTo(hdu: band)
                            try buffer.withUnsafeMutableBufferPointer { try file.readImage(into: $0) }
                            if buffer != expected[thread][band - 1] { mismatches.withLock { $0 += 1 } }
                        }
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(mismatches.withLock { $0 } == 0)
    }
}

/// The pixels of band `band` of cutout `seed`.
func expectedPixels(seed: Int, band: Int) -> [Float] {
    (0..<(64 * 64)).map { Float(($0 * (band + 3) + seed * 977) % 4099) * 0.01 - 5 }
}

/// A 5-band 64×64 MEF cutout as ingest reads them: empty primary, one image HDU per band.
func writeCutout(_ path: String, seed: Int) throws {
    let file = try FITSFile.create(path, overwrite: true)
    try file.createImage(shape: [])
    for (index, band) in ["u", "g", "r", "i", "z"].enumerated() {
        try file.createImage(shape: [64, 64])
        try file.write("EXTNAME", .string(band))
        try file.write("BUNIT", .string("nanomaggy"))
        try file.writeImage(expectedPixels(seed: seed, band: index + 1))
    }
    try file.close()
}

/// Opt-in benchmark (timing depends on the machine and its load, so it is not run by default;
/// set PHOTOZ_BENCH=1 and build in release): reads of 5-band 64×64 cutouts per second.
@Test(.enabled(if: ProcessInfo.processInfo.environment["PHOTOZ_BENCH"] != nil))
func cutoutReadThroughput() throws {
    let folder = try TemporaryFolder()
    defer { folder.cleanup() }
    let paths = (0..<200).map { folder.path("c\($0).fits") }
    for (index, path) in paths.enumerated() { try writeCutout(path, seed: index) }
    var buffer = [Float](repeating: 0, count: 5 * 64 * 64)
    let rounds = 20
    let start = ContinuousClock.now
    for _ in 0..<rounds {
        for path in paths {
            let file = try FITSFile.open(path)
            try buffer.withUnsafeMutableBufferPointer { all in
                for band in 0..<5 {
                    try file.moveTo(hdu: band + 1)
                    try file.readImage(into: UnsafeMutableBufferPointer(rebasing: all[(band * 4096)..<((band + 1) * 4096)]))
                }
            }
            try file.close()
        }
    }
    let seconds = (ContinuousClock.now - start) / .seconds(1)
    let rate = Double(rounds * paths.count) / seconds
    print("FITS benchmark: \(Int(rate)) five-band 64x64 cutout files/s on one thread")
    #expect(rate > 1000)
}
