import FITS
import Foundation
import SafeOutput
import HDF5
import PhotoZData

extension FITSExport {
    /// Shard attributes copied to the primary header, with their FITS keywords.
    static let attackKeywords: [(attribute: String, keyword: String)] = [
        ("attack_method", "ATTACK"), ("attack_epsilon", "EPSILON"), ("attack_space", "EPSSPACE"), ("attack_norm", "EPSNORM"),
        ("attack_steps", "ASTEPS"), ("attack_step_size", "ASTEPSZ"), ("attack_random_start", "ARANDST"), ("attack_seed", "ASEED"),
        ("attack_loss", "ALOSS"), ("attack_target_dz", "ATARGDZ"), ("attack_pixel_transform", "APIXTRAN"), ("attack_model", "AMODEL"),
        ("attack_model_sha256", "AMODSHA"), ("attack_model_architecture", "AMODARCH"), ("attack_universal_file", "AUNIFILE"),
        ("source_shard", "SRCSHARD"), ("source_shard_sha256", "SRCSHA"),
    ]

    /// Writes one object's file atomically (`AtomicFile`); an existing one is replaced only as
    /// `replacement` allows.
    func write(_ batch: ShardRows, kinds: [(name: String, pixels: [Float])], shard: Shard, provenance: Provenance, to path: String) throws {
        let size = batch.imageSize, plane = size * size
        let source = SourceHeader.find(objectID: batch.objectID[0], shard: shard)
        // The stamp's WCS as the shards store it (from its cutout at ingest, crop applied); the
        // original cutout's WCS cards are never copied (they describe the uncropped image) and
        // none is made up: without a stored one the file has no celestial WCS.
        let stamp = batch.holds(ShardSchema.wcs) ? StampWCS(values: batch[float64: ShardSchema.wcs][0..<StampWCS.count]) : nil
        if stamp == nil { noteWithoutWCS?(batch.objectID[0]) }
        try AtomicFile.write(to: path, replacing: replacement) { temporary in
            let file = try FITSFile.create(temporary)
            try file.createImage(bitpix: -32, shape: [])
            for card in source?.primary ?? [] where !StampWCS.isCelestialKeyword(card.name) { try copy(card, to: file) }
            for column in batch.columns {  // the row's scalar columns that have a FITS keyword (ShardSchema.columns)
                guard let keyword = column.fitsKeyword else { continue }
                let comment = (column.unit.isEmpty ? "" : "[\(column.unit)] ") + column.meaning
                let value = batch.scalar(column, row: 0)
                try file.write(keyword, column.kind == .int64 ? .int(Int(batch[int64: column.name][0])) : .double(value), comment: comment)
            }
            try file.write("SHARD", .string(ascii(shard.path)), comment: "photoz shard the images come from")
            try file.write("KINDS", .string(kinds.map(\.name).joined(separator: ",")), comment: "image kinds, one HDU per kind and band")
            for (attribute, keyword) in Self.attackKeywords {
                guard let value = try shard.file.root.attribute(attribute) else { continue }
                switch value {
                case let .string(s): try file.write(keyword, .string(ascii(s)), comment: attribute)
                case let .int64(i): try file.write(keyword, .int(Int(i)), comment: attribute)
                case let .double(d) where d.isFinite: try file.write(keyword, .double(d), comment: attribute)
                default: continue
                }
            }
            try file.writeHistory("written by photoz export-fits \(PhotoZVersion.current) on \(isoTimestamp())")
            // The provenance record (`Provenance`) as cards: schema, tool, time and stage as
            // keywords, the configuration and each input with its SHA-256 as HISTORY.
            try file.write("SCHEMA", .string(provenance.schema), comment: "photoz file schema")
            try file.write("SCHEMAV", .int(Int(provenance.schemaVersion)), comment: "schema version")
            try file.write("TOOL", .string(provenance.tool), comment: "software that wrote the file")
            try file.write("TOOLVERS", .string(provenance.toolVersion), comment: "its version")
            // FITS dates carry no zone letter (the standard's DATE is UTC).
            try file.write("DATE", .string(provenance.created.hasSuffix("Z") ? String(provenance.created.dropLast()) : provenance.created), comment: "creation time (UTC)")
            try file.write("STAGE", .string(provenance.stage), comment: "photoz command that wrote the file")
            try file.writeHistory("configuration " + ascii(provenance.configuration))
            for input in provenance.inputs { try file.writeHistory("input \(input.role) \(ascii(input.path)) sha256 \(input.sha256)") }
            for kind in kinds {
                for band in Band.allCases {
                    try file.createImage(bitpix: -32, shape: [size, size])
                    for card in source?.bands[band] ?? [] where !StampWCS.isCelestialKeyword(card.name) { try copy(card, to: file) }
                    try file.write("EXTNAME", .string("\(kind.name)_\(band.rawValue)"), comment: "kind_band")
                    try file.write("KIND", .string(kind.name), comment: Self.kindComment(kind.name))
                    try file.write("FILTER", .string(band.rawValue), comment: "SDSS band")
                    try file.write("BUNIT", .string(Survey.fluxUnit), comment: "1 nanomaggy = AB mag 22.5")
                    if let stamp { try writeWCS(stamp, to: file) } else {
                        try file.writeComment("no celestial WCS: the shards store none for this object (its cutout had none)")
                    }
                    try file.writeImage(Array(kind.pixels[band.index * plane..<(band.index + 1) * plane]))
                }
            }
            try file.close()
        }
    }

    /// Whether an existing object file may be replaced: with `overwrite`, a file export-fits wrote.
    var replacement: Replacement { .overwrite(overwrite, recognise: PhotoZOutputs.isFITSExport) }

    static func kindComment(_ kind: String) -> String {
        switch kind {
        case "CLEAN": "image before the attack"
        case "PERT": "perturbation = ADV - CLEAN"
        case "ADV": "adversarial image"
        default: "image"
        }
    }

    /// The stamp's stored WCS: TAN about the stamp centre, ICRS.
    private func writeWCS(_ w: StampWCS, to file: FITSFile) throws {
        try file.write("CTYPE1", .string("RA---TAN"), comment: "from the cutout's WCS at ingest (shard /wcs)")
        try file.write("CTYPE2", .string("DEC--TAN"), comment: nil)
        try file.write("RADESYS", .string("ICRS"), comment: nil)
        try file.write("CRVAL1", .double(w.crval.0), comment: "[deg]")
        try file.write("CRVAL2", .double(w.crval.1), comment: "[deg]")
        try file.write("CRPIX1", .double(w.crpix.0), comment: nil)
        try file.write("CRPIX2", .double(w.crpix.1), comment: nil)
        try file.write("CD1_1", .double(w.cd.0), comment: nil)
        try file.write("CD1_2", .double(w.cd.1), comment: nil)
        try file.write("CD2_1", .double(w.cd.2), comment: nil)
        try file.write("CD2_2", .double(w.cd.3), comment: nil)
    }

    /// Copies a card of the source cutout, typed from its text (T/F, integer, real, else string).
    private func copy(_ card: FITSCard, to file: FITSFile) throws {
        switch card.name {
        case "COMMENT":
            // cfitsio writes the standard's reference itself.
            guard !card.comment.contains("Flexible Image Transport System"), !card.comment.contains("volume 376, page 359") else { return }
            try file.writeComment(ascii(card.comment))
        case "HISTORY": try file.writeHistory(ascii(card.comment))
        default:
            let text = card.value
            let value: FITSValue
            if text == "T" || text == "F" { value = .bool(text == "T") } else if let i = Int(text) { value = .int(i) } else if let d = Double(text.replacingOccurrences(of: "D", with: "E")), d.isFinite { value = .double(d) } else { value = .string(ascii(text)) }
            try file.write(card.name, value, comment: ascii(card.comment))
        }
    }
}

/// Text with anything but printable ASCII replaced by `?` (FITS headers hold ASCII only).
func ascii(_ text: String) -> String {
    String(text.unicodeScalars.map { (32...126).contains($0.value) ? Character($0) : "?" })
}

/// The header cards of an object's original cutout, found through the `inputs` of its (source) shard.
struct SourceHeader {
    var primary: [FITSCard]
    var bands: [Band: [FITSCard]]

    /// Cards that describe the data layout or HDU, never copied.
    static func isStructural(_ name: String) -> Bool {
        let fixed: Set = ["", "SIMPLE", "BITPIX", "EXTEND", "XTENSION", "PCOUNT", "GCOUNT", "EXTNAME", "END", "BSCALE", "BZERO",
                          "CHECKSUM", "DATASUM", "WCSAXES", "TFIELDS", "BANDS"]
        if fixed.contains(name) || name.hasPrefix("NAXIS") || name.hasPrefix("ZIMAGE") || name.hasPrefix("ZCMPTYPE") { return true }
        // Third WCS axis of a cube, and per-plane band names.
        return name.hasSuffix("3") && ["CTYPE", "CRPIX", "CRVAL", "CDELT", "CUNIT", "CD3_", "PC3_", "CD1_", "CD2_", "PC1_", "PC2_"].contains { name.hasPrefix($0) }
            || (name.hasPrefix("FILTER") && name.count == 7)
    }

    /// The header, or nil when the cutout cannot be found (best effort: any failure gives nil).
    static func find(objectID: Int64, shard: Shard) -> SourceHeader? {
        do {
            var clean = shard
            if let path = try shard.file.root.attribute("source_shard")?.stringValue { clean = try Shard(path: path) }
            guard let text = try clean.file.root.attribute(ShardSchema.Attribute.inputs)?.stringValue,
                  let inputs = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                  let directory = inputs["cutouts"] as? String else { return nil }
            let index = try CutoutIndex.scan(directory, layout: (inputs["layout"] as? String).flatMap(CutoutLayout.init(rawValue:)),
                                             template: inputs["template"] as? String)
            guard let files = index.files[objectID] else { return nil }
            var header = SourceHeader(primary: [], bands: [:])
            for (band, path) in files {
                try FITSFile.withFile(path) { file in
                    for hdu in 0..<(try file.hduCount()) {
                        _ = try file.moveTo(hdu: hdu)
                        let cards = try file.headerCards().filter { !isStructural($0.name) }
                        let name = (try file.string("EXTNAME") ?? file.string("FILTER") ?? "").lowercased()
                        if let b = Band(rawValue: name), index.layout == .mef { header.bands[b] = cards } else if hdu == 0 {
                            if index.layout == .perBand { header.bands[band] = cards } else { header.primary = cards }
                            if index.layout == .cube { for b in Band.allCases { header.bands[b] = cards } }
                        }
                    }
                }
            }
            return header
        } catch {
            return nil
        }
    }
}
