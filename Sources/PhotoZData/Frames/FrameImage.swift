import Foundation

/// The frame's primary image in nanomaggies, x fastest: the primary HDU decompressed into
/// memory (`FrameHeaderReader.readPrimaryHDU`) and its big-endian pixels decoded here, with
/// BSCALE, BZERO and BLANK (undefined pixels are NaN).
///
/// Decoding the few FITS storage types here, rather than handing cfitsio a temporary file,
/// saved writing and reading back 12 MB per SDSS frame: the frame is read once, straight
/// from the decompressor's buffer. The header was read and checked when the frame was indexed
/// (`FrameIndex.readFrame`: size bounded, scaling finite); it is compared again here in case
/// the file changed since.
func readFrameImage(_ frame: Frame) throws -> [Float] {
    if let unit = frame.unit, !["nanomaggy", "nanomaggies", "nmgy"].contains(unit.lowercased()) {
        throw PhotoZDataError.io(path: frame.path, message: "HDU 0 has BUNIT = '\(unit)'; stamps are written in nanomaggies, so frames must be calibrated (SDSS frame files are)")
    }
    let bytes = try FrameHeaderReader.readPrimaryHDU(frame.path, bytes: frame.primaryBytes)
    let header = FITSHeaderCards(bytes: Array(bytes.prefix(frame.storage.dataOffset)))
    guard header.int("NAXIS1") == frame.width, header.int("NAXIS2") == frame.height, header.int("BITPIX") == frame.storage.bitpix else {
        throw PhotoZDataError.io(path: frame.path, message: "HDU 0 is no longer the \(frame.width)×\(frame.height) image (BITPIX \(frame.storage.bitpix)) its header described when indexed; the file changed while cutting")
    }
    return decodeFrameImage(bytes, storage: frame.storage, count: frame.width * frame.height)
}

/// Decodes `count` big-endian pixels stored as `storage` says, starting at its data offset.
func decodeFrameImage(_ bytes: [UInt8], storage: FrameStorage, count: Int) -> [Float] {
    let size = abs(storage.bitpix) / 8
    precondition(storage.dataOffset + count * size <= bytes.count, "the primary HDU was read whole")
    let scaled = storage.scale != 1 || storage.zero != 0
    return [Float](unsafeUninitializedCapacity: count) { out, initialized in
        bytes.withUnsafeBytes { raw in
            let data = raw.baseAddress! + storage.dataOffset
            @inline(__always) func integer<T: FixedWidthInteger>(_: T.Type) {
                for k in 0..<count {
                    let v = T(bigEndian: data.loadUnaligned(fromByteOffset: k * size, as: T.self))
                    if let blank = storage.blank, Int64(v) == blank { out[k] = .nan; continue }
                    out[k] = Float(Double(v) * storage.scale + storage.zero)
                }
            }
            switch storage.bitpix {
            case -32:
                for k in 0..<count {
                    let v = Float(bitPattern: UInt32(bigEndian: data.loadUnaligned(fromByteOffset: k * 4, as: UInt32.self)))
                    out[k] = scaled ? Float(Double(v) * storage.scale + storage.zero) : v
                }
            case -64:
                for k in 0..<count {
                    let v = Double(bitPattern: UInt64(bigEndian: data.loadUnaligned(fromByteOffset: k * 8, as: UInt64.self)))
                    out[k] = Float(v * storage.scale + storage.zero)
                }
            case 8: integer(UInt8.self)
            case 16: integer(Int16.self)
            case 32: integer(Int32.self)
            case 64: integer(Int64.self)
            default: preconditionFailure("BITPIX \(storage.bitpix) was refused when the frame was indexed")
            }
        }
        initialized = count
    }
}
