// The only file that calls libhdf5. Every call runs under one process-wide lock (serial HDF5
// is not thread-safe), every return value is checked here, and a failure becomes an
// `HDF5Error` carrying the walked HDF5 error stack, the file path and the object path.
import CHDF5
import CIsolatedCheck
import Foundation

/// The open/closed state of one HDF5 file, shared by every handle inside it (guarded by the lock).
final class HDF5FileState: @unchecked Sendable {
    var isOpen = true
}

/// The single owner of one HDF5 identifier; `deinit` closes it under the lock.
///
/// Handles of objects inside a file (groups, datasets, attributes) skip the close once the file
/// was closed: the file was opened with `H5F_CLOSE_STRONG`, so `H5Fclose` closed them already.
final class HDF5Handle: @unchecked Sendable {
    enum Kind { case file, group, dataset, attribute, dataspace, datatype, propertyList, object }
    let id: hid_t
    let kind: Kind
    let file: HDF5FileState?

    init(_ id: hid_t, _ kind: Kind, file: HDF5FileState? = nil) {
        self.id = id
        self.kind = kind
        self.file = file
    }

    deinit {
        H5.locked {
            if let file, !file.isOpen { return }
            let status: herr_t
            switch kind {
            case .file: status = H5Fclose(id); file?.isOpen = false
            case .group: status = H5Gclose(id)
            case .dataset: status = H5Dclose(id)
            case .attribute: status = H5Aclose(id)
            case .dataspace: status = H5Sclose(id)
            case .datatype: status = H5Tclose(id)
            case .propertyList: status = H5Pclose(id)
            case .object: status = H5Oclose(id)
            }
            if status < 0 { H5Eclear2(photoz_H5E_DEFAULT()) }  // deinit cannot report; drop the stack
        }
    }
}

/// A filter of a dataset's pipeline as HDF5 reports it.
struct HDF5Filter: Sendable, Equatable {
    var id: Int
    var name: String
    var values: [UInt32]
}

/// The libhdf5 calls of this module, each checked; all run under `H5.lock`.
enum H5 {
    /// Serializes every libhdf5 call of the process (recursive: operations nest). Created before
    /// the first libhdf5 call, it also turns off libhdf5's exit handler: after a write failed
    /// (a full disk), `H5Fclose` fails and leaves the file half-closed, and the handler closing
    /// it again at exit crashed the process (SIGSEGV in `H5F__close_cb`) after the error was
    /// reported. photoz closes every file it opens itself.
    private static let lock: NSRecursiveLock = {
        _ = H5dont_atexit()
        return NSRecursiveLock()
    }()
    /// Marks the threads on which HDF5's automatic error printing was silenced. Debian's libhdf5
    /// is built thread-safe, which keeps error stacks and their printing per thread.
    private static let silencedKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "HDF5: cannot create a thread-specific key")
        return key
    }()

    /// Runs `body` holding the process-wide HDF5 lock, on a thread whose error printing is silenced.
    static func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        if pthread_getspecific(silencedKey) == nil {
            _ = H5Eset_auto2(photoz_H5E_DEFAULT(), nil, nil)
            pthread_setspecific(silencedKey, UnsafeRawPointer(bitPattern: 1))
        }
        return try body()
    }

    // MARK: Files not yet checked

    /// Walks the metadata of the file at `site` with libhdf5 in a forked child process (once per
    /// file identity and process), and throws when libhdf5 crashed, hung or met an external link
    /// there. The child is forked holding `lock`, so no other thread of this process is inside
    /// libhdf5 at that instant. The C function is `photoz_check_file` (Sources/CIsolatedCheck).
    static func checkInChildProcess(_ site: HDF5Site) throws {
        let result = photoz_check_file(PHOTOZ_CHECK_HDF5, site.file, 30, { H5.lock.lock() }, { H5.lock.unlock() })
        switch result.outcome {
        case PHOTOZ_CHECK_PASSED, PHOTOZ_CHECK_DISABLED: return
        default:
            var text = [CChar](repeating: 0, count: 1024)
            photoz_check_explain(result, "libhdf5", &text, UInt(text.count))
            let advice: String
            switch result.outcome {
            case PHOTOZ_CHECK_EXTERNAL_LINK:
                advice = "photoz reads only self-contained files: copy the linked data into the file (h5py: f.copy) or read the other file directly"
            case PHOTOZ_CHECK_NOT_RUN:
                advice = "free memory or processes and try again; for files you trust, PHOTOZ_METADATA_CHECK=off skips the check"
            default:
                advice = "the file is corrupt or was not written by HDF5, so photoz did not open it; get a fresh copy "
                    + "(or write it again with the program that made it). On a very slow disk, "
                    + "PHOTOZ_METADATA_CHECK_TIMEOUT=SECONDS (default 30) gives the check more time"
            }
            throw site.error("metadata check", "libhdf5 could not read this file's metadata",
                             String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "; " + advice)
        }
    }

    /// Records a file this process wrote and closed itself, so that opening it again skips the check.
    static func trustWrittenFile(_ path: String) {
        photoz_check_trust(PHOTOZ_CHECK_HDF5, path)
    }

    // MARK: Errors

    /// The current HDF5 error stack as text (outermost call first), then cleared.
    static func takeErrorStack() -> String {
        final class Frames { var items: [(function: String, text: String, minor: hid_t)] = [] }
        let frames = Frames()
        _ = H5Ewalk2(photoz_H5E_DEFAULT(), H5E_WALK_DOWNWARD, { _, entry, data in
            guard let entry, let data else { return 0 }
            let frames = Unmanaged<Frames>.fromOpaque(data).takeUnretainedValue()
            let e = entry.pointee
            frames.items.append((e.func_name.map { String(cString: $0) } ?? "?",
                                 e.desc.map { String(cString: $0) } ?? "", e.min_num))
            return 0
        }, Unmanaged.passUnretained(frames).toOpaque())
        H5Eclear2(photoz_H5E_DEFAULT())
        guard let last = frames.items.last else { return "no HDF5 error message" }
        var text = frames.items.map { "\($0.function)(): \($0.text)" }.joined(separator: " > ")
            .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        var buffer = [CChar](repeating: 0, count: 256)
        if H5Eget_msg(last.minor, nil, &buffer, buffer.count) > 0 {
            text += " [\(String(cString: buffer))]"
        }
        H5Eclear2(photoz_H5E_DEFAULT())
        return text
    }

    private static func fail(_ function: String, _ summary: String, _ site: HDF5Site) -> HDF5Error {
        HDF5Error(function: function, path: site.file, object: site.object, summary: summary,
                  message: takeErrorStack())
    }

    /// Throws unless `status` is non-negative (herr_t, htri_t, ssize_t, hid_t all signal failure < 0).
    private static func check<S: BinaryInteger>(_ status: S, _ function: String, _ summary: String,
                                                _ site: HDF5Site) throws {
        if status < 0 { throw fail(function, summary, site) }
    }

    /// Returns `value` (a count, size, rank or boolean) unless it signals failure (< 0).
    private static func checked<S: BinaryInteger>(_ value: S, _ function: String, _ summary: String,
                                                  _ site: HDF5Site) throws -> S {
        if value < 0 { throw fail(function, summary, site) }
        return value
    }

    /// Wraps a new identifier in its owner, or throws when HDF5 returned a failure.
    private static func own(_ id: hid_t, _ kind: HDF5Handle.Kind, _ function: String, _ summary: String,
                            _ site: HDF5Site, file: HDF5FileState? = nil) throws -> HDF5Handle {
        try check(id, function, summary, site)
        return HDF5Handle(id, kind, file: file)
    }

    // MARK: Files

    /// Creates a file; `truncate` replaces an existing one, otherwise creating fails if it exists.
    static func createFile(_ path: String, truncate: Bool, state: HDF5FileState) throws -> HDF5Handle {
        try locked {
            let site = HDF5Site(file: path)
            let fapl = try strongCloseAccessList(site)
            let flags = truncate ? photoz_H5F_ACC_TRUNC() : photoz_H5F_ACC_EXCL()
            let id = H5Fcreate(path, flags, photoz_H5P_DEFAULT(), fapl.id)
            if id < 0 { throw fail("H5Fcreate", "cannot create file", site).namingALock() }
            return HDF5Handle(id, .file, file: state)
        }
    }

    /// Opens an existing file read-only or read-write.
    static func openFile(_ path: String, readOnly: Bool, state: HDF5FileState) throws -> HDF5Handle {
        try locked {
            let site = HDF5Site(file: path)
            let fapl = try strongCloseAccessList(site)
            let flags = readOnly ? photoz_H5F_ACC_RDONLY() : photoz_H5F_ACC_RDWR()
            let id = H5Fopen(path, flags, fapl.id)
            if id < 0 { throw fail("H5Fopen", "cannot open file (is it truncated or damaged?)", site).namingALock() }
            return HDF5Handle(id, .file, file: state)
        }
    }

    /// A file access list whose close also closes every object still open in the file.
    private static func strongCloseAccessList(_ site: HDF5Site) throws -> HDF5Handle {
        let fapl = try own(H5Pcreate(photoz_H5P_FILE_ACCESS()), .propertyList, "H5Pcreate", "cannot create file access list", site)
        try check(H5Pset_fclose_degree(fapl.id, H5F_CLOSE_STRONG), "H5Pset_fclose_degree", "cannot set close degree", site)
        return fapl
    }

    /// Flushes the file's buffers to disk. The C function is `H5Fflush`.
    static func flush(_ file: HDF5Handle, _ site: HDF5Site) throws {
        try locked { try check(H5Fflush(file.id, H5F_SCOPE_GLOBAL), "H5Fflush", "cannot flush file", site) }
    }

    /// Closes the file and (strong close degree) every object open in it. The C function is `H5Fclose`.
    static func closeFile(_ file: HDF5Handle, _ site: HDF5Site) throws {
        try locked {
            guard let state = file.file, state.isOpen else { return }
            state.isOpen = false
            try check(H5Fclose(file.id), "H5Fclose", "cannot close file", site)
        }
    }

    // MARK: Groups and links

    /// A link creation list that creates missing intermediate groups ("a/b/c").
    private static func intermediateGroupsList(_ site: HDF5Site) throws -> HDF5Handle {
        let lcpl = try own(H5Pcreate(photoz_H5P_LINK_CREATE()), .propertyList, "H5Pcreate", "cannot create link list", site)
        try check(H5Pset_create_intermediate_group(lcpl.id, 1), "H5Pset_create_intermediate_group",
                  "cannot set intermediate group creation", site)
        return lcpl
    }

    /// Creates a group (and missing parents). The C function is `H5Gcreate2`.
    static func createGroup(_ loc: HDF5Handle, _ name: String, _ site: HDF5Site) throws -> HDF5Handle {
        try locked {
            let lcpl = try intermediateGroupsList(site)
            return try own(H5Gcreate2(loc.id, name, lcpl.id, photoz_H5P_DEFAULT(), photoz_H5P_DEFAULT()),
                           .group, "H5Gcreate2", "cannot create group", site, file: loc.file)
        }
    }

    /// Opens a group. The C function is `H5Gopen2`.
    static func openGroup(_ loc: HDF5Handle, _ name: String, _ site: HDF5Site) throws -> HDF5Handle {
        try locked {
            try own(H5Gopen2(loc.id, name, photoz_H5P_DEFAULT()), .group, "H5Gopen2", "cannot open group", site, file: loc.file)
        }
    }

    /// Whether a link `name` (possibly "a/b/c") exists; false on any error. The C function is `H5Lexists`.
    static func linkExists(_ loc: HDF5Handle, _ name: String) -> Bool {
        guard !name.isEmpty else { return false }
        return locked {
            var prefix = name.hasPrefix("/") ? "/" : ""
            for part in name.split(separator: "/") {
                prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + part
                if H5Lexists(loc.id, prefix, photoz_H5P_DEFAULT()) <= 0 {
                    H5Eclear2(photoz_H5E_DEFAULT())
                    return false
                }
            }
            return true
        }
    }

    /// The names of a group's members in name order. The C functions are `H5Gget_info`, `H5Lget_name_by_idx`.
    static func memberNames(_ loc: HDF5Handle, _ site: HDF5Site) throws -> [String] {
        try locked {
            var info = H5G_info_t()
            try check(H5Gget_info(loc.id, &info), "H5Gget_info", "cannot list group", site)
            return try (0..<info.nlinks).map { index in
                let size = try checked(H5Lget_name_by_idx(loc.id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0,
                                                        photoz_H5P_DEFAULT()), "H5Lget_name_by_idx", "cannot list group", site)
                var name = [CChar](repeating: 0, count: Int(size) + 1)
                try check(H5Lget_name_by_idx(loc.id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &name, name.count,
                                             photoz_H5P_DEFAULT()), "H5Lget_name_by_idx", "cannot list group", site)
                return String(cString: name)
            }
        }
    }

    /// Whether the object at `name` is a dataset. The C functions are `H5Oopen`, `H5Iget_type`.
    static func isDataset(_ loc: HDF5Handle, _ name: String, _ site: HDF5Site) throws -> Bool {
        try locked {
            let object = try own(H5Oopen(loc.id, name, photoz_H5P_DEFAULT()), .object, "H5Oopen", "cannot open object", site,
                                 file: loc.file)
            let type = H5Iget_type(object.id)
            if type == H5I_BADID { throw fail("H5Iget_type", "cannot tell the object's type", site) }
            return type == H5I_DATASET
        }
    }

    // MARK: Types

    /// The native memory type of a numeric element type (predefined: never closed).
    static func nativeType(_ element: HDF5ElementType) -> hid_t {
        switch element {
        case .int8: photoz_H5T_NATIVE_INT8()
        case .int16: photoz_H5T_NATIVE_INT16()
        case .int32: photoz_H5T_NATIVE_INT32()
        case .int64: photoz_H5T_NATIVE_INT64()
        case .uint8: photoz_H5T_NATIVE_UINT8()
        case .uint16: photoz_H5T_NATIVE_UINT16()
        case .uint32: photoz_H5T_NATIVE_UINT32()
        case .uint64: photoz_H5T_NATIVE_UINT64()
        case .float32: photoz_H5T_NATIVE_FLOAT()
        case .float64: photoz_H5T_NATIVE_DOUBLE()
        case .string, .other: preconditionFailure("HDF5: no native numeric type for \(element)")
        }
    }

    /// A variable-length string type in the given character set.
    private static func variableStringType(_ cset: H5T_cset_t, _ site: HDF5Site) throws -> HDF5Handle {
        let type = try own(H5Tcopy(photoz_H5T_C_S1()), .datatype, "H5Tcopy", "cannot create string type", site)
        try check(H5Tset_size(type.id, photoz_H5T_VARIABLE()), "H5Tset_size", "cannot create string type", site)
        try check(H5Tset_cset(type.id, cset), "H5Tset_cset", "cannot create string type", site)
        return type
    }

    /// Describes an HDF5 datatype as an element type.
    private static func describe(_ type: HDF5Handle, _ site: HDF5Site) throws -> HDF5ElementType {
        let typeClass = H5Tget_class(type.id)
        if typeClass == H5T_NO_CLASS { throw fail("H5Tget_class", "cannot read the element type", site) }
        let size = H5Tget_size(type.id)
        if size == 0 { throw fail("H5Tget_size", "cannot read the element type", site) }
        switch typeClass {
        case H5T_INTEGER:
            let sign = H5Tget_sign(type.id)
            if sign == H5T_SGN_ERROR { throw fail("H5Tget_sign", "cannot read the element type", site) }
            let signed = sign == H5T_SGN_2
            switch size {
            case 1: return signed ? .int8 : .uint8
            case 2: return signed ? .int16 : .uint16
            case 4: return signed ? .int32 : .uint32
            case 8: return signed ? .int64 : .uint64
            default: return .other("integer of \(size) bytes")
            }
        case H5T_FLOAT:
            switch size {
            case 4: return .float32
            case 8: return .float64
            default: return .other("float of \(size) bytes")
            }
        case H5T_STRING: return .string
        case H5T_COMPOUND: return .other("compound")
        case H5T_ENUM: return .other("enum")
        case H5T_ARRAY: return .other("array")
        case H5T_VLEN: return .other("variable-length sequence")
        case H5T_OPAQUE: return .other("opaque")
        case H5T_REFERENCE: return .other("reference")
        case H5T_BITFIELD: return .other("bitfield")
        case H5T_TIME: return .other("time")
        default: return .other("HDF5 type class \(typeClass.rawValue)")
        }
    }

    // MARK: Datasets

    /// How to create a dataset (validated by the caller).
    struct DatasetLayout {
        var shape: [Int]
        var maxShape: [Int?]
        var chunks: [Int]?
        var deflateLevel: Int?
        var shuffle: Bool
        /// Allocate every chunk's storage at creation and never write fill values.
        var reserveStorage = false
    }

    /// A simple dataspace of the given dims (scalar when empty).
    private static func dataspace(_ dims: [Int], max: [Int?]? = nil, _ site: HDF5Site) throws -> HDF5Handle {
        if dims.isEmpty {
            return try own(H5Screate(H5S_SCALAR), .dataspace, "H5Screate", "cannot create dataspace", site)
        }
        let current = dims.map { hsize_t($0) }
        let maximum = max?.map { $0.map { hsize_t($0) } ?? photoz_H5S_UNLIMITED() }
        return try own(H5Screate_simple(Int32(dims.count), current, maximum), .dataspace, "H5Screate_simple",
                       "cannot create dataspace of shape \(dims)", site)
    }

    /// Creates a numeric dataset. The C functions are `H5Pset_chunk`, `H5Pset_shuffle`, `H5Pset_deflate`, `H5Dcreate2`.
    static func createDataset(_ loc: HDF5Handle, _ name: String, _ element: HDF5ElementType, _ layout: DatasetLayout,
                              _ site: HDF5Site) throws -> HDF5Handle {
        try locked {
            let space = try dataspace(layout.shape, max: layout.maxShape, site)
            let dcpl = try own(H5Pcreate(photoz_H5P_DATASET_CREATE()), .propertyList, "H5Pcreate", "cannot create dataset", site)
            if let chunks = layout.chunks {
                let dims = chunks.map { hsize_t($0) }
                try check(H5Pset_chunk(dcpl.id, Int32(dims.count), dims), "H5Pset_chunk", "cannot set chunks \(chunks)", site)
                if layout.shuffle { try check(H5Pset_shuffle(dcpl.id), "H5Pset_shuffle", "cannot set shuffle", site) }
                if let level = layout.deflateLevel {
                    try check(H5Pset_deflate(dcpl.id, UInt32(level)), "H5Pset_deflate", "cannot set gzip level \(level)", site)
                }
            }
            if layout.reserveStorage {
                try check(H5Pset_alloc_time(dcpl.id, H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time", "cannot reserve storage at creation", site)
                try check(H5Pset_fill_time(dcpl.id, H5D_FILL_TIME_NEVER), "H5Pset_fill_time", "cannot turn fill values off", site)
            }
            let lcpl = try intermediateGroupsList(site)
            return try own(H5Dcreate2(loc.id, name, nativeType(element), space.id, lcpl.id, dcpl.id, photoz_H5P_DEFAULT()),
                           .dataset, "H5Dcreate2", "cannot create dataset", site, file: loc.file)
        }
    }

    /// Creates a 1-D dataset of variable-length UTF-8 strings and writes `values`.
    static func createStringDataset(_ loc: HDF5Handle, _ name: String, _ values: [String], _ site: HDF5Site) throws -> HDF5Handle {
        try locked {
            let type = try variableStringType(H5T_CSET_UTF8, site)
            let space = try dataspace([values.count], site)
            let lcpl = try intermediateGroupsList(site)
            let dataset = try own(H5Dcreate2(loc.id, name, type.id, space.id, lcpl.id, photoz_H5P_DEFAULT(), photoz_H5P_DEFAULT()),
                                  .dataset, "H5Dcreate2", "cannot create string dataset", site, file: loc.file)
            if !values.isEmpty {
                try withCStrings(values) { pointers in
                    try check(H5Dwrite(dataset.id, type.id, photoz_H5S_ALL(), photoz_H5S_ALL(), photoz_H5P_DEFAULT(), pointers),
                              "H5Dwrite", "cannot write strings", site)
                }
            }
            return dataset
        }
    }

    /// Opens a dataset. The C function is `H5Dopen2`.
    static func openDataset(_ loc: HDF5Handle, _ name: String, _ site: HDF5Site) throws -> HDF5Handle {
        try locked {
            try own(H5Dopen2(loc.id, name, photoz_H5P_DEFAULT()), .dataset, "H5Dopen2", "cannot open dataset", site, file: loc.file)
        }
    }

    /// The current and maximum extent (nil = unlimited). The C function is `H5Sget_simple_extent_dims`.
    static func extent(_ dataset: HDF5Handle, _ site: HDF5Site) throws -> (dims: [Int], maxDims: [Int?]) {
        try locked {
            let space = try own(H5Dget_space(dataset.id), .dataspace, "H5Dget_space", "cannot read the shape", site)
            let rank = Int(try checked(H5Sget_simple_extent_ndims(space.id), "H5Sget_simple_extent_ndims", "cannot read the shape", site))
            var dims = [hsize_t](repeating: 0, count: rank), maxDims = dims
            try check(H5Sget_simple_extent_dims(space.id, &dims, &maxDims), "H5Sget_simple_extent_dims", "cannot read the shape", site)
            // A corrupt file may declare extents beyond Int.max (found by fuzzing: Int() trapped).
            var sizes: [Int] = [], limits: [Int?] = []
            for (size, limit) in zip(dims, maxDims) {
                guard let size = Int(exactly: size), limit == photoz_H5S_UNLIMITED() || Int(exactly: limit) != nil else {
                    throw site.error("shape", "cannot read the shape", "the file declares an extent \(dims) (at most \(maxDims)) beyond 2^63: it is corrupt")
                }
                sizes.append(size)
                limits.append(limit == photoz_H5S_UNLIMITED() ? nil : Int(limit))
            }
            return (sizes, limits)
        }
    }

    /// The dataset's creation properties: chunk dims (nil when not chunked) and filter pipeline.
    static func creationProperties(_ dataset: HDF5Handle, _ site: HDF5Site) throws -> (chunks: [Int]?, filters: [HDF5Filter]) {
        try locked {
            let dcpl = try own(H5Dget_create_plist(dataset.id), .propertyList, "H5Dget_create_plist", "cannot read the layout", site)
            let layout = H5Pget_layout(dcpl.id)
            if layout == H5D_LAYOUT_ERROR { throw fail("H5Pget_layout", "cannot read the layout", site) }
            guard layout == H5D_CHUNKED else { return (nil, []) }
            var dims = [hsize_t](repeating: 0, count: 32)
            let rank = try checked(H5Pget_chunk(dcpl.id, 32, &dims), "H5Pget_chunk", "cannot read the chunk shape", site)
            let count = try checked(H5Pget_nfilters(dcpl.id), "H5Pget_nfilters", "cannot read the filters", site)
            let filters = try (0..<UInt32(count)).map { index in
                var flags: UInt32 = 0, config: UInt32 = 0, valueCount = 16
                var values = [UInt32](repeating: 0, count: valueCount)
                var name = [CChar](repeating: 0, count: 256)
                let id = try checked(H5Pget_filter2(dcpl.id, index, &flags, &valueCount, &values, name.count, &name, &config),
                                   "H5Pget_filter2", "cannot read the filters", site)
                return HDF5Filter(id: Int(id), name: String(cString: name), values: Array(values.prefix(min(valueCount, 16))))
            }
            return (dims.prefix(Int(rank)).map { Int($0) }, filters)
        }
    }

    /// The element type stored in the file. The C function is `H5Dget_type`.
    static func elementType(_ dataset: HDF5Handle, _ site: HDF5Site) throws -> HDF5ElementType {
        try locked {
            try describe(own(H5Dget_type(dataset.id), .datatype, "H5Dget_type", "cannot read the element type", site), site)
        }
    }

    /// Whether the stored type is exactly the native type of `element` (no conversion needed).
    static func storesNative(_ dataset: HDF5Handle, _ element: HDF5ElementType, _ site: HDF5Site) throws -> Bool {
        try locked {
            let type = try own(H5Dget_type(dataset.id), .datatype, "H5Dget_type", "cannot read the element type", site)
            return try checked(H5Tequal(type.id, nativeType(element)), "H5Tequal", "cannot compare types", site) > 0
        }
    }

    /// Writes the dataset's fill value, as `element`, into `value` (zeros unless user-defined).
    static func fillValue(_ dataset: HDF5Handle, _ element: HDF5ElementType, into value: UnsafeMutableRawPointer,
                          _ site: HDF5Site) throws {
        try locked {
            let dcpl = try own(H5Dget_create_plist(dataset.id), .propertyList, "H5Dget_create_plist", "cannot read the fill value", site)
            var status = H5D_FILL_VALUE_ERROR
            try check(H5Pfill_value_defined(dcpl.id, &status), "H5Pfill_value_defined", "cannot read the fill value", site)
            value.initializeMemory(as: UInt8.self, repeating: 0, count: element.byteCount ?? 0)
            if status == H5D_FILL_VALUE_USER_DEFINED {
                try check(H5Pget_fill_value(dcpl.id, nativeType(element), value), "H5Pget_fill_value", "cannot read the fill value", site)
            }
        }
    }

    /// File and memory dataspaces selecting `rows` of dim 0 and all of the other dims.
    private static func rowSelection(_ dataset: HDF5Handle, _ rows: Range<Int>, _ dims: [Int],
                                     _ site: HDF5Site) throws -> (memory: HDF5Handle, file: HDF5Handle) {
        let fileSpace = try own(H5Dget_space(dataset.id), .dataspace, "H5Dget_space", "cannot select rows", site)
        var start = [hsize_t](repeating: 0, count: dims.count)
        var count = dims.map { hsize_t($0) }
        start[0] = hsize_t(rows.lowerBound)
        count[0] = hsize_t(rows.count)
        try check(H5Sselect_hyperslab(fileSpace.id, H5S_SELECT_SET, start, nil, count, nil), "H5Sselect_hyperslab",
                  "cannot select rows \(rows)", site)
        var shape = dims
        shape[0] = rows.count
        return (try dataspace(shape, site), fileSpace)
    }

    /// Reads `rows` of dim 0 (all when nil), converted to `element`, into `buffer`. The C function is `H5Dread`.
    static func read(_ dataset: HDF5Handle, _ element: HDF5ElementType, rows: Range<Int>?, dims: [Int],
                     into buffer: UnsafeMutableRawPointer, _ site: HDF5Site) throws {
        try transfer(dataset, element, rows: rows, dims: dims, "H5Dread", "read", site) {
            H5Dread(dataset.id, $0, $1, $2, photoz_H5P_DEFAULT(), buffer)
        }
    }

    /// Writes `rows` of dim 0 (all when nil) from `buffer` holding `element`s. The C function is `H5Dwrite`.
    static func write(_ dataset: HDF5Handle, _ element: HDF5ElementType, rows: Range<Int>?, dims: [Int],
                      from buffer: UnsafeRawPointer, _ site: HDF5Site) throws {
        try transfer(dataset, element, rows: rows, dims: dims, "H5Dwrite", "write", site) {
            H5Dwrite(dataset.id, $0, $1, $2, photoz_H5P_DEFAULT(), buffer)
        }
    }

    /// Runs `call(memoryType, memorySpace, fileSpace)` (H5Dread or H5Dwrite) on `rows` of dim 0, or all.
    private static func transfer(_ dataset: HDF5Handle, _ element: HDF5ElementType, rows: Range<Int>?, dims: [Int],
                                 _ function: String, _ verb: String, _ site: HDF5Site,
                                 _ call: (hid_t, hid_t, hid_t) -> herr_t) throws {
        try locked {
            let selection = try rows.map { try rowSelection(dataset, $0, dims, site) }
            try check(call(nativeType(element), selection?.memory.id ?? photoz_H5S_ALL(), selection?.file.id ?? photoz_H5S_ALL()),
                      function, rows.map { "cannot \(verb) rows \($0)" } ?? "cannot \(verb) dataset", site)
        }
    }

    /// Writes one already-filtered chunk at `offset` (filter mask 0: every filter applied).
    static func writeChunk(_ dataset: HDF5Handle, offset: [Int], _ bytes: UnsafeRawBufferPointer, _ site: HDF5Site) throws {
        try locked {
            let start = offset.map { hsize_t($0) }
            try check(H5Dwrite_chunk(dataset.id, photoz_H5P_DEFAULT(), 0, start, bytes.count, bytes.baseAddress),
                      "H5Dwrite_chunk", "cannot write the chunk at \(offset)", site)
        }
    }

    /// Where the chunk at `offset` is stored in the file (byte offset and stored size), or nil
    /// when it has no storage. The C function is `H5Dget_chunk_info_by_coord`.
    static func chunkLocation(_ dataset: HDF5Handle, offset: [Int], _ site: HDF5Site) throws -> (offset: Int, size: Int)? {
        try locked {
            let start = offset.map { hsize_t($0) }
            var mask: UInt32 = 0
            var address = haddr_t(0)
            var size = hsize_t(0)
            try check(H5Dget_chunk_info_by_coord(dataset.id, start, &mask, &address, &size), "H5Dget_chunk_info_by_coord",
                      "cannot locate the chunk at \(offset)", site)
            return address == photoz_HADDR_UNDEF() || size == 0 ? nil : (Int(address), Int(size))
        }
    }

    /// The stored (filtered) bytes of the chunk at `offset` and HDF5's filter mask (bit i set:
    /// filter i was skipped), or nil when the chunk has no storage (the caller reads through
    /// HDF5 then, which supplies fill values). The C functions are `H5Dget_chunk_storage_size`
    /// and `H5Dread_chunk`.
    static func readRawChunk(_ dataset: HDF5Handle, offset: [Int], _ site: HDF5Site) throws -> (bytes: [UInt8], filterMask: UInt32)? {
        try locked {
            let start = offset.map { hsize_t($0) }
            var size: hsize_t = 0
            if H5Dget_chunk_storage_size(dataset.id, start, &size) < 0 || size == 0 {
                H5Eclear2(photoz_H5E_DEFAULT())
                return nil
            }
            var mask: UInt32 = 0
            let bytes = try [UInt8](unsafeUninitializedCapacity: Int(size)) { buffer, initialized in
                try check(H5Dread_chunk(dataset.id, photoz_H5P_DEFAULT(), start, &mask, buffer.baseAddress),
                          "H5Dread_chunk", "cannot read the chunk at \(offset)", site)
                initialized = Int(size)
            }
            return (bytes, mask)
        }
    }

    /// Changes the current extent. The C function is `H5Dset_extent`.
    static func setExtent(_ dataset: HDF5Handle, _ dims: [Int], _ site: HDF5Site) throws {
        try locked {
            try check(H5Dset_extent(dataset.id, dims.map { hsize_t($0) }), "H5Dset_extent", "cannot resize to \(dims)", site)
        }
    }

    /// Reads every element of a string dataset (fixed- or variable-length).
    static func readStrings(_ dataset: HDF5Handle, _ site: HDF5Site) throws -> [String] {
        try locked {
            let type = try own(H5Dget_type(dataset.id), .datatype, "H5Dget_type", "cannot read strings", site)
            let element = try describe(type, site)
            guard element == .string else {
                throw site.error("readStrings", "cannot read strings", "the dataset holds \(element) values, not strings; read it with read(as:)")
            }
            let space = try own(H5Dget_space(dataset.id), .dataspace, "H5Dget_space", "cannot read strings", site)
            let count = try checked(H5Sget_simple_extent_npoints(space.id), "H5Sget_simple_extent_npoints", "cannot read strings", site)
            // Variable-length strings: their total size as the file declares it, before libhdf5
            // allocates them (H5Dvlen_get_buf_size reads the lengths, not the strings).
            let declaredBytes: () throws -> Int = {
                let memoryType = try variableStringType(H5Tget_cset(type.id), site)
                var size: hsize_t = 0
                try check(H5Dvlen_get_buf_size(dataset.id, memoryType.id, space.id, &size), "H5Dvlen_get_buf_size",
                          "cannot read strings", site)
                return Int(clamping: size)
            }
            return try readStringValues(type, Int(count), "H5Dread", site, declaredBytes: declaredBytes) { memoryType, buffer in
                H5Dread(dataset.id, memoryType, photoz_H5S_ALL(), photoz_H5S_ALL(), photoz_H5P_DEFAULT(), buffer)
            }
        }
    }

    /// The most values an attribute or string dataset may declare, and the most bytes its
    /// strings may take: photoz's own hold a few hundred values; a corrupt or hostile file may
    /// declare 2^40 (the metadata check's child reads within the same bounds).
    static let maxValues = 1 << 20
    static let maxStringBytes = 64 << 20
    /// Attributes are small by nature (photoz's longest, a provenance configuration, holds a
    /// few kB); their strings are bounded tighter than a string dataset's.
    static let maxAttributeStringBytes = 1 << 20

    /// Reads `count` strings of file type `type` with `read(memoryType, buffer)` (H5Dread or
    /// H5Aread). Sizes the file declares are bounded before anything is allocated: the count,
    /// a fixed-length string's size times the count, and, when `declaredBytes` can tell before
    /// reading (datasets), the variable-length strings' total; variable-length strings that
    /// turn out longer once read (attributes) are refused after libhdf5 returned them.
    private static func readStringValues(_ type: HDF5Handle, _ count: Int, _ function: String, _ site: HDF5Site,
                                         summary: String = "cannot read strings", byteLimit: Int = maxStringBytes,
                                         declaredBytes: (() throws -> Int)? = nil,
                                         _ read: (hid_t, UnsafeMutableRawPointer) -> herr_t) throws -> [String] {
        guard count > 0 else { return [] }
        guard count <= maxValues else {
            throw site.error("strings", summary, "the file declares \(count) strings, more than photoz reads "
                             + "(at most \(maxValues)): the file is corrupt or not one of photoz's")
        }
        let cset = H5Tget_cset(type.id)
        if cset == H5T_CSET_ERROR { throw fail("H5Tget_cset", summary, site) }
        if try checked(H5Tis_variable_str(type.id), "H5Tis_variable_str", summary, site) > 0 {
            if let declaredBytes {
                let total = try declaredBytes()
                guard total <= byteLimit else {
                    throw site.error("strings", summary, "its \(count) variable-length strings declare \(total) bytes, more than "
                                     + "photoz reads (at most \(byteLimit)): the file is corrupt or not one of photoz's")
                }
            }
            let memoryType = try variableStringType(cset, site)
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            try pointers.withUnsafeMutableBytes { raw in
                try check(read(memoryType.id, raw.baseAddress!), function, summary, site)
            }
            let space = try dataspace([count], site)
            defer {
                pointers.withUnsafeMutableBytes { raw in
                    if H5Dvlen_reclaim(memoryType.id, space.id, photoz_H5P_DEFAULT(), raw.baseAddress) < 0 { H5Eclear2(photoz_H5E_DEFAULT()) }
                }
            }
            var total = 0
            for pointer in pointers {
                total += pointer.map { strlen($0) } ?? 0
                guard total <= byteLimit else {
                    throw site.error("strings", summary, "its variable-length strings hold more than \(byteLimit) bytes, "
                                     + "more than photoz reads: the file is corrupt or not one of photoz's")
                }
            }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        let size = H5Tget_size(type.id)
        if size == 0 { throw fail("H5Tget_size", summary, site) }
        let (bytesNeeded, overflow) = size.multipliedReportingOverflow(by: count)
        guard !overflow, bytesNeeded <= byteLimit else {
            throw site.error("strings", summary, "the file declares \(count) strings of \(size) bytes each, more than photoz "
                             + "reads (at most \(byteLimit) bytes): the file is corrupt or not one of photoz's")
        }
        let memoryType = try own(H5Tcopy(type.id), .datatype, "H5Tcopy", summary, site)
        var bytes = [UInt8](repeating: 0, count: bytesNeeded)
        try bytes.withUnsafeMutableBytes { raw in
            try check(read(memoryType.id, raw.baseAddress!), function, "cannot read strings", site)
        }
        let padding = H5Tget_strpad(type.id)
        if padding == H5T_STR_ERROR { throw fail("H5Tget_strpad", "cannot read strings", site) }
        let spacePadded = padding == H5T_STR_SPACEPAD
        return (0..<count).map { index in
            var text = bytes[index * size ..< (index + 1) * size]
            if let end = text.firstIndex(of: 0) { text = text[..<end] }
            if spacePadded { while text.last == 0x20 { text = text.dropLast() } }
            return String(decoding: text, as: UTF8.self)
        }
    }

    /// Calls `body` with an array of C string pointers (valid only inside `body`).
    private static func withCStrings<T>(_ strings: [String], _ body: (UnsafeRawPointer) throws -> T) rethrows -> T {
        let pointers = strings.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        return try pointers.withUnsafeBytes { try body($0.baseAddress!) }
    }

    // MARK: Attributes

    /// Creates or replaces attribute `name` of `object` (a file, group or dataset).
    static func writeAttribute(_ object: HDF5Handle, _ name: String, _ value: HDF5AttributeValue, _ site: HDF5Site) throws {
        try locked {
            let summary = "cannot write attribute '\(name)'"
            if try checked(H5Aexists(object.id, name), "H5Aexists", summary, site) > 0 {
                try check(H5Adelete(object.id, name), "H5Adelete", summary, site)
            }
            func create(_ type: hid_t, count: Int, scalar: Bool) throws -> HDF5Handle {
                let space = try scalar ? dataspace([], site) : dataspace([count], site)
                return try own(H5Acreate2(object.id, name, type, space.id, photoz_H5P_DEFAULT(), photoz_H5P_DEFAULT()),
                               .attribute, "H5Acreate2", summary, site, file: object.file)
            }
            func numbers<T>(_ values: [T], file: hid_t, memory: hid_t, scalar: Bool) throws {
                let attribute = try create(file, count: values.count, scalar: scalar)
                guard !values.isEmpty else { return }
                try values.withUnsafeBytes { try check(H5Awrite(attribute.id, memory, $0.baseAddress), "H5Awrite", summary, site) }
            }
            func strings(_ values: [String], scalar: Bool) throws {
                let type = try variableStringType(H5T_CSET_UTF8, site)
                let attribute = try create(type.id, count: values.count, scalar: scalar)
                guard !values.isEmpty else { return }
                try withCStrings(values) { try check(H5Awrite(attribute.id, type.id, $0), "H5Awrite", summary, site) }
            }
            switch value {
            case .string(let text): try strings([text], scalar: true)
            case .strings(let list): try strings(list, scalar: false)
            case .int64(let number): try numbers([number], file: photoz_H5T_STD_I64LE(), memory: photoz_H5T_NATIVE_INT64(), scalar: true)
            case .int64s(let list): try numbers(list, file: photoz_H5T_STD_I64LE(), memory: photoz_H5T_NATIVE_INT64(), scalar: false)
            case .double(let number): try numbers([number], file: photoz_H5T_IEEE_F64LE(), memory: photoz_H5T_NATIVE_DOUBLE(), scalar: true)
            case .doubles(let list): try numbers(list, file: photoz_H5T_IEEE_F64LE(), memory: photoz_H5T_NATIVE_DOUBLE(), scalar: false)
            }
        }
    }

    /// Reads attribute `name` of `object`; nil when it has none of that name.
    static func readAttribute(_ object: HDF5Handle, _ name: String, _ site: HDF5Site) throws -> HDF5AttributeValue? {
        try locked {
            let summary = "cannot read attribute '\(name)'"
            guard try checked(H5Aexists(object.id, name), "H5Aexists", summary, site) > 0 else { return nil }
            let attribute = try own(H5Aopen(object.id, name, photoz_H5P_DEFAULT()), .attribute, "H5Aopen", summary, site,
                                    file: object.file)
            let type = try own(H5Aget_type(attribute.id), .datatype, "H5Aget_type", summary, site)
            let space = try own(H5Aget_space(attribute.id), .dataspace, "H5Aget_space", summary, site)
            let spaceClass = H5Sget_simple_extent_type(space.id)
            if spaceClass == H5S_NO_CLASS { throw fail("H5Sget_simple_extent_type", summary, site) }
            let scalar = spaceClass == H5S_SCALAR
            let count = spaceClass == H5S_NULL ? 0
                : Int(try checked(H5Sget_simple_extent_npoints(space.id), "H5Sget_simple_extent_npoints", summary, site))
            // Bounded before anything is allocated (a corrupt file may declare 2^40 values).
            guard count <= maxValues else {
                throw site.error("attribute", summary, "it declares \(count) values, more than photoz reads (at most "
                                 + "\(maxValues)): the file is corrupt or not one of photoz's")
            }
            func numbers<T: Numeric>(_ memory: hid_t, as: T.Type) throws -> [T] {
                var values = [T](repeating: 0, count: count)
                if count > 0 {
                    try values.withUnsafeMutableBytes { try check(H5Aread(attribute.id, memory, $0.baseAddress!), "H5Aread", summary, site) }
                }
                return values
            }
            switch try describe(type, site) {
            case .string:
                let values = try readStringValues(type, count, "H5Aread", site, summary: summary,
                                                  byteLimit: maxAttributeStringBytes) { H5Aread(attribute.id, $0, $1) }
                return scalar ? .string(values.first ?? "") : .strings(values)
            case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64:
                let values = try numbers(photoz_H5T_NATIVE_INT64(), as: Int64.self)
                return scalar ? .int64(values[0]) : .int64s(values)
            case .float32, .float64:
                let values = try numbers(photoz_H5T_NATIVE_DOUBLE(), as: Double.self)
                return scalar ? .double(values[0]) : .doubles(values)
            case .other(let kind):
                throw site.error("attribute", summary, "its type (\(kind)) is not a string, integer or float")
            }
        }
    }

    /// The names of `object`'s attributes in name order. The C function is `H5Aiterate2`.
    static func attributeNames(_ object: HDF5Handle, _ site: HDF5Site) throws -> [String] {
        try locked {
            final class Names { var list: [String] = [] }
            let names = Names()
            var index: hsize_t = 0
            try check(H5Aiterate2(object.id, H5_INDEX_NAME, H5_ITER_INC, &index, { _, name, _, data in
                guard let name, let data else { return -1 }
                Unmanaged<Names>.fromOpaque(data).takeUnretainedValue().list.append(String(cString: name))
                return 0
            }, Unmanaged.passUnretained(names).toOpaque()), "H5Aiterate2", "cannot list attributes", site)
            return names.list
        }
    }
}
