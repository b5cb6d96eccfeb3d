import Testing
@testable import PhotoZ

@Suite("Pixel transform")
struct PixelTransformTests {
    @Test("inverse undoes forward for every transform", arguments: PixelTransform.allCases)
    func roundTrip(transform: PixelTransform) {
        for x: Float in [-30, -1.5, -0.01, 0, 0.002, 0.7, 3, 250] {
            let y = transform.forward(x)
            #expect(abs(transform.inverse(y) - x) <= 1e-5 * max(1, abs(x)), "\(transform) at \(x)")
        }
    }

    @Test("derivative matches a central difference", arguments: PixelTransform.allCases)
    func derivative(transform: PixelTransform) {
        for x: Double in [-20, -0.5, 0.3, 4, 100] {
            let h = 1e-3 * max(1, abs(x))
            let fd = (Double(transform.forward(Float(x + h))) - Double(transform.forward(Float(x - h)))) / (2 * h)
            #expect(abs(fd - Double(transform.derivative(Float(x)))) < 2e-3, "\(transform) at \(x)")
        }
    }

    @Test("the default is sign(x)(sqrt(|x|+1)-1)")
    func defaultValues() {
        #expect(PixelTransform.default == .signedSquareRoot)
        #expect(PixelTransform.default.forward(3) == 1)
        #expect(PixelTransform.default.forward(-8) == -2)
        #expect(PixelTransform.default.forward(0) == 0)
    }
}
