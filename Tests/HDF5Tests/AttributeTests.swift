import Foundation
import HDF5
import Testing

@Suite struct AttributeTests {
    let values: [String: HDF5AttributeValue] = [
        "schema": .string("photoz-shard"),
        "unicode": .string("ε = 0.01 — ✓"),
        "empty_string": .string(""),
        "bands": .strings(["u", "g", "r", "i", "z"]),
        "no_strings": .strings([]),
        "version": .int64(3),
        "seeds": .int64s([1, -2, .max]),
        "no_ints": .int64s([]),
        "pixel_scale": .double(0.396),
        "edges": .doubles([0, 0.5, 1e-300, -.infinity]),
    ]

    @Test func everyKindRoundTripsOnGroupsAndDatasets() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        let file = try HDF5File.create(path)
        let data = try file.root.createDataset("x", of: Float.self, shape: [1])
        let holders: [any HDF5AttributeHolder] = [file.root, try file.root.createGroup("g"), data]
        for holder in holders {
            for (name, value) in values { try holder.setAttribute(name, value) }
        }
        try file.close()

        let reopened = try HDF5File.open(path)
        let read: [any HDF5AttributeHolder] = [reopened.root, try reopened.root.group("g"), try reopened.root.dataset("x")]
        for holder in read {
            #expect(try holder.attributeNames() == values.keys.sorted())
            for (name, value) in values { #expect(try holder.attribute(name) == value, "\(name)") }
            #expect(try holder.attribute("absent") == nil)
        }
    }

    @Test func settingAgainReplacesTheValueAndItsType() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let file = try HDF5File.create(folder.path("a.h5"))
        try file.root.setAttribute("epoch", .int64(1))
        try file.root.setAttribute("epoch", .string("done"))
        #expect(try file.root.attribute("epoch") == .string("done"))
        #expect(try file.root.attributeNames() == ["epoch"])
    }

    @Test func accessorsGiveTheValueOfTheRightKind() {
        #expect(HDF5AttributeValue.string("a").stringValue == "a")
        #expect(HDF5AttributeValue.string("a").stringsValue == ["a"])
        #expect(HDF5AttributeValue.int64(2).doubleValue == 2)
        #expect(HDF5AttributeValue.int64s([1, 2]).doublesValue == [1, 2])
        #expect(HDF5AttributeValue.double(2).int64Value == nil)
        #expect(HDF5AttributeValue.doubles([1]).stringValue == nil)
    }
}
