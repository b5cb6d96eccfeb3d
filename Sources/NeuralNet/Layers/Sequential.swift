/// Layers applied one after the other, each under a name that prefixes its parameter paths.
public final class Sequential: Layer {
    /// The children in order, with the names used in parameter paths.
    public let children: [(name: String, layer: Layer)]

    /// Called with a child's index right after its backward pass, when the pass computes
    /// parameter gradients: that child's parameter gradients are then final (each parameter is
    /// used once per pass), while the children before it have still to run. A data-parallel
    /// trainer starts reducing them there, overlapping communication with the rest of backward.
    public var afterChildBackward: ((Int) -> Void)?

    public init(_ children: [(name: String, layer: Layer)]) {
        self.children = children
    }

    public var parameters: [NamedParameter] {
        children.flatMap { child in child.layer.parameters.prefixed(child.name) }
    }

    public func prepare(input: MemoryDescriptor) throws -> MemoryDescriptor {
        var d = input
        for child in children { d = try child.layer.prepare(input: d) }
        return d
    }

    public func forward(_ x: Tensor) -> Tensor {
        var y = x
        for child in children { y = child.layer.forward(y) }
        return y
    }

    /// Inner layers always pass the input gradient on; the first layer computes it only when
    /// `request` asks for it.
    public func backward(_ dy: Tensor, _ request: GradientRequest) -> Tensor? {
        var g = dy
        for i in children.indices.reversed() {
            var r = request
            if i > 0 { r.insert(.input) }
            let next = children[i].layer.backward(g, r)
            if request.contains(.parameters) { afterChildBackward?(i) }
            guard let next else { return nil }
            g = next
        }
        return g
    }
}
