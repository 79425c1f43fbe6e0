import SparrowCore
import SparrowMPI

/// Preconditioned conjugate gradients on a row-distributed SPD matrix: the one
/// driver behind `sparrow solve --method pcg` and the job step `pcg`. Each rank
/// holds its rows of A, b and x; a product exchanges only the ghost entries
/// (`DistributedSpMV`), dot products are allreduced, and M⁻¹ is built once
/// (`DistributedPreconditioner`). Iterates are identical at any rank count up
/// to the summation order of the dot products.
public struct DistributedPCG {
    public var tolerance = 1e-10
    public var maximumIterations = 1000
    /// none, jacobi, cholesky, sampled:KEEP or band:WIDTH.
    public var preconditioner = "jacobi"
    /// Fill-reducing ordering of the factor-based preconditioners.
    public var ordering: CholeskyFactorization.Ordering = .amd
    /// Preconditioners that modules above this one provide (`sparsifier[:DENSITY]`).
    public var plugins: [PreconditionerPlugin] = []

    public init() {}

    /// The numeric options (flags of `sparrow solve --method pcg`, keys of the pcg step).
    public enum Options {
        /// ‖r‖/‖b‖ to stop at.
        public static let tolerance = NumericOption("tol", real: 0, 1, lowerOpen: true, upperOpen: true)
        public static let maximumIterations = NumericOption("max_iterations", 1...10_000_000)
    }

    /// Checks the settings as the verb and the step read them (`naming`: flags or job keys).
    public func validate(_ naming: NumericOption.Naming) throws(SparrowError) {
        _ = try Options.tolerance.checked(tolerance, naming)
        _ = try Options.maximumIterations.checked(maximumIterations, naming)
        let field = naming.prefixed("preconditioner")
        _ = try PreconditionerSpelling.parse(preconditioner, plugins: plugins, field: field)
    }

    public struct Outcome {
        /// This rank's rows of x.
        public var solution: [Double]
        public var iterations: Int
        public var converged: Bool
        /// ‖r_k‖/‖b‖ after each iteration.
        public var relativeResiduals: [Double]
        /// Seconds spent building the product plan and the preconditioner.
        public var setupSeconds: Double
        /// What the user should know: a singular system's right-hand side projected onto the range.
        public var warnings: [String] = []
        public var finalRelativeResidual: Double { relativeResiduals.last ?? 0 }
    }

    /// Collective. `b` and `initialGuess` hold this rank's rows. `monitor(k, ‖r_k‖/‖b‖, x_k)` runs on
    /// every rank after iteration k, so it may call collectives (checkpoints, stop requests, time limits).
    public func solve(_ a: DistributedCSR, rightHandSide b: [Double], initialGuess: [Double]? = nil, communicator: Communicator,
                      monitor: (Int, Double, [Double]) throws(SparrowError) -> Void = { _, _, _ throws(SparrowError) in })
        throws(SparrowError) -> Outcome {
        try solve(a, rightHandSides: [b], initialGuess: initialGuess, communicator: communicator) { (_, k, relative, x) throws(SparrowError) in
            try monitor(k, relative, x)
        }[0]
    }

    /// Several right-hand sides, one after another, with one product plan and one preconditioner
    /// (the set-up is paid once; each outcome's setupSeconds is that one set-up).
    /// `monitor(column, k, ‖r_k‖/‖b‖, x_k)`. Collective.
    public func solve(_ a: DistributedCSR, rightHandSides: [[Double]], initialGuess: [Double]? = nil, communicator: Communicator,
                      monitor: (Int, Int, Double, [Double]) throws(SparrowError) -> Void) throws(SparrowError) -> [Outcome] {
        guard a.globalRows == a.globalColumns else {
            throw .usage("PCG needs a square symmetric positive definite matrix, got \(a.globalRows) × \(a.globalColumns)")
        }
        let setupStart = System.now()
        let product = try DistributedSpMV(matrix: a, columnPartition: a.partition, communicator: communicator)
        let inverse = try DistributedPreconditioner(preconditioner, a, ordering: ordering, plugins: plugins, communicator: communicator)
        let setupSeconds = System.now() - setupStart
        var outcomes: [Outcome] = []
        var largestRemoved = 0.0
        for (column, original) in rightHandSides.enumerated() {
            // A singular Laplacian: solve the consistent system L x = b − (b's mean per component), x of mean zero.
            var b = original
            let warnings = column == 0 ? inverse.warnings : []
            largestRemoved = max(largestRemoved, try inverse.projectOntoRange(&b, communicator: communicator))
            var cg = ConjugateGradient()
            cg.tolerance = tolerance
            cg.maximumIterations = maximumIterations
            let result = try cg.solve(b, initialGuess: initialGuess,
                                      apply: { (v) throws(SparrowError) in try product.apply(v, communicator: communicator) },
                                      precondition: { (r) throws(SparrowError) in try inverse.apply(r, communicator: communicator) },
                                      reduce: { communicator.allreduce($0, .sum) },
                                      monitor: { (k, relative, x) throws(SparrowError) in try monitor(column, k, relative, x) })
                .throwingOnBreakdown()
            var x = result.solution
            _ = try inverse.projectOntoRange(&x, communicator: communicator)
            outcomes.append(Outcome(solution: x, iterations: result.iterations, converged: result.converged,
                                    relativeResiduals: result.relativeResiduals, setupSeconds: setupSeconds, warnings: warnings))
        }
        if largestRemoved > 0, !outcomes.isEmpty {
            outcomes[0].warnings.append("the matrix is a singular Laplacian: the right-hand side's mean on each component without excess diagonal was removed (norm \(largestRemoved)\(rightHandSides.count > 1 ? ", the largest over \(rightHandSides.count) columns" : "")), and x has mean zero there")
        }
        return outcomes
    }
}

extension DistributedPCG {
    /// This rank's rows of a built-in right-hand side: `rowsums` (A·1, so x = 1; no
    /// communication), `ones`, `random:K` (one column) or an array file. Collective.
    public static func ownedRightHandSide(_ spelling: String, for a: DistributedCSR, field: String,
                                          communicator: Communicator) throws(SparrowError) -> [Double] {
        let columns = try ownedRightHandSides(spelling, for: a, field: field, communicator: communicator)
        guard columns.count == 1 else {
            return try communicator.everywhere { () throws(SparrowError) -> [Double] in
                throw .field(name: field, message: "PCG solves one right-hand side here, got \(columns.count)")
            }
        }
        return columns[0]
    }

    /// This rank's rows of every column of a right-hand side spelling (`random:K` gives K). Collective.
    public static func ownedRightHandSides(_ spelling: String, for a: DistributedCSR, field: String,
                                           communicator: Communicator) throws(SparrowError) -> [[Double]] {
        let owned = a.ownedRows
        return try communicator.everywhere { () throws(SparrowError) -> [[Double]] in
            if spelling == "rowsums" {
                return [(0..<a.local.rows).map { i in a.local.rowRange(i).reduce(0.0) { $0 + a.local.values[$1] } }]
            }
            return try DenseSpec.parseOwned(spelling, rows: a.globalRows, owned: owned, field: field)
        }
    }
}
