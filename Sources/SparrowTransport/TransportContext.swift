import SparrowCore

/// Parameters of an entropic transport solve (the SuiteSparse-style context
/// object: what to do, read by every part of the solver).
public struct TransportParameters: Sendable, Equatable {
    public enum Method: String, Sendable, CaseIterable { case sinkhorn, sns }

    /// Inverse regularization: the plan is exp(η(x_i + y_j − C_ij) − 1).
    public var eta: Double = 1200
    public var method: Method = .sns
    /// Stop when ‖P1 − r‖₁ + ‖Pᵀ1 − c‖₁ ≤ tolerance.
    public var tolerance: Double = 1e-9
    /// Sinkhorn sweeps plus Newton steps, all counted alike.
    public var maxIterations: Int = 100_000
    /// N₁: Sinkhorn sweeps before the first Newton step.
    public var warmupSweeps: Int = 4
    /// Each Newton step's sparsified Hessian drops the smallest plan entries
    /// whose total mass stays below this fraction of the plan's mass
    /// (the rows and columns keep their full sums on the diagonal).
    public var dropFraction: Double = 0.02
    /// Largest count of kept Hessian entries per rank (a memory bound); the
    /// threshold rises until it holds.
    public var maxKeptEntries: Int = 1 << 28
    public var threads: Int = 1

    public init() {}

    public func validate() throws(SparrowError) {
        guard eta.isFinite, eta > 0 else { throw .field(name: "eta", message: "must be a positive number, got \(eta)") }
        guard tolerance.isFinite, tolerance > 0 else { throw .field(name: "tol", message: "must be positive, got \(tolerance)") }
        guard maxIterations >= 1 else { throw .field(name: "max_iterations", message: "must be ≥ 1, got \(maxIterations)") }
        guard warmupSweeps >= 0 else { throw .field(name: "warmup", message: "must be ≥ 0, got \(warmupSweeps)") }
        guard dropFraction >= 0, dropFraction < 1 else {
            throw .field(name: "drop", message: "must be in [0, 1), got \(dropFraction)")
        }
    }
}

/// One iteration as the report's history and the progress line show it.
public struct TransportRecord: Sendable, Equatable {
    public enum Kind: String, Sendable { case sinkhorn, newton }
    public var iteration: Int
    public var kind: Kind
    /// Marginal L1 error of the iterate after this iteration.
    public var error: Double
    /// Dual objective f(x, y) (Newton steps; NaN for Sinkhorn sweeps, which do not evaluate it).
    public var objective: Double
    public var step: Double = 1
    public var cgIterations: Int = 0
    /// Entries kept in the sparsified Hessian (all ranks).
    public var keptEntries: Int = 0
    public var seconds: Double
}

/// What the solve did (the statistics half of the context object).
public struct TransportStatistics: Sendable {
    public var history: [TransportRecord] = []
    public var sinkhornSweeps = 0
    public var newtonSteps = 0
    public var planEvaluations = 0
    public var cgIterations = 0
    public var fallbacks = 0
    public var stabilizedPasses = 0
    public var sinkhornSeconds = 0.0
    public var newtonSeconds = 0.0
    public var solveSeconds = 0.0
    public init() {}
}
