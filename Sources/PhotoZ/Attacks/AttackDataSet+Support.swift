import Foundation
import HDF5
import PhotoZData

/// Running totals of an attack over a data set: rows, largest perturbation norm, and the
/// attacked model's estimates on clean and adversarial images.
struct AttackTally {
    private(set) var rows = 0
    private(set) var largestNorm: Float = 0
    private var zSpec: [Float] = []
    private var zClean: [Float] = []
    private var zAdversarial: [Float] = []

    mutating func add(_ batch: ShardRows, _ adversarial: AdversarialBatch, settings: AttackConfiguration, network: PhotoZNetwork?) throws {
        rows += batch.count
        let ball = NormBall(norm: settings.norm, epsilon: settings.epsilon, valuesPerImage: batch.pixelsPerImage)
        largestNorm = max(largestNorm, ball.norms(adversarial.delta).max() ?? 0)
        guard let network else { return }
        func estimates(_ flux: [Float]) throws -> [Float] {
            var x = flux
            network.pixelTransform.apply(&x)
            try network.forward(images: x, ebv: batch.ebv)
            return network.pointEstimates()
        }
        zClean += try adversarial.cleanEstimates ?? estimates(batch.images)
        zAdversarial += try estimates(adversarial.images)
        zSpec += batch.zSpec
    }

    private var known: [Int] { zSpec.indices.filter { zSpec[$0].isFinite } }

    /// The tally as floats, to send to another rank: rows, largest norm, the three counts, then
    /// z_spec, the clean and the adversarial estimates.
    var packed: [Float] {
        [Float(rows), largestNorm, Float(zSpec.count), Float(zClean.count), Float(zAdversarial.count)] + zSpec + zClean + zAdversarial
    }

    /// Adds a tally received as `packed` (from `values[offset...]`); returns the offset after it.
    mutating func add(packed values: [Float], at offset: Int) -> Int {
        let counts = (2..<5).map { Int(values[offset + $0]) }
        rows += Int(values[offset])
        largestNorm = max(largestNorm, values[offset + 1])
        var at = offset + 5
        zSpec += values[at..<(at + counts[0])]; at += counts[0]
        zClean += values[at..<(at + counts[1])]; at += counts[1]
        zAdversarial += values[at..<(at + counts[2])]; at += counts[2]
        return at
    }

    var cleanMetrics: PhotoZMetrics? {
        zClean.isEmpty ? nil : PhotoZMetrics(zPhot: known.map { zClean[$0] }, zSpec: known.map { zSpec[$0] })
    }

    var adversarialMetrics: PhotoZMetrics? {
        zAdversarial.isEmpty ? nil : PhotoZMetrics(zPhot: known.map { zAdversarial[$0] }, zSpec: known.map { zSpec[$0] })
    }

    var meanAbsoluteShift: Double? {
        zClean.isEmpty ? nil : zip(zClean, zAdversarial).reduce(0.0) { $0 + Double(abs($1.1 - $1.0)) } / Double(zClean.count)
    }
}

/// The manifest of an adversarial data set: the source's (split fractions and rule kept) with
/// new inputs (the writer fills in the shards and rows); a fresh one when the source is a single shard.
func adversarialManifest(source: DataSet, config: AttackDataSetConfiguration,
                         inputs attributes: [String: HDF5AttributeValue]) throws -> Manifest {
    var object: [String: Any]
    if !source.isSingleFile, let data = FileManager.default.contents(atPath: (source.path as NSString).appendingPathComponent(Manifest.fileName)),
       let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] {
        object = parsed
    } else {
        let fractions = SplitFractions.default
        object = ["schema": Manifest.schemaName, "schema_version": 1, "shard_schema": ShardSchema.name,
                  "shard_schema_version": Int(ShardSchema.version), "tool": "photoz", "image_size": source.imageSize,
                  "bands": Band.allCases.map(\.rawValue), "split_rule": "copied from the source shard's split attribute",
                  "split_fractions": ["train": fractions.train, "valid": fractions.valid, "test": fractions.test]]
    }
    var inputs: [String: String] = ["adversarial_of": source.path, "source_data_checksum": source.checksum,
                                    "configuration": jsonText(config)]
    for (name, value) in attributes { inputs[name] = attributeText(value) }
    object["tool_version"] = PhotoZVersion.current
    object["created"] = isoTimestamp()
    object["compression"] = config.compression.description
    object["inputs"] = inputs
    object["rows"] = [String: Int]()
    object["skipped"] = 0
    object.removeValue(forKey: "skipped_report")
    object["shards"] = [Any]()
    let data = try JSONSerialization.data(withJSONObject: object)
    do { return try JSONDecoder().decode(Manifest.self, from: data) } catch {
        throw PhotoZDataError.schema(path: source.path, message: "cannot build the adversarial data set's manifest from the source's: \(error)")
    }
}

