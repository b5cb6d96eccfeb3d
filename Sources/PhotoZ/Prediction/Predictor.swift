import Foundation
import NeuralNet
import PhotoZData

/// Runs one or several networks over the rows of a split and collects their predictions.
///
/// Several networks form an ensemble: classification PDFs are averaged (the point estimates
/// then come from the averaged PDF); regression outputs are averaged.
public struct Predictor {
    public var networks: [PhotoZNetwork]
    public var batchSize: Int

    public init(networks: [PhotoZNetwork], batchSize: Int = 64) throws {
        precondition(!networks.isEmpty, "a predictor needs at least one network")
        let first = networks[0]
        for (k, n) in networks.enumerated().dropFirst() {
            guard n.head == first.head, n.bins == first.bins, n.imageSize == first.imageSize else {
                throw PhotoZDataError.invalidOption("model \(k + 1) of the ensemble differs from model 1 in head, bins or image size: an ensemble averages PDFs over the same bins")
            }
        }
        self.networks = networks
        self.batchSize = batchSize
    }

    /// The columns prediction reads.
    static let columns = [ShardSchema.images, ShardSchema.objectID, ShardSchema.zSpec, ShardSchema.ebv,
                          ShardSchema.ra, ShardSchema.dec].map { ShardSchema.column($0)! }

    /// Predicts every row of `split` (nil: all rows), in shard order.
    ///
    /// With `keepPDFs` false (validation during training) each batch's PDFs are reduced to the
    /// point estimates and the log-loss of the true bin (`Predictions.trueBinLoss`) and dropped,
    /// so memory does not grow with the split: 16 bytes per object instead of 4 per bin.
    ///
    /// With `ranks` > 1 (a run under mpirun), this rank predicts only its share of the batches,
    /// `RankPartition(count: batches, ranks: ranks).range(of: rank)`: whole batches, so every
    /// row is computed in the same batch, at the same position, with the same padding as in a
    /// single process, and the concatenation of the ranks' predictions in rank order
    /// (`Predictions.gathered`) is the single process's, bit for bit. A rank whose share is
    /// empty returns empty predictions.
    public func predict(_ dataSet: DataSet, split: Split?, keepPDFs: Bool = true, progress: ProgressHandler? = nil,
                        rank: Int = 0, ranks: Int = 1) throws -> Predictions {
        let shards = try dataSet.requireRows(in: split, purpose: "prediction")
        for network in networks where network.imageSize != dataSet.imageSize {
            throw PhotoZDataError.invalidOption("\(dataSet.path): images are \(dataSet.imageSize)×\(dataSet.imageSize) but the model expects \(network.imageSize)×\(network.imageSize)")
        }
        let splitRows = shards.reduce(0) { $0 + $1.rows }
        let batchSize = min(self.batchSize, max(splitRows, 1))  // no padding beyond the rows there are
        let first = networks[0]
        let k = first.head == .classification ? first.bins.count : 0
        var out = Predictions(objectID: [], zSpec: [], ebv: [], zPhot: [])
        out.ra = []
        out.dec = []
        var pdfs: [Float] = [], modes: [Float] = [], stds: [Float] = [], trueBinLoss: [Float] = []
        var done = 0

        // Every batch has `batchSize` rows: batches run across shard boundaries and the last one
        // is padded (its extra outputs dropped), so the network never rebuilds its buffers and
        // primitives for another batch size (which, during training, it would do twice per shard).
        let plan = try dataSet.plan(split: split, order: .sequential(padded: true), batchSize: batchSize, purpose: "prediction")
        let mine = RankPartition(count: plan.count, ranks: ranks).range(of: rank)
        let total = mine.reduce(0) { $0 + plan.batches[$1].reduce(0) { $0 + $1.rows.count } }
        for b in mine {
            let batch = try dataSet.read(plan, batch: b, columns: Self.columns)
            let rows = batch.rows, n = batch.count
            var average = [Float](repeating: 0, count: first.head == .classification ? n * k : n)
            for network in networks {  // each network transforms its own copy of the pixels
                var images = rows.images
                network.pixelTransform.apply(&images)
                try network.forward(images: images, ebv: rows.ebv)
                let values = first.head == .classification ? network.pdf() : network.output
                for i in average.indices { average[i] += values[i] / Float(networks.count) }
            }
            out.objectID += rows.objectID[0..<n]
            out.zSpec += rows.zSpec[0..<n]
            out.ebv += rows.ebv[0..<n]
            out.ra? += rows.ra[0..<n]
            out.dec? += rows.dec[0..<n]
            if first.head == .classification && keepPDFs {
                pdfs += average
            } else if first.head == .classification {
                let summary = PDFSummary(pdfs: average, bins: first.bins)
                out.zPhot += summary.mean
                modes += summary.mode
                stds += summary.std
                trueBinLoss += (0..<n).map { i in -log(max(average[i * k + first.bins.index(of: rows.zSpec[i])], 1e-30)) }
            } else {
                out.zPhot += average
            }
            done += n
            progress?(done, total)
        }
        // Positions a converted source lacked (0 in every row) are left out of the file, as export leaves them out.
        let absent = AbsentColumns.of(dataSet)
        if absent.contains(ShardSchema.ra) || absent.contains(ShardSchema.dec) { (out.ra, out.dec) = (nil, nil) }
        if first.head == .classification && keepPDFs {
            let summary = PDFSummary(pdfs: pdfs, bins: first.bins)
            out.zPhot = summary.mean
            out.zPhotMode = summary.mode
            out.zPhotStd = summary.std
            out.pdf = pdfs
            out.binEdges = first.bins.edges
        } else if first.head == .classification {
            (out.zPhotMode, out.zPhotStd, out.trueBinLoss) = (modes, stds, trueBinLoss)
        }
        return out
    }
}

/// Mean, mode and standard deviation of histogram PDFs over bin centres.
public struct PDFSummary {
    public var mean: [Float]
    public var mode: [Float]
    public var std: [Float]

    public init(pdfs: [Float], bins: RedshiftBins) {
        let k = bins.count, c = bins.centers
        let n = pdfs.count / k
        mean = []; mode = []; std = []
        mean.reserveCapacity(n); mode.reserveCapacity(n); std.reserveCapacity(n)
        for i in 0..<n {
            var total = 0.0, m = 0.0, best = 0
            for j in 0..<k {
                let p = Double(pdfs[i * k + j])
                total += p
                m += p * c[j]
                if pdfs[i * k + j] > pdfs[i * k + best] { best = j }
            }
            m /= max(total, .leastNonzeroMagnitude)
            var v = 0.0
            for j in 0..<k { v += Double(pdfs[i * k + j]) * (c[j] - m) * (c[j] - m) }
            mean.append(Float(m))
            mode.append(Float(c[best]))
            std.append(Float((v / max(total, .leastNonzeroMagnitude)).squareRoot()))
        }
    }
}
