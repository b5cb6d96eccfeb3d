import Foundation
import HDF5
import Testing

/// The cost of the metadata check of a file this process did not write: one fork and one walk
/// of the file's metadata, once per file and process. Runs only when PHOTOZ_HDF5_BENCH is set:
/// `PHOTOZ_HDF5_BENCH=1 swift test -c release --filter MetadataCheckBenchmarkTests`.
@Suite struct MetadataCheckBenchmarkTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["PHOTOZ_HDF5_BENCH"] != nil, "benchmark: set PHOTOZ_HDF5_BENCH=1"))
    func checkCost() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        // A shard's layout: 1000 rows of (5, 64, 64) images in chunks of 4 rows, 12 columns, 16 root attributes.
        let path = folder.path("shard.h5")
        try HDF5File.withCreated(path) { file in
            let images = try file.root.createDataset("images", of: Float.self, shape: [1000, 5, 64, 64], chunks: [4, 5, 64, 64])
            try images.write([Float](repeating: 1, count: 1000 * 5 * 64 * 64))
            for k in 0..<11 { try file.root.createDataset("column\(k)", of: Double.self, shape: [1000], chunks: [1000]).write([Double](repeating: 0, count: 1000)) }
            for k in 0..<16 { try file.root.setAttribute("attribute\(k)", .string(String(repeating: "x", count: 200))) }
        }
        func measure(_ label: String) throws {
            var times: [Double] = []
            for _ in 0..<20 {
                HDF5File.forgetMetadataChecks()
                let start = Date()
                try HDF5File.withOpen(path) { _ in }
                times.append(Date().timeIntervalSince(start) * 1000)
            }
            let started = HDF5File.metadataChecksStarted
            let cachedStart = Date()
            for _ in 0..<20 { try HDF5File.withOpen(path) { _ in } }
            let cached = Date().timeIntervalSince(cachedStart) * 1000 / 20
            #expect(HDF5File.metadataChecksStarted == started)
            let rss = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8))?
                .split(separator: "\n").first { $0.hasPrefix("VmRSS") } ?? "?"
            print(String(format: "metadata check, %@ (%@): open with check median %.1f ms, best %.1f ms; open without (cached) %.2f ms",
                         label, String(rss), times.sorted()[times.count / 2], times.min()!, cached))
        }
        try measure("small process")
        // A training process holds the network, its optimizer state and the data stream's buffers.
        let ballast = UnsafeMutableRawPointer.allocate(byteCount: 1 << 30, alignment: 4096)
        defer { ballast.deallocate() }
        ballast.initializeMemory(as: UInt8.self, repeating: 1, count: 1 << 30)
        try measure("with 1 GB more resident")
    }
}
