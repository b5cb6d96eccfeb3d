import Foundation
import Testing
@testable import PhotoZData

/// Inputs the fuzzers found (Fuzz/Regressions/<target>/), each once a crash, now an error.
@Suite struct FuzzRegressionTests {
    /// A shard whose dataset declares an extent beyond 2^63: `Int(hsize_t)` trapped in the
    /// HDF5 wrapper while reading the shape. Now opening it throws and validate reports it.
    @Test func aShardWithAnExtentBeyondInt64IsAnError() throws {
        let path = packageRoot + "/Fuzz/Regressions/shard/extent-beyond-int64.h5"
        #expect(throws: (any Error).self) { try Shard(path: path) }
        let report = validate(path: path)
        #expect(!report.isValid)
        // Today the metadata check reports it (libhdf5 cannot list the file's members, so "the
        // objects it cannot list were never checked"); what matters is a problem, not a trap.
        #expect(report.problems.contains { $0.contains("extent-beyond-int64.h5") && $0.contains("cannot") }, "\(report.problems)")
    }
}

/// Fuzz findings inside libhdf5 (Fuzz/Regressions/shard): the shard reader and `validate` report
/// them as errors; before the metadata check, `photoz inspect` died with SIGSEGV or looped.
@Suite struct LibHDF5FuzzRegressionTests {
    @Test(arguments: ["segfault-reading-attribute-inputs.h5", "loop-behind-unlistable-attributes.h5"])
    func aShardThatCrashedLibhdf5IsAnError(_ name: String) throws {
        let path = packageRoot + "/Fuzz/Regressions/shard/" + name
        do {
            _ = try Shard(path: path)
            Issue.record("opening \(name) did not throw")
        } catch {
            #expect("\(error)".contains(path) && "\(error)".contains("libhdf5 could not read this file's metadata"), "\(error)")
        }
        let report = validate(path: path)
        #expect(!report.isValid)
        #expect(report.problems.contains { $0.contains(name) && $0.contains("libhdf5 could not read this file's metadata") },
                "\(report.problems)")
    }
}

/// The catalog fuzzer's finding in cfitsio 4.2 (an abort in `ffgtbp` while moving to a table
/// whose header has a `TTYPE0` card): catalogs are now first read by cfitsio in a child process.
@Suite struct CatalogFuzzRegressionTests {
    /// A table with a `TTYPE0` card (column 0, which does not exist) among its column
    /// keywords: read without a crash, the card ignored. With Debian's cfitsio 4.2.0-3 a card
    /// written by hand does not abort in-process either (the fuzzer's input was not kept), so
    /// this test guards the outcome; UntrustedFileTests show the check turning crashes into errors.
    @Test func aCatalogWithATTYPE0CardIsReadWithoutACrash() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("ttype0.fits")
        _ = try runPython("""
            import sys, numpy as np
            from astropy.io import fits
            cols = [fits.Column(name=n, format=f, array=a) for n, f, a in [
                ('objID', 'K', np.arange(1, 4)), ('ra', 'D', np.zeros(3)), ('dec', 'D', np.zeros(3)),
                ('z', 'D', np.full(3, 0.1)), ('zErr', 'D', np.full(3, 1e-4)), ('ebv', 'D', np.full(3, 0.02))]]
            fits.BinTableHDU.from_columns(cols).writeto(sys.argv[1])
            raw = bytearray(open(sys.argv[1], 'rb').read())
            end = raw.find(b'END' + b' ' * 77, 2880)          # the table header's END card
            cards = b"TTYPE0  = 'phantom'".ljust(80) + b"TFORM0  = '1E'".ljust(80) + b'END'.ljust(80)
            raw[end:end + len(cards)] = cards
            open(sys.argv[1], 'wb').write(raw)
            """, arguments: [path])
        let catalog = try Catalog.read(path)
        #expect(catalog.entries.map(\.objectID) == [1, 2, 3])
    }
}
