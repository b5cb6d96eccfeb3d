import Foundation

/// Per-row columns a data set's source did not have. `convert` writes placeholders for them
/// (`object_id` = the row's index in the source, `ra`, `dec`, `z_spec_err`, `ebv` = 0) and
/// records their names in the manifest's `inputs` (`absent`); `select`, `split` and `merge`
/// carry the record, and `export` leaves placeholder positions and errors out of the files it
/// writes, so a zero is never handed on as a measured position.
public enum AbsentColumns {
    static let key = "absent", ruleKey = "absent_rule", partlyKey = "absent_in_some_inputs"
    static let rule = "columns the source lacks: object_id = the row's index in the source (from 0); ra, dec, z_spec_err, ebv = 0"
    /// The columns `convert` may find absent, in the shard's column order.
    static let candidates = [ShardSchema.objectID, "ra", "dec", "z_spec_err", "ebv"]

    /// The placeholders left out of (`export`) or blanked as NaN in (`table`) what photoz writes
    /// for other programs; `object_id` and `ebv` stay (the layouts need them; 0 is documented).
    public static let leftOut = ["ra", "dec", "z_spec_err"]

    /// The manifest entries `convert` records for the columns its source lacks.
    static func record(_ absent: [String]) -> [String: String] {
        absent.isEmpty ? [:] : [key: absent.joined(separator: ","), ruleKey: rule]
    }

    /// The columns of the data set `reader` reads that hold placeholders in every row.
    public static func of(_ reader: DataSetReader) -> Set<String> { names(reader.manifest?.inputs[key]) }

    /// The entries a data set made from `sources` records: columns absent from every source
    /// stay absent; columns absent from some of them are named as such (their placeholders
    /// sit beside real values, so `export` writes them).
    static func carried(from sources: [DataSetReader]) -> [String: String] {
        let own = sources.map(of)
        let sets = zip(own, sources).map { $0.union(names($1.manifest?.inputs[partlyKey])) }
        let everywhere = own.reduce(own.first ?? []) { $0.intersection($1) }
        let somewhere = sets.reduce(Set<String>()) { $0.union($1) }.subtracting(everywhere)
        var entries = record(candidates.filter(everywhere.contains))
        if !somewhere.isEmpty { entries[partlyKey] = candidates.filter(somewhere.contains).joined(separator: ","); entries[ruleKey] = rule }
        return entries
    }

    private static func names(_ text: String?) -> Set<String> {
        Set((text ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }
}
