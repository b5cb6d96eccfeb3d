import Foundation
import HDF5
import Testing

@Suite struct GroupTests {
    @Test func groupsNestAndListTheirMembers() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        let file = try HDF5File.create(path)
        let model = try file.root.createGroup("model")
        #expect(model.path == "/model")
        let deep = try file.root.createGroup("history/epochs")  // missing parents are created
        #expect(deep.path == "/history/epochs")
        _ = try model.createDataset("conv0.weight", of: Float.self, shape: [2, 3])
        _ = try model.createGroup("optimizer")
        try file.close()

        let reopened = try HDF5File.open(path)
        #expect(try reopened.root.memberNames() == ["history", "model"])
        let group = try reopened.root.group("model")
        #expect(try group.memberNames() == ["conv0.weight", "optimizer"])
        #expect(try group.isDataset("conv0.weight"))
        #expect(try !group.isDataset("optimizer"))
        #expect(group.contains("optimizer"))
        #expect(!group.contains("missing"))
        #expect(reopened.root.contains("model/conv0.weight"))
        #expect(!reopened.root.contains("model/conv0.weight/deeper"))
        #expect(try reopened.root.group("history").group("epochs").path == "/history/epochs")
    }

    @Test func missingObjectsAreNamedWithTheMembersThatExist() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let file = try HDF5File.create(folder.path("a.h5"))
        _ = try file.root.createDataset("images", of: Float.self, shape: [1])
        let error = expectHDF5Error { _ = try file.root.dataset("imgs") }
        #expect(error?.object == "/imgs")
        #expect(error?.description.contains("no dataset 'imgs' in group '/'") == true)
        #expect(error?.message.contains("images") == true)
        expectHDF5Error { _ = try file.root.group("nothing") }
        expectHDF5Error { _ = try file.root.isDataset("nothing") }
    }

    @Test func creatingAnExistingNameFails() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let file = try HDF5File.create(folder.path("a.h5"))
        _ = try file.root.createGroup("g")
        let error = expectHDF5Error { _ = try file.root.createDataset("g", of: Int8.self, shape: [1]) }
        #expect(error?.message.contains("exists already") == true)
        expectHDF5Error { _ = try file.root.createGroup("g") }
        expectHDF5Error { _ = try file.root.createStringDataset("g", values: []) }
    }

    @Test func openingADatasetAsAGroupCarriesHDF5sMessage() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let file = try HDF5File.create(folder.path("a.h5"))
        _ = try file.root.createDataset("x", of: Int8.self, shape: [1])
        let error = expectHDF5Error { _ = try file.root.group("x") }
        #expect(error?.function == "H5Gopen2")
        #expect(error?.message.contains("H5Gopen2()") == true, "the walked stack names the API call")
    }
}
