import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The rules every `--out` follows, checked before any work:
///
/// - it must not be, contain, or lie inside any input of the command (catalog, cutouts, data,
///   model…), after resolving symbolic links and `..` — with or without `--overwrite`;
/// - an existing output is replaced only with `--overwrite`, and then only if photoz wrote
///   it (`recognise`: its manifest for a folder, its schema for a file); an arbitrary folder
///   such as `.` or a user's file is never replaced;
/// - an empty existing folder may be written into.
/// Every violation is a `.usage` error (the CLI exits 64) and nothing has been touched.
public enum OutputRules {
    /// What the output is.
    public enum Kind: Sendable {
        /// A file written whole (`AtomicFile`).
        case file
        /// A folder written whole (`StagedFolder`).
        case folder
        /// A folder that files are added to (`export-fits`): each file follows the file rules.
        case addingTo
    }

    /// Checks `out` against the rules above.
    /// - Parameters:
    ///   - out: the output path as given.
    ///   - option: its option name, for messages ("--out").
    ///   - inputs: each input with its option name ("--cutouts", path).
    ///   - recognise: whether an existing output is one photoz wrote (only asked with `overwrite`).
    public static func check(_ out: String, option: String = "--out", kind: Kind, inputs: [(option: String, path: String)],
                             overwrite: Bool, recognise: @escaping @Sendable (String) -> Bool) throws {
        let resolvedOut = resolve(out)
        for input in inputs {
            let resolvedInput = resolve(input.path)
            if resolvedOut == resolvedInput {
                throw SafeOutputError(.usage, path: out, message: "\(option) is the same as \(input.option) (\(input.path)); photoz never writes over its inputs: choose another \(option)")
            }
            if isInside(resolvedInput, resolvedOut) {
                throw SafeOutputError(.usage, path: out, message: "\(option) contains \(input.option) (\(input.path)); replacing it would delete the input: choose another \(option)")
            }
            if isInside(resolvedOut, resolvedInput) {
                throw SafeOutputError(.usage, path: out, message: "\(option) lies inside \(input.option) (\(input.path)); photoz never writes into its inputs: choose another \(option)")
            }
        }
        let replacement: Replacement = overwrite ? .ifRecognised(recognise) : .never
        switch kind {
        case .file: try AtomicFile.checkReplacement(out, replacement)
        case .folder: try StagedFolder.checkReplacement(out, replacement)
        case .addingTo:
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), !isDirectory.boolValue {
                throw SafeOutputError(.usage, path: out, message: "is a file; \(option) names a folder")
            }
        }
    }

    /// `path` made absolute with every symbolic link and `..` resolved, as far as it exists;
    /// the components that do not exist yet are appended as given.
    public static func resolve(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var resolved = "/"
        var hops = 0
        var components = absolute.split(separator: "/").map(String.init)
        var index = 0
        while index < components.count {
            let component = components[index]
            index += 1
            if component == "." || component.isEmpty { continue }
            if component == ".." {
                resolved = (resolved as NSString).deletingLastPathComponent
                continue
            }
            let candidate = (resolved as NSString).appendingPathComponent(component)
            var info = stat()
            if lstat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK, hops < 40 {
                hops += 1
                let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: candidate)) ?? component
                let rest = Array(components[index...])
                let targetComponents = target.split(separator: "/").map(String.init)
                if target.hasPrefix("/") { resolved = "/" }
                components = targetComponents + rest
                index = 0
                continue
            }
            resolved = candidate
        }
        return resolved
    }

    /// Whether `path` lies strictly inside `folder` (both resolved).
    static func isInside(_ path: String, _ folder: String) -> Bool {
        folder == "/" ? path != "/" : path.hasPrefix(folder + "/")
    }
}
