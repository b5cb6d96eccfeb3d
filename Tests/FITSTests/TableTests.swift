import Foundation
import Testing
@testable import FITS

@Suite struct TableTests {
    static let columns = [
        FITSColumn(name: "object_id", data: .int64([1_237_648_720_693_755_918, -3, 0])),
        FITSColumn(name: "flags", data: .int32([1, Int32.min, Int32.max])),
        FITSColumn(name: "z_spec", unit: "redshift", data: .float32([0.1, 0.25, .nan])),
        FITSColumn(name: "ra", unit: "deg", data: .float64([323.26, 0, -1e-300])),
        FITSColumn(name: "band", data: .string(["r", "", "long name"])),
    ]

    @Test func binaryTableRoundTrips() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("catalog.fits")
        let file = try FITSFile.create(path)
        try file.createBinaryTable(name: "CATALOG", columns: Self.columns)
        #expect(file.currentHDU == 1)  // an empty primary was made first
        try file.createBinaryTable(name: "EMPTY", columns: [FITSColumn(name: "x", data: .float64([]))])
        try file.close()

        try FITSFile.withFile(path) { (file: FITSFile) throws in
            #expect(try file.hduCount() == 3)
            #expect(try file.moveTo(hdu: 1) == .binaryTable)
            #expect(try file.string("EXTNAME") == "CATALOG")
            #expect(try file.tableRowCount() == 3)
            #expect(try file.tableColumnNames() == Self.columns.map(\.name))
            #expect(try file.string("TFORM1") == "K" && file.string("TFORM2") == "J" && file.string("TFORM5") == "9A")
            #expect(try file.string("TUNIT4") == "deg")
            #expect(try file.readColumn("object_id") == Self.columns[0].data)
            #expect(try file.readColumn("FLAGS") == .int64([1, Int64(Int32.min), Int64(Int32.max)]))  // case-insensitive, int64
            guard case .float32(let z) = try file.readColumn("Z_Spec") else { Issue.record("z_spec not float32"); return }
            #expect(z[0] == 0.1 && z[1] == 0.25 && z[2].isNaN)
            #expect(try file.readColumn("ra") == Self.columns[3].data)
            #expect(try file.readColumn("band") == Self.columns[4].data)
            #expect(try file.columnRepeat("band") == 9)
            try file.moveTo(extname: "EMPTY")
            #expect(try file.tableRowCount() == 0)
            #expect(try file.readColumn("x") == .float64([]))
        }
    }

    /// A missing column throws, and the message lists the columns that exist.
    @Test func missingColumnListsColumns() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("catalog.fits")
        let file = try FITSFile.create(path)
        try file.createBinaryTable(name: "CATALOG", columns: Self.columns)
        let error = #expect(throws: FITSError.self) { try file.readColumn("zspec") }
        #expect(error?.description == "\(path), HDU 1: cannot read column zspec (readColumn): no column named 'zspec'; "
                + "the table has 5 columns: object_id, flags, z_spec, ra, band")
        #expect(error?.status == 0)
    }

    /// Logical, unsigned and vector columns crafted with astropy read as documented.
    @Test func logicalUnsignedAndVectorColumns() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("kinds.fits")
        try runPython("""
            import sys, numpy as np
            from astropy.io import fits
            cols = [fits.Column(name='ok', format='L', array=np.array([True, False, True])),
                    fits.Column(name='u16', format='I', bzero=32768, array=np.array([0, 40000, 65535], dtype=np.uint16)),
                    fits.Column(name='b', format='B', array=np.array([0, 7, 255], dtype=np.uint8)),
                    fits.Column(name='flux', format='5E', array=np.arange(15, dtype=np.float32).reshape(3, 5))]
            fits.BinTableHDU.from_columns(cols, name='KINDS').writeto(sys.argv[1])
            """, [path])
        try FITSFile.withFile(path) { (file: FITSFile) throws in
            try file.moveTo(extname: "KINDS")
            #expect(try file.readColumn("ok") == .int64([1, 0, 1]))
            #expect(try file.readColumn("u16") == .int64([0, 40000, 65535]))
            #expect(try file.readColumn("b") == .int64([0, 7, 255]))
            #expect(try file.columnRepeat("flux") == 5)
            #expect(try file.readColumn("flux") == .float32((0..<15).map(Float.init)))
        }
    }
}
