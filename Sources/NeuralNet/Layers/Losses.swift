import Foundation

/// Softmax cross-entropy over classes (redshift bins), averaged over the batch, as PyTorch's
/// `nn.CrossEntropyLoss()`.
///
/// Evaluating the loss also fills `gradient` = (softmax(logits) − onehot(target)) / N in the
/// logits' plain (N, K) layout, ready for the network's backward pass.
public final class SoftmaxCrossEntropyLoss {
    let engine: Engine
    /// ∂loss/∂logits from the last evaluation, (N, K) plain.
    public private(set) var gradient: Tensor?

    public init(engine: Engine) { self.engine = engine }

    /// The mean loss of `logits` (N, K) plain against class indices `targets` (N values in 0..<K).
    public func callAsFunction(_ logits: Tensor, targets: [Int]) -> Float {
        let (n, k) = (logits.shape[0], logits.shape[1])
        precondition(logits.descriptor.isPlain && logits.shape.count == 2, "logits must be plain (N, K)")
        precondition(targets.count == n, "\(targets.count) targets for a batch of \(n)")
        if gradient?.shape != logits.shape { gradient = Tensor(shape: logits.shape, engine: engine) }
        let z = logits.pointer, g = gradient!.pointer
        var total = 0.0
        for i in 0..<n {
            let t = targets[i]
            precondition((0..<k).contains(t), "target class \(t) outside 0..<\(k)")
            let row = z + i * k, grow = g + i * k
            var m = row[0]
            for j in 1..<k { m = max(m, row[j]) }
            var s = 0.0
            for j in 0..<k { s += Foundation.exp(Double(row[j] - m)) }
            let logSum = Double(m) + Foundation.log(s)
            total += logSum - Double(row[t])
            for j in 0..<k {
                let p = Foundation.exp(Double(row[j]) - logSum)
                grow[j] = Float((p - (j == t ? 1 : 0)) / Double(n))
            }
        }
        return Float(total / Double(n))
    }

    /// softmax over each row of `logits` (N, K) plain: the PDF over bins, row-major.
    public static func softmax(_ logits: Tensor) -> [Float] {
        let (n, k) = (logits.shape[0], logits.shape[1])
        let z = logits.pointer
        var out = [Float](repeating: 0, count: n * k)
        for i in 0..<n {
            let row = z + i * k
            var m = row[0]
            for j in 1..<k { m = max(m, row[j]) }
            var s = 0.0
            for j in 0..<k { s += Foundation.exp(Double(row[j] - m)) }
            for j in 0..<k { out[i * k + j] = Float(Foundation.exp(Double(row[j] - m)) / s) }
        }
        return out
    }
}

/// Mean squared error over all outputs, as PyTorch's `nn.MSELoss()`.
///
/// Evaluating the loss also fills `gradient` = 2·(y − target) / (N·K).
public final class MeanSquaredErrorLoss {
    let engine: Engine
    /// ∂loss/∂predictions from the last evaluation, (N, K) plain.
    public private(set) var gradient: Tensor?

    public init(engine: Engine) { self.engine = engine }

    /// The mean of (y − target)² over all elements of `predictions` (N, K) plain;
    /// `targets` has N·K values in row-major order.
    public func callAsFunction(_ predictions: Tensor, targets: [Float]) -> Float {
        precondition(predictions.descriptor.isPlain, "predictions must be plain")
        let count = predictions.count
        precondition(targets.count == count, "\(targets.count) targets for \(count) predictions")
        if gradient?.shape != predictions.shape { gradient = Tensor(shape: predictions.shape, engine: engine) }
        let y = predictions.pointer, g = gradient!.pointer
        var total = 0.0
        for i in 0..<count {
            let r = Double(y[i]) - Double(targets[i])
            total += r * r
            g[i] = Float(2 * r / Double(count))
        }
        return Float(total / Double(count))
    }
}
