import Foundation
import Testing

/// What a user sees on a file that crashes libhdf5, with the metadata check and without it
/// (`PHOTOZ_METADATA_CHECK=off`, the documented way out where fork must be avoided).
@Suite struct MetadataCheckCommandTests {
    static let crashing = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Regressions/shard/segfault-reading-attribute-inputs.h5").path

    @Test func aFileThatCrashesLibhdf5IsAnErrorNamingIt() throws {
        let result = try Photoz.run(["inspect", Self.crashing])
        #expect(result.status == 1 || result.status == 2, "\(result.status): \(result.stderr)")
        #expect(result.stderr.contains(Self.crashing) && result.stderr.contains("libhdf5 could not read this file's metadata"), "\(result.stderr)")
        #expect(result.stderr.contains("crashed (signal 11"), "\(result.stderr)")
    }

    /// The way out turns the check off, and then the same file ends the process with SIGSEGV,
    /// which is why it is on by default.
    @Test func theCheckCanBeTurnedOffAndThenTheFileCrashesPhotoz() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Photoz.binary)
        process.arguments = ["inspect", Self.crashing]
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["PHOTOZ_METADATA_CHECK": "off", "SWIFT_BACKTRACE": "enable=no"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGSEGV,
                "\(process.terminationReason.rawValue) \(process.terminationStatus)")
    }
}
