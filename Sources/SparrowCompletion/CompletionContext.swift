import SparrowCore

/// Parameters and statistics of one completion run, in the manner of
/// SuiteSparse's Common object: the algorithm reads its settings here and
/// writes what it measured back.
public struct CompletionParameters: Sendable, Equatable {
    /// als: exact row solves. robust: the paper's sketch-preconditioned solve to a stated
    /// accuracy per row (`SketchedRegression`). inexact: a fixed number of warm-started
    /// Jacobi-preconditioned CG steps per row, no accuracy promised (`InexactRegression`).
    public enum Method: String, Sendable, CaseIterable { case als, robust, inexact }
    public enum Initialization: String, Sendable, CaseIterable { case spectral, random }

    /// k: the rank of the factorization U·Vᵀ.
    public var rank: Int
    /// λ of ALS-WR: each row's ridge is λ·(its number of observations).
    public var lambda = 0.1
    public var sweeps = 10
    public var method = Method.als
    /// Global mean plus per-row and per-column biases (one extra unknown per row).
    public var biases = false
    public var seed: UInt64 = 1
    public var initialization = Initialization.spectral
    /// Power iterations of the randomized range finder (spectral initialization).
    public var powerIterations = 2
    /// Conjugate-gradient steps per row and half-sweep (inexact method).
    public var innerIterations = 3
    /// ε of the robust method: each row's objective within a factor 1 + ε of its minimum.
    public var rowAccuracy = 1e-6
    /// Rows of the robust method's sketch per unknown (s = ratio·d).
    public var sketchRatio = 4
    public var threads = 1

    public init(rank: Int) { self.rank = rank }

    /// Unknowns per row: the factor row, and the row's bias when biases are on.
    var width: Int { rank + (biases ? 1 : 0) }
    /// s, the robust method's sketch rows (0 for the other methods, which sketch nothing).
    public var sketchRows: Int { method == .robust ? SketchedRegression.sketchRows(width: width, ratio: sketchRatio) : 0 }
    /// CG steps after which a robust row counts as not converged.
    public static let robustStepLimit = SketchedRegression.stepLimit

    /// The numeric options (flags of `sparrow complete`, keys of the complete step).
    public enum Options {
        /// k; the data then bounds it by min(m, n) − 1.
        public static let rank = NumericOption("rank", 1...100_000)
        public static let lambda = NumericOption("lambda", real: 0, 1e12)
        public static let sweeps = NumericOption("sweeps", 1...1_000_000)
        public static let innerIterations = NumericOption("inner_iterations", 1...1000)
        public static let rowAccuracy = NumericOption("row_accuracy", real: 1e-15, 0.5)
        public static let sketchRatio = NumericOption("sketch_ratio", 2...64)
        public static let powerIterations = NumericOption("power_iterations", 0...20)
        /// Recommendations per row (`--top`); the data then bounds it by the columns.
        public static let top = NumericOption("top", 1...100_000)
    }

    /// The checks that need no data (`naming`: flags or job keys).
    public func validate(_ naming: NumericOption.Naming) throws(SparrowError) {
        _ = try Options.rank.checked(rank, naming)
        _ = try Options.lambda.checked(lambda, naming)
        _ = try Options.sweeps.checked(sweeps, naming)
        _ = try Options.innerIterations.checked(innerIterations, naming)
        _ = try Options.powerIterations.checked(powerIterations, naming)
        _ = try Options.rowAccuracy.checked(rowAccuracy, naming)
        _ = try Options.sketchRatio.checked(sketchRatio, naming)
    }
}

/// What one sweep measured.
public struct SweepRecord: Sendable {
    public var sweep: Int
    public var seconds: Double
    public var trainRMSE: Double
    public var testRMSE: Double?
    /// Mean conjugate-gradient steps per row (robust and inexact methods; 0 for exact solves).
    public var meanInnerIterations: Double
}

/// Statistics of the run so far.
public struct CompletionStatistics: Sendable {
    public var history: [SweepRecord] = []
    public var initializationSeconds = 0.0
    public var exchangeSeconds = 0.0
    public var solveSeconds = 0.0
    /// This rank's seconds in the row solves of each side (the user rows, then the item rows of every sweep).
    public var userRowSeconds = 0.0
    public var itemRowSeconds = 0.0
    /// Rows whose normal equations were singular (too few observations with λ = 0): solved with a tiny ridge.
    public var ridgedRows = 0
    /// Rows with no observation at all: their factor row is zero.
    public var emptyRows = 0
    /// Robust method, last sweep: rows solved through the sketch (the others were too short for it to pay and were solved exactly).
    public var sketchedRows = 0
    /// Robust method, last sweep: rows that reached the step limit before the stated accuracy.
    public var unconvergedRows = 0
}
