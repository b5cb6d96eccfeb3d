import Foundation
import Testing
@testable import FITS

/// Header doubles are written with the fewest digits that read back exactly; the fast path
/// (Swift's shortest representation) must give what trying 1…17 digits in turn gives.
@Suite struct SignificantDigitsTests {
    /// The definition: the first digit count from the integer digits up whose `%G` reads back.
    static func reference(_ value: Double) -> Int {
        let integerDigits = abs(value) >= 1 ? Int(log10(abs(value)).rounded(.down)) + 1 : 1
        for digits in max(1, min(17, integerDigits))...17 where Double(String(format: "%.\(digits)G", value)) == value { return digits }
        return 17
    }

    @Test func agreesWithTryingEveryDigitCount() {
        var values: [Double] = [0, -0.0, 1, 10, 100, 120, 1e20, 1.5e-300, 0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, -1e-5, 323.342792226,
                                0.000110016837791, 2.71016927104E-09, 32.5, 0.396 / 3600, -0.396 / 3600, 123456789012345678,
                                Double.greatestFiniteMagnitude, Double.leastNonzeroMagnitude, 5e-324, 9007199254740993]
        var state: UInt64 = 14
        for _ in 0..<20_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let bits = state
            let v = Double(bitPattern: bits)
            if v.isFinite { values.append(v) }
            values.append(Double(Int64(bitPattern: bits) >> Int64(bits % 60)) / 1000)   // decimal-ish values
        }
        for v in values {
            #expect(FITSFile.significantDigits(v) == Self.reference(v), "\(v)")
        }
    }
}
