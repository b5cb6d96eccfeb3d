// The value types of the HDF5 API: compression, element types, attribute values, scalars.

/// How a dataset's chunks are compressed.
public enum HDF5Compression: Sendable, Equatable {
    /// Chunks are stored as they are.
    case none
    /// HDF5's deflate filter (zlib), level 0–9; h5py reports it as `compression='gzip'`.
    case gzip(level: Int)
}

/// The type of a dataset's elements, as stored in the file.
public enum HDF5ElementType: Sendable, Equatable {
    case int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64
    /// Fixed- or variable-length strings.
    case string
    /// Any other HDF5 type class (compound, enum, array, …), named by HDF5's class.
    case other(String)

    /// The size in bytes of one numeric element; nil for strings and other types.
    public var byteCount: Int? {
        switch self {
        case .int8, .uint8: 1
        case .int16, .uint16: 2
        case .int32, .uint32, .float32: 4
        case .int64, .uint64, .float64: 8
        case .string, .other: nil
        }
    }

    /// True for the integer and floating-point types.
    public var isNumeric: Bool { byteCount != nil }
}

/// The value of an attribute: strings, 64-bit integers or doubles, as a scalar or a 1-D array.
///
/// Strings are written as variable-length UTF-8; reading accepts fixed-length strings too
/// (h5py's `np.bytes_`). Integers of any HDF5 integer type read as `int64`, floats as `double`.
public enum HDF5AttributeValue: Sendable, Equatable {
    case string(String), strings([String])
    case int64(Int64), int64s([Int64])
    case double(Double), doubles([Double])

    /// The value when it is a single string.
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    /// The value when it is a list of strings (a single string reads as one element).
    public var stringsValue: [String]? {
        switch self {
        case .string(let s): [s]
        case .strings(let list): list
        default: nil
        }
    }
    /// The value when it is a single integer.
    public var int64Value: Int64? { if case .int64(let v) = self { v } else { nil } }
    /// The value when it is a single number (integers convert to `Double`).
    public var doubleValue: Double? {
        switch self {
        case .double(let v): v
        case .int64(let v): Double(v)
        default: nil
        }
    }
    /// The value when it is numeric, as a list of doubles (a scalar reads as one element).
    public var doublesValue: [Double]? {
        switch self {
        case .double(let v): [v]
        case .doubles(let list): list
        case .int64(let v): [Double(v)]
        case .int64s(let list): list.map(Double.init)
        default: nil
        }
    }
}

/// A numeric element type that datasets can hold; each knows its HDF5 native type.
///
/// The conforming types are `Float`, `Double`, `Int8`…`Int64` and `UInt8`…`UInt64`.
public protocol HDF5Scalar: Sendable, BitwiseCopyable {
    /// The dataset element type this Swift type is stored as.
    static var hdf5ElementType: HDF5ElementType { get }
}

extension Float: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .float32 } }
extension Double: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .float64 } }
extension Int8: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .int8 } }
extension Int16: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .int16 } }
extension Int32: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .int32 } }
extension Int64: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .int64 } }
extension UInt8: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .uint8 } }
extension UInt16: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .uint16 } }
extension UInt32: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .uint32 } }
extension UInt64: HDF5Scalar { public static var hdf5ElementType: HDF5ElementType { .uint64 } }
