import Dispatch
import Foundation

/// Cuts the objects of every field on `threads` workers that share three kinds of task:
/// decompressing a frame, resampling one band of a group of objects from its decompressed
/// frame, and writing a group's stamp files once its five bands are resampled.
///
/// Why one pool rather than phases: with many objects per field, decompression and resampling
/// cost about the same, and a field's five frames do not divide evenly over the threads (two
/// threads: two, two, then one frame with the other thread idle). Here a band's objects are
/// resampled as soon as its frame is decompressed, on whichever thread is free, and stamps are
/// written while other frames decompress. A worker takes, in order: a group ready to be
/// written (it frees memory), a frame to decompress (the longest tasks, started first), a
/// band of a group to resample.
///
/// Memory is bounded whatever the catalog: the frames of at most `liveFields` fields, and
/// resampled stamps of at most `stampBytes` (groups are opened only within that budget; a group
/// is opened only when one of its frames is ready, and finishes once the others are). The
/// peaks reached are returned in `BatchOutcome` (tested against these bounds).
///
/// With a trace path, every task's thread, start, end, CPU time and run-queue wait are recorded
/// and written as CSV at the end (`CutoutTrace`): the evidence for where a run's wall time goes.
final class CutoutPipeline: @unchecked Sendable {
    private let fields: [FieldID]
    private let objects: [[Placement]]
    private let index: FrameIndex
    private let config: CutoutConfiguration
    private let threads: Int
    private let timing: Timing
    private let progress: ProgressHandler?
    private let plane: Int
    private let groupSize: Int
    private let liveFields: Int
    private let stampBudget: Int
    private let total: Int
    private let trace: CutoutTrace?
    /// One per worker, used by that worker alone (it keeps the current field's stamp template
    /// and its file buffer).
    private let writers: [StampWriter]

    private let condition = NSCondition()
    // Everything below is guarded by `condition`.
    private var nextField = 0
    private var states: [Int: FieldState] = [:]
    private var decodes: [(field: Int, band: Int)] = []
    private var resamples: [(field: Int, group: Int, band: Int)] = []
    private var resampleHead = 0
    private var writes: [(field: Int, group: Int)] = []
    private var openObjects = 0
    /// Admitted fields whose frames are still needed.
    private var holding = 0
    private var finished = 0
    private var busy = 0
    private var failure: (any Error)?
    private var outcome = BatchOutcome()
    private var rows: [Int: [Int: [String]]] = [:]
    /// Frames decompressed or being decompressed and not yet freed.
    private var framesHeld = 0
    /// Stamp buffers of released groups (`groupSize` objects each), reused by the next groups:
    /// a fresh buffer's pages were zeroed by the kernel on first touch (~1 % of the run's CPU).
    private var spareStamps: [UnsafeMutableBufferPointer<Float>] = []

    private final class FieldState {
        var frames: [[Float]?] = Array(repeating: nil, count: 5)
        var failed: (path: String, message: String)?
        var groups: [GroupState]
        var resamplesLeft: Int
        init(groups: [GroupState]) {
            self.groups = groups
            resamplesLeft = groups.count * 5
        }
    }

    private final class GroupState {
        let range: Range<Int>
        var stamps: UnsafeMutableBufferPointer<Float>?
        var masked: [Int]
        var bands = 0
        /// Resampling tasks running on it (its stamps are freed only when none is).
        var running = 0
        init(range: Range<Int>) {
            self.range = range
            masked = Array(repeating: 0, count: range.count * 5)
        }
    }

    init(fields: [FieldID], objects: [[Placement]], index: FrameIndex, config: CutoutConfiguration, threads: Int,
         timing: Timing, progress: ProgressHandler?, stampBytes: Int = defaultStampBytes, trace: CutoutTrace? = nil) {
        self.fields = fields
        self.objects = objects
        self.index = index
        self.config = config
        self.threads = threads
        self.timing = timing
        self.progress = progress
        self.trace = trace
        plane = config.size * config.size
        stampBudget = stampBytes / (5 * plane * MemoryLayout<Float>.size)
        // Groups of up to 16 objects: small enough to balance the threads, large enough that
        // the scheduling is negligible; several groups fit the budget whatever the stamp size.
        groupSize = max(1, min(16, stampBudget / 8))
        // Enough fields' frames to keep every thread decompressing (five per field), plus one so
        // the next field decompresses while the current one is resampled.
        liveFields = (threads + 4) / 5 + 1
        total = objects.reduce(0) { $0 + $1.count }
        writers = (0..<threads).map { _ in StampWriter(config: config) }
    }

    /// Runs the workers until every object is written or skipped; throws the first error that
    /// is not an unreadable frame (those skip their field's objects).
    func run() throws -> BatchOutcome {
        DispatchQueue.concurrentPerform(iterations: threads) { work(worker: $0) }
        for state in states.values { for group in state.groups { group.stamps?.deallocate() } }
        for stamps in spareStamps { stamps.deallocate() }
        if let failure { throw failure }
        for f in rows.keys.sorted() { for g in rows[f]!.keys.sorted() { outcome.frameRows += rows[f]![g]! } }
        outcome.liveFields = liveFields
        outcome.stampBudget = stampBudget
        return outcome
    }

    enum Task {
        case decode(field: Int, band: Int)
        case resample(field: Int, group: Int, band: Int)
        case write(field: Int, group: Int)
    }

    private func work(worker: Int) {
        condition.lock()
        while failure == nil && finished < total {
            guard let task = nextTask() else {
                // Only a running task can make more work: with none running, there is none left.
                if busy == 0 { break }
                condition.wait()
                continue
            }
            busy += 1
            condition.unlock()
            let started = trace?.begin()
            let result = Result { try perform(task, worker: worker) }
            let event = started.map { trace!.end($0, worker: worker, task: task) }
            condition.lock()
            if let event { trace!.events.append(event) }
            busy -= 1
            complete(task, result)
            condition.broadcast()
        }
        condition.broadcast()
        condition.unlock()
    }

    /// The next task to run, if any is ready (lock held).
    private func nextTask() -> Task? {
        if let w = writes.popLast() { return .write(field: w.field, group: w.group) }
        admitFields()
        while let d = decodes.first {
            decodes.removeFirst()
            if states[d.field]?.failed == nil {
                framesHeld += 1
                outcome.peakFrames = max(outcome.peakFrames, framesHeld)
                return .decode(field: d.field, band: d.band)
            }
        }
        var k = resampleHead
        while k < resamples.count {
            let unit = resamples[k]
            guard let state = states[unit.field], state.failed == nil else {
                if k == resampleHead { resampleHead += 1 }
                k += 1
                continue
            }
            let group = state.groups[unit.group]
            if group.stamps == nil {
                // Open it only within the stamp budget (always one group, whatever its size).
                guard openObjects == 0 || openObjects + group.range.count <= stampBudget else { k += 1; continue }
                group.stamps = spareStamps.popLast() ?? .allocate(capacity: groupSize * 5 * plane)
                openObjects += group.range.count
                outcome.peakStampObjects = max(outcome.peakStampObjects, openObjects)
            }
            group.running += 1
            if k == resampleHead { resampleHead += 1 } else { resamples.remove(at: k) }
            if resampleHead > 4096 { resamples.removeFirst(resampleHead); resampleHead = 0 }
            return .resample(field: unit.field, group: unit.group, band: unit.band)
        }
        return nil
    }

    /// Admits fields while fewer than `liveFields` hold frames (lock held).
    private func admitFields() {
        while holding < liveFields && nextField < fields.count {
            let f = nextField
            nextField += 1
            holding += 1
            let count = objects[f].count
            let groups = stride(from: 0, to: count, by: groupSize).map { GroupState(range: $0..<min($0 + groupSize, count)) }
            states[f] = FieldState(groups: groups)
            for band in 0..<5 { decodes.append((f, band)) }
        }
    }

    /// What a task hands to `complete`: a resampling's masked pixel counts per object, a
    /// write's objects written (positions in the group) and their lines of frames.csv.
    private struct Done {
        var counts: [Int] = []
        var lines: [String] = []
    }

    /// Runs a task without the lock: frames and groups it touches are owned by it until it completes.
    private func perform(_ task: Task, worker: Int) throws -> Done {
        switch task {
        case let .decode(f, b):
            let frame = index.fields[fields[f]]![Band.allCases[b]]!
            let t0 = threadCPUSeconds()
            defer { timing.add(read: threadCPUSeconds() - t0) }
            let image = try readFrameImage(frame)
            condition.lock()
            states[f]!.frames[b] = image
            condition.unlock()
            return Done()
        case let .resample(f, g, b):
            let t0 = threadCPUSeconds()
            defer { timing.add(resample: threadCPUSeconds() - t0) }
            condition.lock()
            let state = states[f]!, group = state.groups[g], image = state.frames[b]!
            condition.unlock()
            let band = Band.allCases[b], frame = index.fields[fields[f]]![band]!
            let resampler = LanczosResampler.forCutout, scratch = LanczosScratch()   // one scratch for the group's stamps
            var masked: [Int] = []
            try image.withUnsafeBufferPointer { image in
                for (k, o) in group.range.enumerated() {
                    let target = objects[f][o].target
                    let grid = StampGrid(ra: target.ra, dec: target.dec, size: config.size, pixelScale: config.pixelScale)
                    let out = UnsafeMutableBufferPointer(rebasing: group.stamps![(k * 5 + b) * plane..<(k * 5 + b + 1) * plane])
                    do {
                        masked.append(try resampler.resample(image: image, width: frame.width, height: frame.height, wcs: frame.wcs, grid: grid, into: out, scratch: scratch))
                    } catch {
                        throw PhotoZDataError.io(path: frame.path, message: "cannot resample object \(target.objectID): \(error)")
                    }
                }
            }
            return Done(counts: masked)
        case let .write(f, g):
            let t0 = threadCPUSeconds()
            defer { timing.add(write: threadCPUSeconds() - t0) }
            condition.lock()
            let group = states[f]!.groups[g]
            condition.unlock()
            var done = Done()
            let frames = index.fields[fields[f]]!
            // Lines of frames.csv, formatted here rather than under the lock; only the frame's
            // path can need quoting (1.5 % of the run's CPU went to quoting every field).
            let paths = Band.allCases.map { csvQuote(frames[$0]!.path) }
            for (k, o) in group.range.enumerated() {
                let object = objects[f][o]
                let counts = Array(group.masked[k * 5..<k * 5 + 5])
                if config.edge == .skip && counts.contains(where: { $0 > 0 }) { continue }
                let pixels = UnsafeBufferPointer(rebasing: group.stamps![k * 5 * plane..<(k + 1) * 5 * plane])
                try writers[worker].write(pixels, object: object, frames: frames, masked: counts,
                                          to: config.output + "/\(object.target.objectID).fits")   // (URL's path joining: 1 % of the run)
                done.counts.append(k)
                let start = "\(object.target.objectID),\(object.target.row),\(object.field),"
                var lines = ""
                for band in Band.allCases {
                    let frame = frames[band]!, p = object.positions[band]!
                    lines += start + band.rawValue + "," + paths[band.index] + "," + printfFormat("%.4f", p.x) + "," + printfFormat("%.4f", p.y)
                        + "," + printfFormat("%.2f", frame.margin(x: p.x, y: p.y)) + "," + String(counts[band.index]) + "\n"
                }
                done.lines.append(lines)
            }
            return done
        }
    }

    /// Records a finished task and queues what it made ready (lock held).
    private func complete(_ task: Task, _ result: Result<Done, any Error>) {
        switch (task, result) {
        case let (.decode(f, b), .success):
            let state = states[f]!
            if state.failed != nil {   // another frame of the field failed while this one decoded
                state.frames[b] = nil
                framesHeld -= 1
                return
            }
            for g in state.groups.indices { resamples.append((f, g, b)) }
        case let (.decode(f, b), .failure(error)):
            let state = states[f]!
            guard state.failed == nil else { framesHeld -= 1; return }
            let path = index.fields[fields[f]]![Band.allCases[b]]!.path
            state.failed = (path, "\(error)")
            framesHeld -= state.frames.count { $0 != nil } + 1   // the decoded ones and this one
            state.frames = Array(repeating: nil, count: 5)
            holding -= 1
            for group in state.groups where group.running == 0 { release(group) }
            for object in objects[f] {
                outcome.skipped.append(CutoutSkip(objectID: object.target.objectID, row: object.target.row, reason: .unreadableFrame, file: path, detail: "\(error)"))
            }
            finished += objects[f].count
            progress?(finished, total)
        case let (.resample(f, g, b), .success(done)):
            let state = states[f]!, group = state.groups[g]
            group.running -= 1
            if state.failed != nil {   // another frame of the field failed: its objects are skipped
                if group.running == 0 { release(group) }
                return
            }
            for (k, count) in done.counts.enumerated() { group.masked[k * 5 + b] = count }
            group.bands += 1
            if group.bands == 5 { writes.append((f, g)) }
            state.resamplesLeft -= 1
            if state.resamplesLeft == 0 {   // frees the field's frames (~60 MB for SDSS)
                framesHeld -= 5
                state.frames = Array(repeating: nil, count: 5)
                holding -= 1
            }
        case let (.write(f, g), .success(done)):
            let state = states[f]!, group = state.groups[g]
            let written = done.counts
            for (k, o) in group.range.enumerated() where !written.contains(k) {
                let object = objects[f][o]
                let counts = Array(group.masked[k * 5..<k * 5 + 5])
                outcome.skipped.append(CutoutSkip(objectID: object.target.objectID, row: object.target.row, reason: .onEdge, file: index.fields[object.field]![.r]!.path,
                                                  detail: "the stamp reaches past the frame edge in field \(object.field) (masked pixels u,g,r,i,z: \(counts.map(String.init).joined(separator: ","))); --edge mask keeps it with NaN pixels"))
            }
            rows[f, default: [:]][g] = done.lines
            outcome.written += written.count
            release(group)
            finished += group.range.count
            progress?(finished, total)
        case let (_, .failure(error)):
            if failure == nil { failure = error }
        }
    }

    /// Frees a group's stamps (lock held).
    private func release(_ group: GroupState) {
        guard let stamps = group.stamps else { return }
        spareStamps.append(stamps)   // within the budget: at most the groups open at once
        group.stamps = nil
        openObjects -= group.range.count
    }
}

/// Resampled stamps held in memory at once: 256 MB (3,200 objects of 64 × 64 × 5).
let defaultStampBytes = 256 << 20
