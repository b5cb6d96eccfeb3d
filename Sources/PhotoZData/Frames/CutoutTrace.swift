import Foundation

/// A record of every task a `cutout` run's workers performed: which worker, which task, when
/// it started and ended, the CPU time it took and how long its thread waited for a core.
///
/// Why: whether the wall time of a run is decompression, resampling, writing, waiting on the
/// disk, idle workers or other processes taking the cores cannot be told from totals. With
/// each task's wall interval, CPU time and run-queue wait (Linux's per-thread `schedstat`),
/// blocked time is what remains (wall − CPU − wait), idle time is the gaps between a worker's
/// tasks, and a timeline shows when each frame was decompressed on which worker.
///
/// Written as CSV by `cutout` when asked (`PHOTOZ_CUTOUT_TRACE=FILE`, or its `trace:` argument):
/// `worker,task,field,band,group,start,end,cpu,wait`, times in seconds from the start of the
/// run; `task` is `decode` (decompress and decode one frame), `resample` (one band of a group of
/// objects) or `write` (a group's stamp files). Phases outside the workers are rows with
/// worker −1 (`catalog`, `index`, `place`, `pipeline`, `reports`, `commit`). cpu and wait are
/// empty where `/proc/thread-self/schedstat` is missing.
final class CutoutTrace: @unchecked Sendable {
    struct Event {
        var worker: Int
        var task: String
        var field = -1, band = -1, group = -1
        var start: Double
        var end: Double
        var cpu: Double?
        var wait: Double?
    }

    struct Mark {
        var time: Double
        var cpu: Double?
        var wait: Double?
    }

    /// The workers' events; appended under the pipeline's lock.
    var events: [Event] = []
    private let lock = NSLock()
    private let origin = CutoutTrace.now()

    /// The moment a task starts on the calling thread.
    func begin() -> Mark {
        let stat = Self.schedstat()
        return Mark(time: Self.now(), cpu: stat?.cpu, wait: stat?.wait)
    }

    /// The event of a task begun at `mark` on the calling thread and ending now.
    func end(_ mark: Mark, worker: Int, task: CutoutPipeline.Task) -> Event {
        let time = Self.now(), stat = Self.schedstat()
        var event = Event(worker: worker, task: "", start: mark.time - origin, end: time - origin,
                          cpu: stat.flatMap { s in mark.cpu.map { s.cpu - $0 } }, wait: stat.flatMap { s in mark.wait.map { s.wait - $0 } })
        switch task {
        case let .decode(f, b): event.task = "decode"; event.field = f; event.band = b
        case let .resample(f, g, b): event.task = "resample"; event.field = f; event.group = g; event.band = b
        case let .write(f, g): event.task = "write"; event.field = f; event.group = g
        }
        return event
    }

    /// Runs `body` as a phase of the run outside the workers.
    func phase<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let mark = begin()
        defer {
            let time = Self.now()
            lock.lock()
            events.append(Event(worker: -1, task: name, start: mark.time - origin, end: time - origin, cpu: nil, wait: nil))
            lock.unlock()
        }
        return try body()
    }

    /// The events as CSV, workers' tasks in order of start.
    var csv: String {
        lock.lock()
        defer { lock.unlock() }
        var text = "worker,task,field,band,group,start,end,cpu,wait\n"
        func number(_ v: Double?) -> String { v.map { printfFormat("%.6f", $0) } ?? "" }
        func index(_ v: Int) -> String { v < 0 ? "" : String(v) }
        for e in events.sorted(by: { ($0.start, $0.worker) < ($1.start, $1.worker) }) {
            text += "\(e.worker),\(e.task),\(index(e.field)),\(index(e.band)),\(index(e.group)),\(number(e.start)),\(number(e.end)),\(number(e.cpu)),\(number(e.wait))\n"
        }
        return text
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    /// The calling thread's CPU time and run-queue wait so far (the first two fields of Linux's
    /// `/proc/thread-self/schedstat`, nanoseconds), or nil where it is not available.
    static func schedstat() -> (cpu: Double, wait: Double)? {
        let fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        guard n > 0 else { return nil }
        let fields = String(decoding: buffer[0..<n], as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 2, let cpu = Double(fields[0]), let wait = Double(fields[1]) else { return nil }
        return (cpu * 1e-9, wait * 1e-9)
    }
}
