// Fuzz target: the FITS cutout reader. The input is one cutout file, read as a multi-extension
// file, as a cube and as every band of the per-band layout; each must read or throw.
import FITS
import Foundation
import PhotoZData

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFITSCutout(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzScratch.write(data, size, as: "cutout.fits")
    let side = 16
    let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: 5 * side * side)
    defer { buffer.deallocate() }
    for layout in CutoutLayout.allCases {
        let reader = CutoutReader(layout: layout, size: side, fillNonFinite: layout == .cube ? 0 : nil,
                                  cubeBandOrder: [.u, .g, .r, .i, .z])
        let files = layout == .perBand ? Dictionary(uniqueKeysWithValues: Band.allCases.map { ($0, path) }) : [.r: path]
        _ = try? reader.read(files: files, into: buffer)
    }
    // Layout detection and the FITS module's own readers on the same bytes.
    _ = try? CutoutIndex.scan(FuzzScratch.folder, layout: nil, template: nil)
    if let file = try? FITSFile.open(path, wholeInMemory: 1 << 24) {
        while true {
            if let shape = try? file.imageShape(), !shape.isEmpty, (try? file.currentHDUType()) == .image {
                _ = try? file.readImage()
            }
            _ = try? file.headerCards()
            guard let next = try? file.moveToNextHDU(), next != nil else { break }
        }
    }
    return 0
}
