/// How the FITS cutouts of one object are laid out on disk.
///
/// - `mef`: one multi-extension file per object, `{id}.fits`; one image HDU per band, the band
///   named by EXTNAME or FILTER (not by HDU order). The primary HDU may hold only a header.
/// - `perBand`: one file per object and band, `{id}-{band}.fits` by default (template
///   configurable with `{id}` and `{band}`), the image in the primary HDU.
/// - `cube`: one 3-D image per object, `{id}.fits`, NAXIS3 = 5; the band of each plane comes
///   from the header (`BANDS = 'u,g,r,i,z'`, or `FILTER1`…`FILTER5`).
public enum CutoutLayout: String, CaseIterable, Codable, Sendable {
    case mef
    case perBand = "per-band"
    case cube

    /// The default file-name template of a layout.
    public var defaultTemplate: String {
        switch self {
        case .mef, .cube: "{id}.fits"
        case .perBand: "{id}-{band}.fits"
        }
    }
}
