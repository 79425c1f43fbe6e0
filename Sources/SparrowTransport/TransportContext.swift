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

    /// The numeric options (flags of `sparrow ot`, keys of the ot step).
    public enum Options {
        /// η: between these, η·C and the duals (about log(n)/η) stay far from overflow.
        public static let eta = NumericOption("eta", real: 1e-9, 1e12)
        /// Marginal L1 error; below 1e-15 no double-precision plan reaches it.
        public static let tolerance = NumericOption("tol", real: 1e-15, 1e6)
        public static let maxIterations = NumericOption("max_iterations", 1...100_000_000)
        public static let warmup = NumericOption("warmup", 0...1_000_000)
        public static let drop = NumericOption("drop", real: 0, 1, upperOpen: true)
        public static let planThreshold = NumericOption("plan_threshold", real: 0, 1e300)
        /// θ of the sparse kernel: e^(−θ) must stay a normal double.
        public static let truncation = NumericOption("truncation", real: 5, 700)
    }

    /// `naming` says how messages name the values (flags or job keys).
    public func validate(_ naming: NumericOption.Naming = .flags) throws(SparrowError) {
        _ = try Options.eta.checked(eta, naming)
        _ = try Options.tolerance.checked(tolerance, naming)
        _ = try Options.maxIterations.checked(maxIterations, naming)
        _ = try Options.warmup.checked(warmupSweeps, naming)
        _ = try Options.drop.checked(dropFraction, naming)
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
