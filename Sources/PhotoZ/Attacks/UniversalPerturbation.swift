import Foundation
import HDF5
import NeuralNet
import PhotoZData

/// One perturbation v (5×S×S) for all images, with ‖v‖ ≤ ε, grown over a set of images to
/// maximise the mean objective (Moosavi-Dezfooli et al. 2017; fitted here by projected
/// stochastic gradient ascent on the mean loss, as Shafahi et al. 2020 do).
///
/// v lives in the attack's space: added to the network input (`.input`), or, in `.skySigma`,
/// multiplied by each image's own per-band sky σ before it is added to the flux. Saved as HDF5
/// (`schemas/universal-perturbation.md`) and applicable to any data set of the same image size.
public struct UniversalPerturbation: Sendable {
    public static let schema = "photoz.universal_perturbation"
    public static let version: Int64 = 1

    /// v, (5, S, S), in `configuration.space`.
    public var values: [Float]
    public var imageSize: Int
    public var bands: Int
    public var configuration: AttackConfiguration
    /// The pixel transform of the model it was fitted on (defines the input space).
    public var pixelTransform: PixelTransform
    /// Provenance written as root attributes: model and data with checksums, rows, objective before and after.
    public var provenance: [String: HDF5AttributeValue] = [:]

    public init(values: [Float], imageSize: Int, bands: Int = 5, configuration: AttackConfiguration, pixelTransform: PixelTransform) {
        precondition(values.count == bands * imageSize * imageSize, "v must hold \(bands) × \(imageSize) × \(imageSize) values")
        self.values = values
        self.imageSize = imageSize
        self.bands = bands
        self.configuration = configuration
        self.pixelTransform = pixelTransform
    }

    /// ‖v‖ in the configuration's norm.
    public var norm: Float {
        NormBall(norm: configuration.norm, epsilon: configuration.epsilon, valuesPerImage: values.count).norms(values)[0]
    }

    /// Fits v over (at most `maxRows` rows of) a split: `effectiveSteps` passes, each over the
    /// batches in an order drawn from the seed; after each batch, v ← Proj_ε(v + α·direction(Σᵢ ∇_v Jᵢ)).
    /// Records the mean objective over the set before (v = 0) and after.
    public static func fit(network: PhotoZNetwork, dataSet: DataSet, split: Split?, configuration: AttackConfiguration,
                           maxRows: Int? = nil, batchSize: Int = 64, progress: ProgressHandler? = nil) throws -> UniversalPerturbation {
        try configuration.validate()
        precondition(configuration.method == .universal, "fit needs method .universal")
        try checkCompatible(network, dataSet)
        let batches = try dataSet.plan(split: split, order: .perShard, batchSize: batchSize, maxRows: maxRows, purpose: "fitting a universal perturbation")
        let perImage = network.valuesPerImage
        let ball = NormBall(norm: configuration.norm, epsilon: configuration.epsilon, valuesPerImage: perImage)
        var generator = SplitMix64(seed: configuration.seed)
        var v = configuration.effectiveRandomStart ? ball.randomStart(count: 1, using: &generator) : [Float](repeating: 0, count: perImage)
        var fitted = UniversalPerturbation(values: v, imageSize: network.imageSize, bands: network.bands,
                                           configuration: configuration, pixelTransform: network.pixelTransform)
        let objective = AttackObjective(configuration)
        let passes = configuration.effectiveSteps
        let total = batches.count * (passes + 2)
        var done = 0

        /// The mean objective over the set at the current v (forward passes only).
        func meanObjective() throws -> Double {
            var sum = 0.0
            for k in 0..<batches.count {
                let rows = try dataSet.read(batches, batch: k).rows
                let map = PerturbationMap(flux: rows.images, imageSize: network.imageSize, bands: network.bands,
                                          space: configuration.space, transform: network.pixelTransform)
                let x = map.input(for: broadcast(v, rows.count))
                sum += Double(try objective.value(network, input: x, ebv: rows.ebv, targets: objective.targets(for: rows.zSpec))) * Double(rows.count)
                done += 1
                progress?(done, total)
            }
            return sum / Double(batches.rows)
        }

        let before = try meanObjective()
        for _ in 0..<passes {
            for k in batches.indices.shuffled(using: &generator) {
                let rows = try dataSet.read(batches, batch: k).rows
                let map = PerturbationMap(flux: rows.images, imageSize: network.imageSize, bands: network.bands,
                                          space: configuration.space, transform: network.pixelTransform)
                let delta = broadcast(v, rows.count)
                var gradient = try objective.evaluate(network, input: map.input(for: delta), ebv: rows.ebv,
                                                      targets: objective.targets(for: rows.zSpec)).gradient
                map.pullBack(&gradient, at: delta)
                var sum = [Float](repeating: 0, count: perImage)
                for i in 0..<rows.count { for j in 0..<perImage { sum[j] += gradient[i * perImage + j] } }
                ball.step(&v, along: sum, size: configuration.effectiveStepSize)
                ball.project(&v)
                done += 1
                progress?(done, total)
            }
        }
        let after = try meanObjective()
        fitted.values = v
        fitted.provenance = [
            "fit_rows": .int64(Int64(batches.rows)),
            "fit_split": .string(split?.rawValue ?? "all"),
            "fit_data": .string(dataSet.path),
            "fit_data_checksum": .string(dataSet.checksum),
            "mean_objective_clean": .double(before),
            "mean_objective_perturbed": .double(after),
        ]
        return fitted
    }

    /// Adds v to flux images (n·5·S·S values): returns the adversarial images and the
    /// perturbation, both in flux units.
    public func apply(flux: [Float]) throws -> (images: [Float], perturbation: [Float]) {
        let perImage = values.count
        guard flux.count % perImage == 0 else {
            throw PhotoZDataError.invalidOption("images of \(flux.count % (bands * imageSize * imageSize) == 0 ? "another size" : "\(flux.count) values") cannot take a \(bands)×\(imageSize)×\(imageSize) universal perturbation")
        }
        let map = PerturbationMap(flux: flux, imageSize: imageSize, bands: bands, space: configuration.space, transform: pixelTransform)
        return map.flux(for: broadcast(values, flux.count / perImage))
    }

    /// Throws when the network and data cannot be used together.
    static func checkCompatible(_ network: PhotoZNetwork, _ dataSet: DataSet) throws {
        guard network.imageSize == dataSet.imageSize, network.bands == 5 else {
            throw PhotoZDataError.invalidOption("\(dataSet.path): images are 5×\(dataSet.imageSize)×\(dataSet.imageSize) but the model expects \(network.bands)×\(network.imageSize)×\(network.imageSize); attack data of the size the model was trained on")
        }
    }
}

/// `v` repeated for `count` images.
func broadcast(_ v: [Float], _ count: Int) -> [Float] {
    var out: [Float] = []
    out.reserveCapacity(v.count * count)
    for _ in 0..<count { out += v }
    return out
}
