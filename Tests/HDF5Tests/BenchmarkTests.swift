import Foundation
@testable import HDF5
import Testing

/// Measures the parallel deflate writer against HDF5's own gzip filter and h5py. Slow (about a
/// minute, 160 MB of images), so it runs only when PHOTOZ_HDF5_BENCH is set; use a release build:
/// `PHOTOZ_HDF5_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter BenchmarkTests`.
@Suite struct BenchmarkTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["PHOTOZ_HDF5_BENCH"] != nil, "benchmark: set PHOTOZ_HDF5_BENCH=1"))
    func parallelDeflateThroughputAndRatio() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let rows = Int(ProcessInfo.processInfo.environment["PHOTOZ_HDF5_BENCH_ROWS"] ?? "") ?? 2000
        let images = noisyImages(count: rows, seed: 42)
        let megabytes = Double(images.count * 4) / 1e6
        /// CPU seconds of this process (all threads): load-independent, unlike wall time.
        func cpuSeconds() -> Double {
            var time = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
            return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
        }
        func write(_ name: String, parallel: Bool) throws -> (seconds: Double, bytes: Int, cpu: Double) {
            let path = folder.path(name)
            let file = try HDF5File.create(path)
            let data = try file.root.createDataset("images", of: Float.self, shape: [0, 5, 64, 64], maxShape: [nil, 5, 64, 64],
                                                   chunks: [4, 5, 64, 64], compression: .gzip(level: 4), shuffle: true)
            H5.locked { data.parallelDeflateEnabled = parallel }
            let start = Date(), cpuStart = cpuSeconds()
            // Batches of 32 images, as a shard writer appends them.
            for batch in stride(from: 0, to: rows, by: 32) {
                let end = min(batch + 32, rows)
                try images[batch * 20480..<end * 20480].withUnsafeBufferPointer { try data.append($0) }
            }
            try file.close()
            let seconds = Date().timeIntervalSince(start), cpu = cpuSeconds() - cpuStart
            #expect(H5.locked { data.parallelChunkWrites } == (parallel ? (rows + 3) / 4 : 0))
            #expect(try HDF5File.open(path).root.dataset("images").read(as: Float.self) == images)
            let bytes = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
            return (seconds, bytes, cpu)
        }
        let serial = try write("serial.h5", parallel: false)
        let parallel = try write("parallel.h5", parallel: true)
        let rawPath = folder.path("images.raw")
        try images.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: rawPath)) }
        let h5py = try runPython("""
            import h5py, numpy as np, sys, time, os
            raw = np.fromfile(sys.argv[1], dtype='<f4').reshape(-1, 5, 64, 64)
            t = time.time()
            with h5py.File(sys.argv[2], 'w') as f:
                f.create_dataset('images', data=raw, chunks=(4, 5, 64, 64), compression='gzip', compression_opts=4, shuffle=True)
            t = time.time() - t
            with h5py.File(sys.argv[3], 'r') as f:
                same = np.array_equal(f['images'][:].view('<u4'), raw.view('<u4'))
                ours = (f['images'].compression, f['images'].compression_opts, f['images'].shuffle)
            print(t, os.path.getsize(sys.argv[2]), same, ours)
            """, [rawPath, folder.path("h5py.h5"), folder.path("parallel.h5")])
        let fields = h5py.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", maxSplits: 3).map(String.init)
        let h5pySeconds = Double(fields[0])!, h5pyBytes = Int(fields[1])!
        #expect(fields[2] == "True")
        #expect(fields[3] == "('gzip', 4, True)")
        // Reading it all back, 32 images at a time, as the training loader does.
        func readBack(parallel: Bool) throws -> (seconds: Double, cpu: Double) {
            let data = try HDF5File.open(folder.path("parallel.h5")).root.dataset("images")
            H5.locked { data.parallelDeflateEnabled = parallel }
            var buffer = [Float](repeating: 0, count: 32 * 20480)
            let start = Date(), cpuStart = cpuSeconds()
            for batch in stride(from: 0, to: rows, by: 32) {
                let end = min(batch + 32, rows)
                try buffer.withUnsafeMutableBufferPointer { try data.readRows(batch..<end, into: UnsafeMutableBufferPointer(rebasing: $0[0..<(end - batch) * 20480])) }
            }
            return (Date().timeIntervalSince(start), cpuSeconds() - cpuStart)
        }
        let serialRead = try readBack(parallel: false), parallelRead = try readBack(parallel: true)
        let h5pyRead = Double(try runPython("""
            import h5py, sys, time
            with h5py.File(sys.argv[1], 'r') as f:
                d = f['images']; t = time.time()
                for i in range(0, d.shape[0], 32): d[i:i + 32]
                print(time.time() - t)
            """, [folder.path("parallel.h5")]).trimmingCharacters(in: .whitespacesAndNewlines))!
        let cores = ProcessInfo.processInfo.activeProcessorCount
        print(String(format: "HDF5 bench: %d rows (%.1f MB raw), %d cores", rows, megabytes, cores))
        print(String(format: "  HDF5 gzip filter (H5Dwrite): %6.1f MB/s  ratio %.3f  (%.1f CPU s)", megabytes / serial.seconds, megabytes * 1e6 / Double(serial.bytes), serial.cpu))
        print(String(format: "  parallel libdeflate:         %6.1f MB/s  ratio %.3f  (%.1f CPU s)", megabytes / parallel.seconds, megabytes * 1e6 / Double(parallel.bytes), parallel.cpu))
        print(String(format: "  h5py gzip 4 + shuffle:       %6.1f MB/s  ratio %.3f", megabytes / h5pySeconds, megabytes * 1e6 / Double(h5pyBytes)))
        print(String(format: "  read, HDF5 filter (H5Dread): %6.1f MB/s  (%.1f CPU s)", megabytes / serialRead.seconds, serialRead.cpu))
        print(String(format: "  read, parallel libdeflate:   %6.1f MB/s  (%.1f CPU s)", megabytes / parallelRead.seconds, parallelRead.cpu))
        print(String(format: "  read, h5py:                  %6.1f MB/s", megabytes / h5pyRead))
    }
}
