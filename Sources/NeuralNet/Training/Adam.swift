import Foundation

/// Adam (Kingma & Ba 2015) with PyTorch's semantics: bias-corrected moments, ε added to √v̂.
public final class Adam: Optimizer {
    public let parameters: [NamedParameter]
    public var schedule: StepSchedule
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public private(set) var step = 0
    private let buffers: StateBuffers   // "exp_avg" m, "exp_avg_sq" v

    public init(parameters: [NamedParameter], learningRate: Float = 1e-4, beta1: Float = 0.9,
                beta2: Float = 0.999, epsilon: Float = 1e-8, schedule: StepSchedule? = nil) {
        self.parameters = parameters
        self.schedule = schedule ?? StepSchedule(initial: learningRate)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        buffers = StateBuffers(parameters: parameters, names: ["exp_avg", "exp_avg_sq"])
    }

    deinit { buffers.deallocate() }

    public func update() {
        let lr = schedule.learningRate(after: step)
        step += 1
        let t = Float(step)
        let c1 = 1 - pow(beta1, t), c2 = 1 - pow(beta2, t)
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        let stepSize = lr / c1
        let c2root = c2.squareRoot()
        for (i, named) in parameters.enumerated() {
            let p = named.parameter
            let w = p.value.pointer, g = p.gradient.pointer
            let m = buffers.storage[i][0], v = buffers.storage[i][1]
            parallelChunks(p.count) { range in
                for k in range {
                    let gk = g[k]
                    let mk = b1 * m[k] + (1 - b1) * gk
                    let vk = b2 * v[k] + (1 - b2) * gk * gk
                    m[k] = mk
                    v[k] = vk
                    w[k] -= stepSize * mk / (vk.squareRoot() / c2root + eps)
                }
            }
            p.didChange()
        }
    }

    public func exportState() -> OptimizerState {
        OptimizerState(kind: "adam", step: step,
                       hyperparameters: ["beta1": Double(beta1), "beta2": Double(beta2), "epsilon": Double(epsilon)],
                       schedule: schedule, buffers: buffers.export(parameters))
    }

    public func importState(_ state: OptimizerState) throws {
        guard state.kind == "adam" else { throw OptimizerStateError(description: "optimizer state is \(state.kind), not adam") }
        try buffers.restore(state.buffers, parameters)
        step = state.step
        schedule = state.schedule
    }
}

/// Stochastic gradient descent with momentum, PyTorch's form: b ← μ·b + g; θ ← θ − lr·b.
public final class SGD: Optimizer {
    public let parameters: [NamedParameter]
    public var schedule: StepSchedule
    public let momentum: Float
    public private(set) var step = 0
    private let buffers: StateBuffers   // "momentum_buffer"

    public init(parameters: [NamedParameter], learningRate: Float, momentum: Float = 0.9, schedule: StepSchedule? = nil) {
        self.parameters = parameters
        self.schedule = schedule ?? StepSchedule(initial: learningRate)
        self.momentum = momentum
        buffers = StateBuffers(parameters: parameters, names: ["momentum_buffer"])
    }

    deinit { buffers.deallocate() }

    public func update() {
        let lr = schedule.learningRate(after: step)
        let mu = momentum
        // PyTorch starts the buffer at the first gradient; with a zero buffer μ·0 + g is the same.
        step += 1
        for (i, named) in parameters.enumerated() {
            let p = named.parameter
            let w = p.value.pointer, g = p.gradient.pointer, b = buffers.storage[i][0]
            parallelChunks(p.count) { range in
                for k in range {
                    let bk = mu * b[k] + g[k]
                    b[k] = bk
                    w[k] -= lr * bk
                }
            }
            p.didChange()
        }
    }

    public func exportState() -> OptimizerState {
        OptimizerState(kind: "sgd", step: step, hyperparameters: ["momentum": Double(momentum)],
                       schedule: schedule, buffers: buffers.export(parameters))
    }

    public func importState(_ state: OptimizerState) throws {
        guard state.kind == "sgd" else { throw OptimizerStateError(description: "optimizer state is \(state.kind), not sgd") }
        try buffers.restore(state.buffers, parameters)
        step = state.step
        schedule = state.schedule
    }
}
