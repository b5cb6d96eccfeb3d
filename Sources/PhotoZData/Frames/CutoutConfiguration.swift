import Foundation

/// Everything `cutout` needs; recorded in `cutout.json` beside the stamps.
public struct CutoutConfiguration: Codable, Sendable {
    /// What to do with an object whose stamp (with the kernel's reach) leaves its frame.
    public enum EdgePolicy: String, Codable, Sendable, CaseIterable {
        /// Keep it; pixels the kernel cannot fill are NaN and counted in NMASKED.
        case mask
        /// Leave it out, reported as `on-edge` in skipped.csv.
        case skip
    }

    /// The resampling kernel; Lanczos-3 is the only one (SWarp's default for stamps).
    public enum Kernel: String, Codable, Sendable, CaseIterable {
        case lanczos3
    }

    public var frames: String
    public var catalog: String
    public var output: String
    public var size: Int = Survey.cutoutSize
    /// Stamp pixel side in arcsec (SDSS: 0.396).
    public var pixelScale: Double = 0.396
    public var kernel: Kernel = .lanczos3
    public var edge: EdgePolicy = .mask
    /// Worker threads (frames decompressed and cut in parallel); nil: one per core.
    public var threads: Int?
    /// Replace stamps of the same name in a non-empty output folder.
    public var overwrite = false
    /// Catalog columns for id, RA and Dec (the others are not needed here).
    public var columns = CatalogColumns()

    public init(frames: String, catalog: String, output: String) {
        self.frames = frames
        self.catalog = catalog
        self.output = output
    }

    /// Checks the options before any file is touched.
    public func validate() throws {
        guard (8...1024).contains(size) else {
            throw PhotoZDataError.invalidOption("--size \(size): a stamp is 8 to 1024 pixels a side")
        }
        guard pixelScale.isFinite, pixelScale > 0.001, pixelScale <= 60 else {
            throw PhotoZDataError.invalidOption("--pixel-scale \(pixelScale): expected arcsec per pixel between 0.001 and 60 (SDSS: 0.396)")
        }
        if let threads, threads < 1 { throw PhotoZDataError.invalidOption("--threads \(threads): at least 1") }
        let out = Self.canonical(output), framesFolder = Self.canonical(frames)
        if out == framesFolder || out.hasPrefix(framesFolder + "/") || framesFolder.hasPrefix(out + "/") {
            throw PhotoZDataError.invalidOption("--out \(output) overlaps --frames \(frames): frames are searched recursively and must never be written over; choose an output folder outside it")
        }
        let catalogFolder = Self.canonical((catalog as NSString).deletingLastPathComponent.isEmpty ? "." : (catalog as NSString).deletingLastPathComponent)
        if out == catalogFolder || catalogFolder.hasPrefix(out + "/") {
            throw PhotoZDataError.invalidOption("--out \(output) holds the catalog \(catalog): stamps and reports must not be written beside the input; choose another output folder")
        }
    }

    /// An absolute path with symbolic links resolved, for comparing folders.
    static func canonical(_ path: String) -> String {
        var url = URL(fileURLWithPath: path).standardizedFileURL
        // Resolve links of the longest existing prefix (the output may not exist yet).
        var missing: [String] = []
        while !FileManager.default.fileExists(atPath: url.path) && url.path != "/" {
            missing.insert(url.lastPathComponent, at: 0)
            url.deleteLastPathComponent()
        }
        var resolved = url.resolvingSymlinksInPath()
        for part in missing { resolved.appendPathComponent(part) }
        let text = resolved.path
        return text.count > 1 && text.hasSuffix("/") ? String(text.dropLast()) : text
    }
}

/// Why an object has no stamp; a line of the output's skipped.csv.
public enum CutoutSkipReason: String, Codable, Sendable, CaseIterable {
    case badCatalogValue = "bad-catalog-value"
    case duplicateID = "duplicate-object-id"
    case outsideFrames = "outside-frames"
    case missingBand = "missing-band"
    case onEdge = "on-edge"
    case unreadableFrame = "unreadable-frame"
}

/// An object without a stamp and why.
public struct CutoutSkip: Error, Sendable, Codable, Equatable {
    public var objectID: Int64?
    public var row: Int
    public var reason: CutoutSkipReason
    /// The frame concerned, when one is.
    public var file: String?
    public var detail: String
}

/// What a `cutout` run did.
public struct CutoutSummary: Codable, Sendable {
    public var written: Int
    public var skipped: [String: Int]
    public var fieldsUsed: Int
    public var framesRead: Int
    public var seconds: Double
    public var objectsPerSecond: Double
    /// CPU seconds summed over threads: decompressing and decoding frames, and resampling.
    public var frameReadSeconds: Double
    public var resampleSeconds: Double
    /// CPU seconds summed over threads: writing stamp files.
    public var writeSeconds: Double
    public var output: String
    public var skippedReport: String
    public var framesReport: String
}
