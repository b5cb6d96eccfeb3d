import Foundation
import HDF5
import NeuralNet
import PhotoZData

/// What images a model was trained on: the band names in the order of its input channels and
/// the pixel scale, recorded by `train` as the model file's root attributes `band_names` and
/// `pixel_scale`, and checked against a data set by every stage that applies a model to one
/// (predict, attack, robustness, train --resume).
///
/// Why: the network only knows it has 5 input channels, so a u,g,r,i,z model would otherwise
/// run on a g,r,i,z,y set (GalaxiesML) without a word, reading g as u, and produce photo-z that
/// look fine and mean nothing.
///
/// Model files written before these attributes existed hold neither; they are read as
/// u,g,r,i,z ("not recorded", said in every message) since every data set photoz could train on
/// then was SDSS's, and their pixel scale is not checked. Older readers ignore the two
/// attributes (readers skip attributes they do not know, `schemas/model-file.md`).
public struct ModelImages: Sendable, Equatable {
    public static let bandNamesAttribute = "band_names"
    public static let pixelScaleAttribute = "pixel_scale"

    /// Band names of the input channels.
    public var bands: [String]
    /// Arcseconds per pixel, when recorded.
    public var pixelScale: Double?
    /// False for a model file without `band_names` (its bands assumed u,g,r,i,z).
    public var recorded: Bool

    /// What a model trained on `dataSet` records.
    public init(dataSet: DataSet) {
        bands = dataSet.bands
        pixelScale = dataSet.pixelScale
        recorded = true
    }

    /// What the model file at `path` records. Only its root attributes are read; a list of
    /// band names that no data set could hold (empty, more than 16, names of more than 32
    /// bytes) or a non-positive pixel scale is an error naming the file.
    public init(modelFile path: String) throws {
        let file: HDF5File
        do { file = try HDF5File.open(path, readOnly: true) } catch {
            throw ModelFileError(path: path, message: "cannot open the model file to read its bands: \(error)")
        }
        defer { try? file.close() }
        let root = file.root
        if let value = try root.attribute(Self.bandNamesAttribute) {
            guard let names = value.stringsValue, (1...16).contains(names.count),
                  names.allSatisfy({ (1...32).contains($0.utf8.count) }) else {
                throw ModelFileError(path: path, message: "root attribute \(Self.bandNamesAttribute) is not a list of 1 to 16 band names: damaged file")
            }
            bands = names
            recorded = true
        } else {
            bands = ShardSchema.sdssBands
            recorded = false
        }
        if let value = try root.attribute(Self.pixelScaleAttribute) {
            guard let scale = value.doubleValue, scale.isFinite, scale > 0 else {
                throw ModelFileError(path: path, message: "root attribute \(Self.pixelScaleAttribute) is not a positive number: damaged file")
            }
            pixelScale = scale
        } else {
            pixelScale = nil
        }
    }

    /// The model file attributes recording these images.
    public var attributes: [String: HDF5AttributeValue] {
        var a: [String: HDF5AttributeValue] = [Self.bandNamesAttribute: .strings(bands)]
        if let pixelScale { a[Self.pixelScaleAttribute] = .double(pixelScale) }
        return a
    }

    /// The bands as a message shows them: "u,g,r,i,z", or "u,g,r,i,z (not recorded: …)".
    public var bandsText: String {
        bands.joined(separator: ",") + (recorded ? "" : " (not recorded in the model file, which predates band names: assumed)")
    }

    /// Throws unless `dataSet` holds images of these bands (same names, same order) and, where
    /// both record it, the same pixel scale (within 0.1 %). `model` names the model file and
    /// `purpose` the stage, both for the message.
    public func check(_ dataSet: DataSet, model: String, purpose: String) throws {
        let dataBands = dataSet.bands
        guard dataBands == bands else {
            throw PhotoZDataError.invalidOption("\(model) was trained on bands \(bandsText) but \(dataSet.path) holds bands \(dataBands.joined(separator: ",")): \(purpose) needs images of the model's bands in its order; use a model trained on \(dataBands.joined(separator: ",")) data (photoz train --data \(dataSet.path))")
        }
        if let mine = pixelScale, let theirs = dataSet.pixelScale, abs(mine - theirs) > 1e-3 * mine {
            throw PhotoZDataError.invalidOption("\(model) was trained on images of \(mine) arcsec/pixel but \(dataSet.path) holds \(theirs) arcsec/pixel: \(purpose) needs images of the model's pixel scale (galaxies would look \(String(format: "%.2f", mine / theirs))× their size to it)")
        }
    }

    /// Reads the model file's record and checks `dataSet` against it (`check`).
    public static func check(model path: String, against dataSet: DataSet, purpose: String) throws {
        try ModelImages(modelFile: path).check(dataSet, model: path, purpose: purpose)
    }
}
