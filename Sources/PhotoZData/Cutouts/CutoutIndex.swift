import FITS
import Foundation

/// The cutout files of a directory, indexed by object id, and the layout they follow.
///
/// Files may be plain (`.fits`, `.fit`, `.fts`) or compressed (`.fits.gz`, `.fits.bz2`,
/// `.fits.fz`); cfitsio reads each transparently.
public struct CutoutIndex: Sendable {
    public var directory: String
    public var layout: CutoutLayout
    public var template: String
    /// Files per object id; one file for `mef` and `cube`, one per band for `perBand`.
    public var files: [Int64: [Band: String]]
    /// Files whose name matches the template but whose id is not in the catalog, filled by the caller.
    public var unmatchedFiles: [String] = []
    /// Files that could not be read while detecting the layout (path → why); empty when the
    /// layout was given. Each is also skipped, with its reason, when its object is read.
    public var unreadableWhileDetecting: [String: String] = [:]

    static let extensions = [".fits", ".fit", ".fts", ".fits.gz", ".fits.bz2", ".fits.fz", ".fz", ".fit.gz"]
    /// The extensions longest first, so that `.fits.gz` wins over `.gz`-less matches.
    static let extensionsLongestFirst = extensions.sorted { $0.count > $1.count }

    /// Indexes `directory`, detecting the layout when `layout` is nil.
    public static func scan(_ directory: String, layout: CutoutLayout?, template: String?) throws -> CutoutIndex {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PhotoZDataError.io(path: directory, message: "cutout directory not found")
        }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted() } catch {
            throw PhotoZDataError.io(path: directory, message: "cannot list the cutout directory: \(error.localizedDescription)")
        }
        let detected = try layout.map { ($0, [String: String]()) } ?? detectLayoutReporting(directory, names: names, template: template)
        let chosen = detected.0
        let pattern = try TemplatePattern(template ?? chosen.defaultTemplate, layout: chosen)
        var files: [Int64: [Band: String]] = [:]
        files.reserveCapacity(names.count)
        let folder = directory.hasSuffix("/") ? directory : directory + "/"
        for name in names {
            guard let (id, band) = pattern.match(name) else { continue }
            files[id, default: [:]][band ?? .r] = folder + name
        }
        var index = CutoutIndex(directory: directory, layout: chosen, template: pattern.template, files: files)
        index.unreadableWhileDetecting = detected.1
        return index
    }

    /// Files examined to detect the layout: enough that one broken or odd file cannot decide
    /// for the whole folder, few enough that detection stays a fraction of a second.
    static let detectionSampleSize = 7

    /// Guesses the layout: per-band names first, then the structure of a few `{id}.fits` files.
    static func detectLayout(_ directory: String, names: [String], template: String?) throws -> CutoutLayout {
        try detectLayoutReporting(directory, names: names, template: template).layout
    }

    /// The detected layout and the files that could not be read while detecting it (path → why).
    static func detectLayoutReporting(_ directory: String, names: [String], template: String?) throws
        -> (layout: CutoutLayout, unreadable: [String: String]) {
        if let template {
            return template.contains("{band}") ? (.perBand, [:]) : try structureOf(directory, names: names, template: template)
        }
        let perBand = try TemplatePattern(CutoutLayout.perBand.defaultTemplate, layout: .perBand)
        let single = try TemplatePattern(CutoutLayout.mef.defaultTemplate, layout: .mef)
        let perBandCount = names.lazy.filter { perBand.match($0) != nil }.count
        let singleCount = names.lazy.filter { single.match($0) != nil }.count
        if perBandCount > singleCount { return (.perBand, [:]) }
        guard singleCount > 0 else {
            throw PhotoZDataError.io(path: directory, message: "no cutout files found: expected {id}.fits (multi-extension or cube) or {id}-{band}.fits, optionally .gz/.bz2/.fz; pass --layout and --template for other names")
        }
        return try structureOf(directory, names: names, template: nil)
    }

    /// Decides between `cube` and `mef` by the structure of up to `detectionSampleSize` files
    /// spread over the folder (a 3-D image in one of the first two HDUs means `cube`): the
    /// majority of the files that can be read decides, unreadable files are skipped and
    /// returned. Throws when none of them can be read.
    private static func structureOf(_ directory: String, names: [String], template: String?) throws
        -> (layout: CutoutLayout, unreadable: [String: String]) {
        let single = try TemplatePattern(template ?? CutoutLayout.mef.defaultTemplate, layout: .mef)
        let candidates = names.filter { single.match($0) != nil }
        guard !candidates.isEmpty else { return (.mef, [:]) }
        // Evenly spaced picks, the first file included: a run of broken files at the start of
        // the sort order (e.g. "0000.fits" left by another tool) cannot fill the sample.
        let picks = Set((0..<min(detectionSampleSize, candidates.count)).map { $0 * candidates.count / min(detectionSampleSize, candidates.count) })
        var votes: [CutoutLayout: Int] = [:]
        var unreadable: [String: String] = [:]
        for index in picks.sorted() {
            let path = (directory as NSString).appendingPathComponent(candidates[index])
            do {
                votes[try structure(of: path), default: 0] += 1
            } catch {
                unreadable[path] = "\(error)"
            }
        }
        guard let layout = votes.max(by: { ($0.value, $0.key == .mef ? 1 : 0) < ($1.value, $1.key == .mef ? 1 : 0) })?.key else {
            let list = unreadable.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: "; ")
            throw PhotoZDataError.io(path: directory, message: "cannot detect the cutout layout: none of the \(unreadable.count) files examined can be read: \(list); pass --layout, or remove the broken files")
        }
        return (layout, unreadable)
    }

    /// The layout one `{id}.fits` file follows: a 3-D image in one of its first two HDUs is a cube.
    private static func structure(of path: String) throws -> CutoutLayout {
        try FITSFile.withFile(path) { file in
            var hdu = 0
            var type: FITSHDUType? = try file.currentHDUType()
            while let current = type, hdu < 2 {
                if current == .image {
                    let shape = try file.imageShape()
                    if shape.count == 3 { return .cube }
                    if shape.count == 2 { return .mef }
                }
                type = try file.moveToNextHDU()
                hdu += 1
            }
            return .mef
        }
    }
}

/// A file-name template such as `{id}-{band}.fits`, matched against names in a directory.
struct TemplatePattern: Sendable {
    let template: String
    private let prefix: String
    private let middle: String?
    private let suffix: String
    private let idFirst: Bool

    init(_ template: String, layout: CutoutLayout) throws {
        self.template = template
        guard template.contains("{id}") else {
            throw PhotoZDataError.invalidOption("--template '\(template)' has no {id} placeholder")
        }
        if layout == .perBand && !template.contains("{band}") {
            throw PhotoZDataError.invalidOption("--template '\(template)' has no {band} placeholder, which the per-band layout needs")
        }
        var base = template
        for ext in CutoutIndex.extensionsLongestFirst where base.lowercased().hasSuffix(ext) {
            base.removeLast(ext.count)
            break
        }
        if let bandRange = base.range(of: "{band}") {
            let idRange = base.range(of: "{id}")!
            idFirst = idRange.lowerBound < bandRange.lowerBound
            let (a, b) = idFirst ? (idRange, bandRange) : (bandRange, idRange)
            prefix = String(base[..<a.lowerBound])
            middle = String(base[a.upperBound..<b.lowerBound])
            suffix = String(base[b.upperBound...])
        } else {
            let idRange = base.range(of: "{id}")!
            idFirst = true
            prefix = String(base[..<idRange.lowerBound])
            middle = nil
            suffix = String(base[idRange.upperBound...])
        }
    }

    /// The object id and band a file name encodes, or nil when it does not follow the template.
    func match(_ name: String) -> (Int64, Band?)? {
        let lower = name.utf8.contains(where: { (0x41...0x5A).contains($0) }) ? name.lowercased() : name
        guard let ext = CutoutIndex.extensionsLongestFirst.first(where: { lower.hasSuffix($0) }) else { return nil }
        var base = Substring(name.dropLast(ext.count))
        guard base.hasPrefix(prefix), base.hasSuffix(suffix), base.count >= prefix.count + suffix.count else { return nil }
        base = base.dropFirst(prefix.count).dropLast(suffix.count)
        guard let middle else { return Int64(base).map { ($0, nil) } }
        guard let split = base.range(of: middle, options: idFirst ? [] : .backwards) else { return nil }
        let first = base[..<split.lowerBound], second = base[split.upperBound...]
        let (idText, bandText) = idFirst ? (first, second) : (second, first)
        guard let id = Int64(idText), let band = Band(fitsName: String(bandText)) else { return nil }
        return (id, band)
    }
}
