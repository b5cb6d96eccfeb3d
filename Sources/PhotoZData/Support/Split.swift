/// The three subsets of a data set.
public enum Split: String, CaseIterable, Codable, Sendable {
    case train, valid, test
}

/// Fractions of the train / valid / test splits, and the rule that assigns an object to one.
///
/// The split of an object depends only on its id (a SplitMix64 hash mapped to [0, 1)), so a row
/// keeps its split when data are added or re-ingested in another order.
public struct SplitFractions: Codable, Sendable, Equatable, CustomStringConvertible {
    public var train: Double
    public var valid: Double
    public var test: Double

    public static let `default` = SplitFractions(train: 0.8, valid: 0.1, test: 0.1)

    public init(train: Double, valid: Double, test: Double) {
        self.train = train
        self.valid = valid
        self.test = test
    }

    /// Parses `80/10/10`, `0.8,0.1,0.1` or `8:1:1`; the three parts are normalised to sum to 1.
    public init(parsing text: String) throws {
        let parts = text.split(whereSeparator: { "/,:".contains($0) }).map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, let a = parts[0], let b = parts[1], let c = parts[2], a >= 0, b >= 0, c >= 0, a + b + c > 0 else {
            throw PhotoZDataError.invalidOption("--split '\(text)': expected three non-negative fractions for train/valid/test, e.g. 80/10/10")
        }
        let sum = a + b + c
        self.init(train: a / sum, valid: b / sum, test: c / sum)
    }

    /// The split of an object, from its id alone.
    public func split(of objectID: Int64) -> Split {
        let u = Self.unitHash(objectID)
        if u < train { return .train }
        if u < train + valid { return .valid }
        return .test
    }

    /// A uniform number in [0, 1) computed from an id (SplitMix64 finaliser).
    public static func unitHash(_ id: Int64) -> Double {
        var x = UInt64(bitPattern: id) &+ 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        return Double(x >> 11) / Double(1 << 53)
    }

    public var description: String {
        String(format: "%.0f/%.0f/%.0f", train * 100, valid * 100, test * 100)
    }
}

import Foundation
