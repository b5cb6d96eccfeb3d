import Dispatch
import Foundation
import WCS

/// An SDSS field: run, camera column and field number, e.g. `2583-2-136`.
public struct FieldID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var run: Int
    public var camcol: Int
    public var field: Int

    public init(run: Int, camcol: Int, field: Int) {
        self.run = run
        self.camcol = camcol
        self.field = field
    }

    public var description: String { "\(run)-\(camcol)-\(field)" }
    public static func < (a: FieldID, b: FieldID) -> Bool { (a.run, a.camcol, a.field) < (b.run, b.camcol, b.field) }
}

/// One frame file: its band, field, image size and WCS, known from its header alone.
public struct Frame: Sendable {
    public var path: String
    public var band: Band
    public var field: FieldID
    /// NAXIS1, NAXIS2.
    public var width: Int
    public var height: Int
    public var wcs: WCS
    /// RADESYS (or the older RADECSYS) of the frame, ICRS when absent.
    public var referenceSystem: String
    /// BUNIT as written in the header, if any.
    public var unit: String?
    /// Bytes of the primary HDU (header and image, whole 2880-byte blocks).
    var primaryBytes: Int
    /// How the image is stored: BITPIX, where its data start (after the header's blocks),
    /// BSCALE, BZERO and, for integer images, BLANK.
    var storage = FrameStorage(bitpix: -32, dataOffset: 2880, scale: 1, zero: 0, blank: nil)

    /// The distance in pixels from a FITS 1-based position to the nearest frame edge
    /// (negative outside the frame).
    public func margin(x: Double, y: Double) -> Double {
        min(x - 0.5, Double(width) + 0.5 - x, y - 0.5, Double(height) + 0.5 - y)
    }
}

/// The largest frame image read (pixels): 2²⁷, 512 MB as floats; an SDSS frame has 3 million.
let maximumFramePixels = 1 << 27

/// How a frame's primary image is stored in its file (see `FrameImageDecoder`).
struct FrameStorage: Sendable {
    var bitpix: Int
    /// Bytes from the start of the file to the first pixel.
    var dataOffset: Int
    var scale: Double
    var zero: Double
    /// The integer that marks an undefined pixel (BLANK), integer images only.
    var blank: Int64?
}

/// The frames of a folder (searched recursively), grouped by field, indexed by footprint.
///
/// Names follow SDSS: `frame-{band}-{run:06}-{camcol}-{field:04}.fits`, optionally `.bz2` or
/// `.gz`. Only each file's primary header is read (see `FrameHeaderReader`).
public struct FrameIndex: Sendable {
    public var directory: String
    /// Fields in order, each with the frames found (normally all five bands).
    public var fields: [FieldID: [Band: Frame]]
    /// Sky cells (`cellSize` degrees) → fields whose footprint touches them.
    private var cells: [Cell: [FieldID]] = [:]
    static let cellSize = 0.25

    private struct Cell: Hashable { var dec: Int; var ra: Int }

    /// Finds and indexes the frames under `directory`, reading headers on `threads` threads.
    ///
    /// Throws when the folder holds no frames, when one band of a field is present twice
    /// (e.g. plain and compressed), or when a header cannot be read or has no usable WCS.
    public static func scan(_ directory: String, threads: Int = 1) throws -> FrameIndex {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PhotoZDataError.io(path: directory, message: "frames folder not found")
        }
        guard let walker = FileManager.default.enumerator(atPath: directory) else {
            throw PhotoZDataError.io(path: directory, message: "cannot list the frames folder")
        }
        var named: [(path: String, band: Band, field: FieldID)] = []
        var seen: [String: String] = [:]
        let folder = directory.hasSuffix("/") ? directory : directory + "/"
        while let relative = walker.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            guard let (band, field) = parseName(name) else { continue }
            let key = "\(field) \(band.rawValue)"
            if let other = seen[key] {
                throw PhotoZDataError.io(path: folder + relative, message: "band \(band.rawValue) of field \(field) is also in \(other); keep one copy of each frame")
            }
            seen[key] = folder + relative
            named.append((folder + relative, band, field))
        }
        guard !named.isEmpty else {
            throw PhotoZDataError.io(path: directory, message: "no SDSS frames found (expected names like frame-r-002583-2-0136.fits.bz2, searched recursively)")
        }
        let frames = named.sorted { $0.path < $1.path }
        let results = FrameResults(count: frames.count)
        DispatchQueue.concurrentPerform(iterations: min(max(1, threads), frames.count)) { worker in
            for k in stride(from: worker, to: frames.count, by: max(1, threads)) {
                let (path, band, field) = frames[k]
                results.set(k, Result { try readFrame(path, band: band, field: field) })
            }
        }
        var fields: [FieldID: [Band: Frame]] = [:]
        for k in frames.indices {
            let frame = try results.get(k).get()
            fields[frame.field, default: [:]][frame.band] = frame
        }
        var index = FrameIndex(directory: directory, fields: fields)
        try index.buildCells()
        return index
    }

    /// The band and field an SDSS frame file name encodes, or nil for other files.
    static func parseName(_ name: String) -> (Band, FieldID)? {
        var base = Substring(name)
        for suffix in [".bz2", ".gz"] where base.lowercased().hasSuffix(suffix) { base = base.dropLast(suffix.count) }
        guard base.lowercased().hasSuffix(".fits") || base.lowercased().hasSuffix(".fit") else { return nil }
        base = base.prefix(upTo: base.lastIndex(of: ".")!)
        let parts = base.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "frame", let band = Band(rawValue: String(parts[1])),
              let run = Int(parts[2]), let camcol = Int(parts[3]), let field = Int(parts[4]),
              run >= 0, (1...6).contains(camcol), field >= 0 else { return nil }
        return (band, FieldID(run: run, camcol: camcol, field: field))
    }

    /// Reads one frame's primary header and WCS.
    static func readFrame(_ path: String, band: Band, field: FieldID) throws -> Frame {
        let header = try FrameHeaderReader.primaryHeader(path)
        guard header.int("NAXIS") == 2, let width = header.int("NAXIS1"), let height = header.int("NAXIS2"),
              (1...100_000).contains(width), (1...100_000).contains(height) else {
            throw PhotoZDataError.io(path: path, message: "HDU 0 is not a 2-D image of at most 100000 pixels a side (NAXIS \(header.value("NAXIS") ?? "?"), NAXIS1 \(header.value("NAXIS1") ?? "?"), NAXIS2 \(header.value("NAXIS2") ?? "?"))")
        }
        if let filter = header.value("FILTER"), let named = Band(fitsName: filter), named != band {
            throw PhotoZDataError.io(path: path, message: "the file name says band \(band.rawValue) but FILTER = '\(filter)'; rename the file")
        }
        let wcs: WCS
        do { wcs = try WCS(header: header.text, source: "\(path), HDU 0") } catch {
            throw PhotoZDataError.io(path: path, message: "\(error)")
        }
        guard wcs.isCelestial, wcs.axisCount == 2 else {
            throw PhotoZDataError.io(path: path, message: "HDU 0 has no celestial WCS (axes: \(wcs.axisTypes.joined(separator: ", "))); cutouts need RA/Dec")
        }
        let system = header.value("RADESYS") ?? header.value("RADECSYS") ?? "ICRS"
        guard let bitpix = header.int("BITPIX"), [8, 16, 32, 64, -32, -64].contains(bitpix) else {
            throw PhotoZDataError.io(path: path, message: "HDU 0 has BITPIX \(header.value("BITPIX") ?? "missing"); expected 8, 16, 32, 64, -32 or -64")
        }
        // The image is held whole in memory (4 bytes a pixel) while its objects are cut: bounded
        // here, before anything is allocated from the header's sizes. SDSS frames: 3 Mpixels.
        guard width * height <= maximumFramePixels else {
            throw PhotoZDataError.io(path: path, message: "HDU 0 is \(width)×\(height) pixels, more than the \(maximumFramePixels) a frame may have here; cut it into smaller frames")
        }
        let scale = header.value("BSCALE").map { _ in header.double("BSCALE") ?? .nan } ?? 1
        let zero = header.value("BZERO").map { _ in header.double("BZERO") ?? .nan } ?? 0
        guard scale.isFinite, scale != 0, zero.isFinite else {
            throw PhotoZDataError.io(path: path, message: "HDU 0 has BSCALE = \(header.value("BSCALE") ?? "1"), BZERO = \(header.value("BZERO") ?? "0"); no image can be scaled so (BSCALE must be a finite non-zero number, BZERO finite)")
        }
        func blocks(_ n: Int) -> Int { (n + 2879) / 2880 * 2880 }
        let headerBytes = blocks((header.cardCount + 1) * 80)
        let primaryBytes = headerBytes + blocks(width * height * abs(bitpix) / 8)
        let storage = FrameStorage(bitpix: bitpix, dataOffset: headerBytes, scale: scale, zero: zero,
                                   blank: bitpix > 0 ? header.value("BLANK").flatMap { Int64($0) } : nil)
        return Frame(path: path, band: band, field: field, width: width, height: height, wcs: wcs,
                     referenceSystem: system.isEmpty ? "ICRS" : system, unit: header.value("BUNIT"), primaryBytes: primaryBytes,
                     storage: storage)
    }

    /// Records which sky cells each field's footprint (all bands, corners and edge midpoints) touches.
    private mutating func buildCells() throws {
        for (id, frames) in fields {
            var decs: [Double] = [], ras: [Double] = []
            for frame in frames.values {
                let w = Double(frame.width), h = Double(frame.height)
                for (x, y) in [(0.5, 0.5), (w + 0.5, 0.5), (0.5, h + 0.5), (w + 0.5, h + 0.5), (w / 2, 0.5), (w / 2, h + 0.5), (0.5, h / 2), (w + 0.5, h / 2)] {
                    let p = try frame.wcs.sky(x: x, y: y)
                    guard p.longitude.isFinite, p.latitude.isFinite else { continue }
                    decs.append(p.latitude)
                    ras.append(p.longitude)
                }
            }
            guard let first = ras.first else { continue }
            // Unwrap RA around the first corner so that a field across RA 0 stays contiguous.
            let unwrapped = ras.map { first + (($0 - first + 540).truncatingRemainder(dividingBy: 360) - 180) }
            let d0 = Int((decs.min()! / Self.cellSize).rounded(.down)) - 1, d1 = Int((decs.max()! / Self.cellSize).rounded(.down)) + 1
            let r0 = Int((unwrapped.min()! / Self.cellSize).rounded(.down)) - 1, r1 = Int((unwrapped.max()! / Self.cellSize).rounded(.down)) + 1
            let cellsPerTurn = Int(360 / Self.cellSize)
            let nearPole = decs.contains { abs($0) > 80 }
            for d in d0...d1 {
                for r in (nearPole ? 0...(cellsPerTurn - 1) : r0...r1) {
                    cells[Cell(dec: d, ra: ((r % cellsPerTurn) + cellsPerTurn) % cellsPerTurn), default: []].append(id)
                }
            }
        }
        for key in cells.keys { cells[key]!.sort() }
    }

    /// Fields whose footprint may hold the position (a cheap prefilter before the WCS).
    func candidates(ra: Double, dec: Double) -> [FieldID] {
        let cellsPerTurn = Int(360 / Self.cellSize)
        let r = Int((ra / Self.cellSize).rounded(.down)) % cellsPerTurn
        return cells[Cell(dec: Int((dec / Self.cellSize).rounded(.down)), ra: (r + cellsPerTurn) % cellsPerTurn)] ?? []
    }
}

/// Per-frame results written by worker threads, read after they join.
private final class FrameResults: @unchecked Sendable {
    private var slots: [Result<Frame, any Error>?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ k: Int, _ value: Result<Frame, any Error>) { lock.lock(); slots[k] = value; lock.unlock() }
    func get(_ k: Int) -> Result<Frame, any Error> { lock.lock(); defer { lock.unlock() }; return slots[k]! }
}
