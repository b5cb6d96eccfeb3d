import Dispatch
import Foundation
import HDF5
import Testing

@Suite struct ConcurrencyTests {
    /// Two readers (different files and datasets) run while a writer appends compressed rows:
    /// the process-wide lock keeps serial libhdf5 consistent and every value exact.
    @Test func readersAndAWriterOnSeveralThreads() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let sources = try (0..<2).map { index -> (HDF5File, [Float]) in
            let file = try HDF5File.create(folder.path("source\(index).h5"))
            let values = noisyImages(count: 16, bands: 2, size: 8, seed: UInt64(index + 10))
            try file.root.createDataset("images", of: Float.self, shape: [16, 2, 8, 8], chunks: [2, 2, 8, 8],
                                        compression: .gzip(level: 1), shuffle: true).write(values)
            try file.root.createDataset("ids", of: Int64.self, shape: [16]).write((0..<16).map { Int64($0 + 100 * index) })
            return (file, values)
        }
        let output = try HDF5File.create(folder.path("model.h5"))
        let written = try output.root.createDataset("weights", of: Float.self, shape: [0, 64], maxShape: [nil, 64],
                                                    chunks: [4, 64], compression: .gzip(level: 4), shuffle: true)
        let batch = (0..<8 * 64).map { Float($0) }
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 3) { worker in
            do {
                for round in 0..<25 {
                    if worker == 2 {
                        try batch.withUnsafeBufferPointer { try written.append($0) }
                        try written.setAttribute("round", .int64(Int64(round)))
                    } else {
                        let (file, values) = sources[worker]
                        let images = try file.root.dataset("images")
                        let start = round % 14
                        let rows = try images.readRows(start..<start + 2, as: Float.self)
                        if rows != Array(values[start * 128..<(start + 2) * 128]) { failures.add("worker \(worker) round \(round): images differ") }
                        if try file.root.dataset("ids").read(as: Int64.self)[start] != Int64(start + 100 * worker) {
                            failures.add("worker \(worker) round \(round): ids differ")
                        }
                    }
                }
            } catch {
                failures.add("worker \(worker): \(error)")
            }
        }
        #expect(failures.list.isEmpty, "\(failures.list)")
        #expect(try written.shape == [200, 64])
        let all = try written.read(as: Float.self)
        #expect(all == Array((0..<25).map { _ in batch }.joined()))
        #expect(try written.attribute("round") == .int64(24))
    }
}

/// Failure messages collected from several threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ message: String) { lock.lock(); items.append(message); lock.unlock() }
    var list: [String] { lock.lock(); defer { lock.unlock() }; return items }
}

@Suite struct ChildProcessTests {
    /// Starting child processes on one thread while another closes and reopens an HDF5 file: a
    /// child holds copies of the parent's descriptors (and with them HDF5's lock on every open
    /// file) until it execs, so a reopen at that moment is refused once; opening tries again.
    @Test func reopeningWhileChildrenStartIsNeverRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.path("a.h5")
        try HDF5File.create(path).close()
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            do {
                if worker == 0 {
                    for _ in 0..<60 {
                        let child = Process()
                        child.executableURL = URL(fileURLWithPath: "/bin/true")
                        try child.run()
                        child.waitUntilExit()
                    }
                } else {
                    for _ in 0..<400 {
                        let file = try HDF5File.open(path, readOnly: false)
                        try file.close()
                    }
                }
            } catch {
                failures.add("worker \(worker): \(error)")
            }
        }
        #expect(failures.list.isEmpty, "\(failures.list)")
    }
}
