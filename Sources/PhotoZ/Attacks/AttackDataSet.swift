import Foundation
import HDF5
import MPI
import PhotoZData

/// Attacks the rows of a split and writes them as an adversarial data set: shards of the shard
/// schema (flux units, the pixel transform inverted), one per source shard with its split and row order,
/// an optional `perturbation` dataset, attack attributes and `manifest.json`
/// (`schemas/adversarial-shard.md`), so `train`, `predict`, `inspect`, `validate` and h5py read
/// them as they read clean shards.
///
/// Everything is written into a hidden staging folder beside `out` and moved into place at the
/// end: a failed or killed run leaves no folder that looks complete, and any previous output
/// untouched.
///
/// `fitProgress` reports the batches of a universal perturbation's fit; `progress` the rows attacked.
///
/// Under mpirun (`context` distributed) the batches are dealt out in rounds: in round j rank r
/// attacks batch j·N + r (its global index, so its seed, is the single process's), and rank 0
/// gathers the round's adversarial images and tallies, and alone writes them, in batch order,
/// through the data-set writer: one data set, the one a single process writes (memory: N
/// batches on rank 0). A universal perturbation is fitted by every rank alike (the fit is not
/// split) and applied in rounds. Every rank returns rank 0's summary, whose `mpiRanks` is N.
public func attackDataSet(_ config: AttackDataSetConfiguration, context: MPIContext? = nil, fitProgress: ProgressHandler? = nil,
                          progress: ProgressHandler? = nil) throws -> AttackSummary {
    let context = try context ?? MPIContext.start()
    try config.validate()
    let start = Date()
    let fm = FileManager.default
    let output = URL(fileURLWithPath: config.out).standardizedFileURL
    if fm.fileExists(atPath: output.path), !((try? fm.contentsOfDirectory(atPath: output.path))?.isEmpty ?? true), !config.overwrite {
        throw PhotoZDataError.outputExists(path: output.path)
    }
    let dataSet = try DataSet(path: config.data)
    // The carried optional columns (e.g. `labelled`, `catalog/…`) go through to the adversarial shards.
    let columns = dataSet.carriedColumns
    let batches = try dataSet.plan(split: config.split, order: .perShard, batchSize: config.batchSize, purpose: "an attack")
    // An attack pushes an estimate away from (or towards an offset of) the true redshift: rows
    // without one have nothing to attack, and their NaN label would make NaN images.
    if config.apply == nil, let unlabelled = try dataSet.unlabelledRows(in: config.split), unlabelled > 0 {
        throw PhotoZDataError.invalidOption("\(config.data): \(unlabelled) rows of the \(config.split?.rawValue ?? "whole") split have no spectroscopic redshift, which an attack needs; attack the labelled rows: photoz select \(config.data) --where 'labelled == 1' --out LABELLED")
    }
    let network = try config.model.map { try PhotoZNetwork.load(from: $0).network }
    if let network { try UniversalPerturbation.checkCompatible(network, dataSet) }
    if let model = config.model { try ModelImages.check(model: model, against: dataSet, purpose: "an attack") }
    let modelSHA = try config.model.map { try SHA256.hexDigest(ofFile: $0) }

    // The universal perturbation: read, or fitted now (its fit is part of the progress).
    var universal: UniversalPerturbation?
    if let path = config.apply {
        let u = try UniversalPerturbation.read(path)
        guard u.imageSize == dataSet.imageSize else {
            throw PhotoZDataError.invalidOption("\(path): the universal perturbation is 5×\(u.imageSize)×\(u.imageSize) but the images of \(config.data) are 5×\(dataSet.imageSize)×\(dataSet.imageSize)")
        }
        universal = u
    } else if let attack = config.attack, attack.method == .universal, let network {
        var u = try UniversalPerturbation.fit(network: network, dataSet: dataSet, split: config.fitSplit, configuration: attack,
                                              maxRows: config.fitMaxRows, batchSize: config.batchSize,
                                              progress: fitProgress)
        u.provenance["model"] = .string(config.model!)
        u.provenance["model_sha256"] = .string(modelSHA!)
        universal = u
    }
    let attack = try config.attack.flatMap { $0.method == .universal ? nil : try Attack($0) }
    let settings = universal?.configuration ?? config.attack!

    // The writer stages the output beside its final place and moves it there when finished.
    var options = DataSetWriter.Options(imageSize: dataSet.imageSize)
    options.shardSize = Int.max  // each output shard ends where its source shard ends
    options.compression = config.compression
    options.overwrite = config.overwrite
    options.attributes.bands = dataSet.bands  // adversarial shards keep their source's bands (g,r,i,z,y stays so)
    let perturbationColumn = ShardSchema.column(ShardSchema.perturbation)!
    options.optionalColumns = dataSet.heldCarriedColumns + dataSet.catalogColumns
    if config.writePerturbation { options.optionalColumns.append(perturbationColumn) }
    // Rank 0 alone writes; a failure there is every rank's error.
    var writer: DataSetWriter?
    var stagingFailure: (any Error)?
    if context.isRoot { do { writer = try DataSetWriter(target: output.path, options: options) } catch { stagingFailure = error } }
    try context.agree("staging \(output.path)", stagingFailure)

    var universalFile: String?
    if let universal, let writer {
        if config.apply == nil {
            try universal.write(to: writer.stagedPath(AttackDataSetConfiguration.universalFileName))
            universalFile = writer.finalPath(AttackDataSetConfiguration.universalFileName)
        } else {
            universalFile = config.apply
        }
    }
    let universalSHA = try universalFile.map { _ in
        try SHA256.hexDigest(ofFile: config.apply ?? writer!.stagedPath(AttackDataSetConfiguration.universalFileName))
    }

    var common: [String: HDF5AttributeValue] = settings.attributes
    common["adversarial"] = .int64(1)
    common["mpi_ranks"] = .int64(Int64(context.size))  // the processes that made it (1 without mpirun)
    common["attack_pixel_transform"] = .string((network?.pixelTransform ?? universal!.pixelTransform).rawValue)
    if let model = config.model, let network, let modelSHA {
        common["attack_model"] = .string(model)
        common["attack_model_sha256"] = .string(modelSHA)
        common["attack_model_architecture"] = .string(network.architecture.rawValue)
        common["attack_model_head"] = .string(network.head.rawValue)
    }
    if let universalFile, let universalSHA {
        common["attack_universal_file"] = .string(universalFile)
        common["attack_universal_sha256"] = .string(universalSHA)
    }

    var tally = AttackTally()
    var currentShard: Int?
    /// Rank 0: writes batch `k`'s rows (`rows`, or read again for another rank's batch) with
    /// their adversarial images (and perturbation), in batch order.
    func write(batch k: Int, rows: ShardRows? = nil, images: [Float], perturbation: [Float]) throws {
        guard let writer else { return }
        let s = batches.batches[k][0].shard  // .perShard: a batch never spans two shards
        if s != currentShard {  // a new source shard: a new output shard of its split, with its provenance
            let info = dataSet.shards[s]
            let source = dataSet.shard(info)
            let sourceSHA = try info.sha256 ?? SHA256.hexDigest(ofFile: info.path)
            let split = info.split ?? source.split ?? .test
            var attributes = ShardAttributes()
            attributes.bands = dataSet.bands
            if let scale = try source.file.root.attribute(ShardSchema.Attribute.pixelScale)?.doubleValue { attributes.pixelScale = scale }
            if let name = try source.file.root.attribute(ShardSchema.Attribute.extinctionCoefficients)?.stringValue,
               let set = ExtinctionCoefficients.named(name) { attributes.extinction = set }
            var inputs = ["source_shard": info.path, "source_shard_sha256": sourceSHA, "source_data": config.data,
                          "source_data_checksum": dataSet.checksum]
            if let model = config.model, let modelSHA { inputs["model"] = model; inputs["model_sha256"] = modelSHA }
            if let universalFile, let universalSHA { inputs["universal_perturbation"] = universalFile; inputs["universal_perturbation_sha256"] = universalSHA }
            attributes.inputs = jsonText(inputs)
            attributes.configuration = jsonText(config)
            attributes.extra = common
            attributes.extra["source_shard"] = .string(info.path)
            attributes.extra["source_shard_sha256"] = .string(sourceSHA)
            try writer.endShard(split: split, nextAttributes: attributes)
            currentShard = s
        }
        var out = try rows ?? dataSet.read(batches, batch: k, columns: columns).rows
        out.images = images
        if config.writePerturbation { out = out.adding(perturbationColumn, float32: perturbation) }
        try writer.append(out, split: dataSet.shards[s].split ?? dataSet.shard(dataSet.shards[s]).split ?? .test)
    }
    /// Attacks batch `k`: its adversarial images, perturbation and tally.
    func attackBatch(_ k: Int) throws -> (AdversarialBatch, AttackTally, ShardRows) {
        let rows = try dataSet.read(batches, batch: k, columns: columns).rows
        let adversarial: AdversarialBatch
        if let universal {
            let (images, perturbation) = try universal.apply(flux: rows.images)
            adversarial = AdversarialBatch(images: images, perturbation: perturbation, delta: broadcast(universal.values, rows.count))
        } else {
            adversarial = try attack!.perturb(flux: rows.images, ebv: rows.ebv, zSpec: rows.zSpec, network: network!, batchIndex: k)
        }
        var batchTally = AttackTally()
        try batchTally.add(rows, adversarial, settings: settings, network: network)
        return (adversarial, batchTally, rows)
    }

    if !context.isDistributed {
        for k in batches.indices {
            let (adversarial, batchTally, rows) = try attackBatch(k)
            _ = tally.add(packed: batchTally.packed, at: 0)
            try write(batch: k, rows: rows, images: adversarial.images, perturbation: adversarial.perturbation)
            progress?(tally.rows, batches.rows)
        }
    } else {
        let ranks = context.size
        for round in 0..<((batches.count + ranks - 1) / ranks) {
            let k = round * ranks + context.rank
            var message: [Float] = []  // this rank's packed tally, images, perturbation (none past the last batch)
            var failure: (any Error)?
            if k < batches.count {
                do {
                    let (adversarial, batchTally, _) = try attackBatch(k)
                    message = batchTally.packed + adversarial.images + (config.writePerturbation ? adversarial.perturbation : [])
                } catch { failure = error }
            }
            try context.agree("attacking batch \(k + 1)", failure)
            let gathered = try context.gather(message)
            try context.onRoot("writing batches of round \(round + 1) to \(output.path)") { () -> Bool in
                guard let gathered else { return true }
                var at = 0
                for r in 0..<ranks where round * ranks + r < batches.count {
                    let n = batches.batches[round * ranks + r].reduce(0) { $0 + $1.rows.count }
                    let values = n * 5 * dataSet.imageSize * dataSet.imageSize
                    at = tally.add(packed: gathered, at: at)
                    let images = Array(gathered[at..<(at + values)]); at += values
                    var perturbation: [Float] = []
                    if config.writePerturbation { perturbation = Array(gathered[at..<(at + values)]); at += values }
                    try write(batch: round * ranks + r, images: images, perturbation: perturbation)
                }
                progress?(tally.rows, batches.rows)
                return true
            }
        }
    }

    return try context.onRoot("finishing \(output.path)") { () -> AttackSummary in
        let manifest = try writer!.finish { _ in try adversarialManifest(source: dataSet, config: config, inputs: common) }
        let seconds = Date().timeIntervalSince(start)
        var summary = AttackSummary(out: output.path, method: config.methodName, description: settings.summary, rows: tally.rows,
                                    shards: manifest.shards.count, seconds: seconds, imagesPerSecond: Double(tally.rows) / max(seconds, 1e-9),
                                    clean: tally.cleanMetrics, adversarial: tally.adversarialMetrics, meanAbsoluteShift: tally.meanAbsoluteShift,
                                    largestNorm: Double(tally.largestNorm), universalFile: universalFile)
        summary.mpiRanks = context.size
        return summary
    }
}

extension ShardCompression {
    /// The HDF5 filter setting of this compression choice.
    var hdf5Compression: HDF5Compression {
        switch self {
        case .none: .none
        case let .gzip(level): .gzip(level: level)
        }
    }
}
