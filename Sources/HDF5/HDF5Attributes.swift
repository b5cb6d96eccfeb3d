// Attributes of groups and datasets: one implementation, shared by both.

/// An object that carries attributes: `HDF5Group` (the root group too) and `HDF5Dataset`.
public protocol HDF5AttributeHolder: AnyObject, Sendable {
    /// Creates attribute `name`, replacing an existing one of that name.
    ///
    /// Strings are variable-length UTF-8 (h5py reads them as `str`); numbers are 0-d scalars
    /// or 1-D arrays of int64 or float64.
    func setAttribute(_ name: String, _ value: HDF5AttributeValue) throws
    /// The value of attribute `name`, or nil when there is none of that name.
    ///
    /// Reads fixed- and variable-length strings, any integer type as `int64` and any float
    /// type as `double`; other types throw.
    func attribute(_ name: String) throws -> HDF5AttributeValue?
    /// The names of all attributes, in name order.
    func attributeNames() throws -> [String]
}

/// The attribute operations on one object handle (the code behind both conformances).
struct HDF5AttributeAccess {
    let file: HDF5File
    let handle: HDF5Handle
    let site: HDF5Site

    func set(_ name: String, _ value: HDF5AttributeValue) throws {
        try file.whileOpen(site, "setAttribute") { try H5.writeAttribute(handle, name, value, site) }
    }

    func get(_ name: String) throws -> HDF5AttributeValue? {
        try file.whileOpen(site, "attribute") { try H5.readAttribute(handle, name, site) }
    }

    func names() throws -> [String] {
        try file.whileOpen(site, "attributeNames") { try H5.attributeNames(handle, site) }
    }
}

extension HDF5Group: HDF5AttributeHolder {
    private var attributes: HDF5AttributeAccess { HDF5AttributeAccess(file: file, handle: handle, site: site) }

    /// Creates attribute `name`, replacing an existing one. The C functions are `H5Adelete`, `H5Acreate2`, `H5Awrite`.
    public func setAttribute(_ name: String, _ value: HDF5AttributeValue) throws { try attributes.set(name, value) }
    /// The value of attribute `name`, or nil when absent. The C functions are `H5Aopen`, `H5Aread`.
    public func attribute(_ name: String) throws -> HDF5AttributeValue? { try attributes.get(name) }
    /// The names of all attributes. The C function is `H5Aiterate2`.
    public func attributeNames() throws -> [String] { try attributes.names() }
}

extension HDF5Dataset: HDF5AttributeHolder {
    private var attributes: HDF5AttributeAccess { HDF5AttributeAccess(file: file, handle: handle, site: site) }

    /// Creates attribute `name`, replacing an existing one. The C functions are `H5Adelete`, `H5Acreate2`, `H5Awrite`.
    public func setAttribute(_ name: String, _ value: HDF5AttributeValue) throws { try attributes.set(name, value) }
    /// The value of attribute `name`, or nil when absent. The C functions are `H5Aopen`, `H5Aread`.
    public func attribute(_ name: String) throws -> HDF5AttributeValue? { try attributes.get(name) }
    /// The names of all attributes. The C function is `H5Aiterate2`.
    public func attributeNames() throws -> [String] { try attributes.names() }
}
