// HDF5Group: a group of an HDF5 file (the root `/` too): members, child groups, datasets.

/// A group inside an HDF5 file: it holds groups, datasets and attributes.
///
/// Names may be paths relative to the group (`"a/b"`); creating creates missing parents.
public final class HDF5Group: @unchecked Sendable {
    let file: HDF5File
    let handle: HDF5Handle
    /// The group's path inside the file (`"/"` for the root).
    public let path: String

    init(file: HDF5File, handle: HDF5Handle, path: String) {
        self.file = file
        self.handle = handle
        self.path = path
    }

    var site: HDF5Site { HDF5Site(file: file.path, object: path) }

    /// Creates a child group (and missing parents). The corresponding C function is `H5Gcreate2`.
    public func createGroup(_ name: String) throws -> HDF5Group {
        let site = self.site.at(joinPath(path, name))
        return try file.whileOpen(site, "createGroup") {
            try requireAbsent(name, site)
            return HDF5Group(file: file, handle: try H5.createGroup(handle, name, site), path: site.object!)
        }
    }

    /// Opens a child group. The corresponding C function is `H5Gopen2`.
    public func group(_ name: String) throws -> HDF5Group {
        let site = self.site.at(joinPath(path, name))
        return try file.whileOpen(site, "group") {
            try requirePresent(name, "group", site)
            return HDF5Group(file: file, handle: try H5.openGroup(handle, name, site), path: site.object!)
        }
    }

    /// Whether a link of that name (or path) exists; false once the file is closed.
    ///
    /// The corresponding C function is `H5Lexists`.
    public func contains(_ name: String) -> Bool {
        H5.locked { file.state.isOpen && H5.linkExists(handle, name) }
    }

    /// The names of the group's members, in name order.
    ///
    /// The corresponding C functions are `H5Gget_info` and `H5Lget_name_by_idx`.
    public func memberNames() throws -> [String] {
        try file.whileOpen(site, "memberNames") { try H5.memberNames(handle, site) }
    }

    /// Whether member `name` is a dataset (false for groups and other objects; throws when absent).
    public func isDataset(_ name: String) throws -> Bool {
        let site = self.site.at(joinPath(path, name))
        return try file.whileOpen(site, "isDataset") {
            try requirePresent(name, "object", site)
            return try H5.isDataset(handle, name, site)
        }
    }

    /// Opens dataset `name`. The corresponding C function is `H5Dopen2`.
    public func dataset(_ name: String) throws -> HDF5Dataset {
        let site = self.site.at(joinPath(path, name))
        return try file.whileOpen(site, "dataset") {
            try requirePresent(name, "dataset", site)
            return HDF5Dataset(file: file, handle: try H5.openDataset(handle, name, site), path: site.object!)
        }
    }

    /// Creates a 1-D dataset of variable-length UTF-8 strings holding `values`.
    ///
    /// h5py reads it as an object array of `str` (or `bytes` in h5py 2). The corresponding C
    /// functions are `H5Dcreate2` and `H5Dwrite`.
    public func createStringDataset(_ name: String, values: [String]) throws -> HDF5Dataset {
        let site = self.site.at(joinPath(path, name))
        return try file.whileOpen(site, "createStringDataset") {
            try requireAbsent(name, site)
            return HDF5Dataset(file: file, handle: try H5.createStringDataset(handle, name, values, site), path: site.object!)
        }
    }

    /// Throws a clear error naming the missing object and the group's members.
    func requirePresent(_ name: String, _ kind: String, _ site: HDF5Site) throws {
        guard !H5.linkExists(handle, name) else { return }
        let members = (try? H5.memberNames(handle, self.site)) ?? []
        let listed = members.prefix(12).joined(separator: ", ") + (members.count > 12 ? ", …" : "")
        throw site.error(kind, "no \(kind) '\(name)' in group '\(path)'",
                         members.isEmpty ? "the group is empty" : "its members are: \(listed)")
    }

    /// Throws when an object of that name exists already.
    func requireAbsent(_ name: String, _ site: HDF5Site) throws {
        guard H5.linkExists(handle, name) else { return }
        throw site.error("create", "cannot create '\(name)' in group '\(path)'", "an object of that name exists already")
    }
}
