import Foundation

/// Locates the SED templates and filter curves shipped with SkySim.
///
/// `Sources/SkySim/Resources/{filters,seds}` are byte-for-byte copies of `catalogs/{filters,seds}`
/// (SwiftPM copies a symlinked resource folder as a dangling link, so the files are duplicated;
/// a test checks the two stay identical).
enum ResourceFiles {
    /// The folder holding `filters/` and `seds/` inside the target's resource bundle.
    static var root: URL {
        if let url = Bundle.module.url(forResource: "Resources", withExtension: nil) { return url }
        return Bundle.module.bundleURL.appendingPathComponent("Resources")
    }

    /// URL of a resource file given by its path under `catalogs/`, e.g. `filters/sdss2010-r.ecsv`.
    static func url(_ relativePath: String) -> URL {
        root.appendingPathComponent(relativePath)
    }
}
