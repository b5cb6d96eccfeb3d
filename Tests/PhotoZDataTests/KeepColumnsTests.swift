import Foundation
import Testing
@testable import PhotoZData

/// `--keep-columns`: more catalog columns stored as per-row columns (`catalog/NAME`), typed,
/// read by h5py, listed by inspect, carried by select/split/merge and written by table.
@Suite struct KeepColumnsTests {
    /// Ids 1…8 with a magnitude (one missing), integer flags and a class text (one empty).
    private func dataSet(_ dir: TemporaryDirectory, keep: KeptColumns) throws -> (String, IngestSummary) {
        let cutouts = dir.file("cutouts")
        try FileManager.default.createDirectory(atPath: cutouts, withIntermediateDirectories: true)
        var text = "objID,ra,dec,z,zErr,ebv,petroMag_r,flags,class,note\n"
        let classes = ["GALAXY", "QSO", "GALAXY", "", "STAR", "GALAXY", "QSO", "GALAXY"]
        for id in 1...8 {
            try CutoutFactory.write(id: Int64(id), layout: .mef, size: 16, into: cutouts)
            let mag = id == 3 ? "" : String(format: "%.3f", 16 + Double(id) * 0.25)
            text += "\(id),150.\(id),2.\(id),0.\(id),0.0001,0.02,\(mag),\(1 << id),\(classes[id - 1]),n\(id)\n"
        }
        try text.write(toFile: dir.file("c.csv"), atomically: true, encoding: .utf8)
        var config = testConfig(dir.file("c.csv"), cutouts, dir.file("shards"))
        config.keepColumns = keep
        return (dir.file("shards"), try ingest(config))
    }

    @Test func keptColumnsAreStoredTypedAndReadByH5py() throws {
        let dir = TemporaryDirectory()
        let (out, _) = try dataSet(dir, keep: .named(["petroMag_r", "flags", "class"]))
        #expect(validate(path: out).isValid, "\(validate(path: out).problems)")
        let inspection = try inspectShards(path: out, maxPixelRows: 1)
        #expect(inspection.optionalColumns == ["labelled", "wcs", "catalog/class", "catalog/flags", "catalog/petroMag_r"])  // name order
        let reader = try DataSetReader(path: out)
        #expect(reader.catalogColumns.map(\.catalogName) == ["class", "flags", "petroMag_r"])
        let read = try runPython("""
        import sys, glob, h5py, numpy as np
        rows = {}
        for path in sorted(glob.glob(sys.argv[1] + '/*.h5')):
            with h5py.File(path) as f:
                cats = [c.decode() if isinstance(c, bytes) else c for c in f['catalog/class'].attrs['categories']]
                for i, m, fl, c in zip(f['object_id'][:], f['catalog/petroMag_r'][:], f['catalog/flags'][:], f['catalog/class'][:]):
                    rows[int(i)] = (m, int(fl), cats[c] if c >= 0 else '-', f['catalog/flags'].dtype.str, f['catalog/petroMag_r'].dtype.str)
        for i in sorted(rows): print(i, *rows[i])
        """, arguments: [out])
        let lines = read.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.count == 8)
        #expect(lines[0] == ["1", "16.25", "2", "GALAXY", "<i8", "<f8"])
        #expect(lines[2][1] == "nan" && lines[3][3] == "-")  // a missing magnitude is NaN, an empty class code -1
        #expect(lines[4][3] == "STAR" && lines[6][2] == "128")
    }

    @Test func keptColumnsAreCarriedBySelectAndWrittenByTable() throws {
        let dir = TemporaryDirectory()
        let (out, _) = try dataSet(dir, keep: .all)
        let reader = try DataSetReader(path: out)
        // `all`: every column not already stored (note is text, kept as codes too).
        #expect(reader.catalogColumns.map(\.catalogName) == ["class", "flags", "note", "petroMag_r"])
        var select = SelectConfiguration(data: out, out: dir.file("some"))
        select.condition = "object_id >= 5"
        #expect(try selectRows(select).written == 4)
        let selected = try DataSetReader(path: dir.file("some"))
        #expect(selected.catalogColumns == reader.catalogColumns)
        var table = TableConfiguration(data: dir.file("some"), out: dir.file("t.csv"))
        table.format = .csv
        try exportTable(table)
        let csv = try String(contentsOfFile: dir.file("t.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv[0] == "object_id,ra,dec,z_spec,z_spec_err,ebv,labelled,class,flags,note,petroMag_r,split")
        let byID = Dictionary(uniqueKeysWithValues: csv.dropFirst().map { line in (line.split(separator: ",")[0], line) })
        #expect(byID["5"]?.contains(",STAR,32,n5,17.25,") == true, "\(byID)")
    }

    @Test func selectConditionsUseKeptCatalogColumnsByEitherNameAndTextByValue() throws {
        let dir = TemporaryDirectory()
        let (out, _) = try dataSet(dir, keep: .named(["petroMag_r", "flags", "class"]))
        func selected(_ condition: String) throws -> [Int64] {
            let target = dir.file("sel-\(UUID().uuidString)")
            var select = SelectConfiguration(data: out, out: target)
            select.condition = condition
            _ = try selectRows(select)
            return try ManagementTests.contents(target).keys.sorted()
        }
        // petroMag_r = 16 + id/4 (id 3 missing: NaN compares false); classes as in `dataSet`.
        #expect(try selected("catalog/petroMag_r < 17.1") == [1, 2, 4])
        #expect(try selected("petroMag_r >= 17.5 and class == 'GALAXY'") == [6, 8])
        #expect(try selected("class != \"GALAXY\" and flags > 8") == [4, 5, 7])  // id 4's class is empty: not GALAXY
        #expect(try selected("PETROMAG_R > 17.9") == [8])  // a name that differs only in case
        func message(_ condition: String) -> String {
            var select = SelectConfiguration(data: out, out: dir.file("never"))
            select.condition = condition
            do { _ = try selectRows(select); return "" } catch { return "\(error)" }
        }
        #expect(message("class == 'GALAXIES'").contains("one of the values of class: \"GALAXY\", \"QSO\", \"STAR\""))
        #expect(message("class < 'QSO'").contains("'==' or '!='"))
        #expect(message("class == 3").contains("a quoted value: class holds text"))
        #expect(message("petroMag < 17").contains("catalog columns of this data set: class, flags, petroMag_r"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("never")), "a refused condition writes nothing")
    }

    @Test func unusableOrMissingNamedColumnsAreRefusedNamingThem() throws {
        let dir = TemporaryDirectory()
        #expect(throws: CatalogColumnError.self) { _ = try dataSet(dir, keep: .named(["petroMag_z"])) }
        let error = try #require(throws: CatalogColumnError.self) { _ = try self.dataSet(TemporaryDirectory(), keep: .named(["petroMag_z"])) }
        #expect(error.role == .kept && error.description.contains("petroMag_z") && error.description.contains("columns found"))
    }
}
