/// Preconditioned conjugate gradients (Hestenes & Stiefel 1952; the
/// preconditioned form of Golub & Van Loan, Matrix Computations, Alg. 11.5.1)
/// for symmetric positive definite A, on one rank or distributed by rows:
///
///   r = b − A x;  z = M⁻¹ r;  p = z
///   repeat:  α = rᵀz / pᵀAp;  x += α p;  r −= α A p;  z = M⁻¹ r
///            stop when ‖r‖ ≤ tol · ‖b‖
///            β = r_newᵀ z_new / r_oldᵀ z_old;  p = z + β p
///
/// The one CG loop of the linear solvers (`DistributedPCG`, the sparsifier's
/// quality check, the optimal-transport Newton step's Schur complement).
/// Vectors are a rank's rows; `reduce` sums a few partial sums over the ranks
/// (the identity on one rank), so an iteration costs two reductions: pᵀAp, then
/// rᵀr and rᵀz together (z is formed before the convergence test for that).
public struct ConjugateGradient: Sendable {
    public struct Result: Sendable {
        public var solution: [Double]
        public var iterations: Int
        public var converged: Bool
        /// ‖r_k‖ / ‖b‖ after each iteration k = 1, 2, ….
        public var relativeResiduals: [Double]
        /// pᵀAp ≤ 0 (or not finite) at this iteration: A or M⁻¹ is not positive definite; x is the last iterate.
        public var breakdown: (iteration: Int, curvature: Double)?

        /// The result, or the breakdown as a typed error.
        public func throwingOnBreakdown() throws(SparrowError) -> Result {
            if let (k, curvature) = breakdown {
                throw .computation("PCG broke down at iteration \(k): pᵀAp = \(curvature) (matrix or preconditioner not positive definite)")
            }
            return self
        }
    }

    public var tolerance = 1e-10
    public var maximumIterations = 1000
    public init() {}

    /// Solves A x = b; `apply` computes A v, `precondition` computes M⁻¹ r.
    /// `monitor(k, ‖r_k‖/‖b‖, x_k)` runs after each iteration (progress, checkpoints).
    public func solve(_ b: [Double], initialGuess: [Double]? = nil,
                      apply: ([Double]) throws(SparrowError) -> [Double],
                      precondition: ([Double]) throws(SparrowError) -> [Double],
                      reduce: ([Double]) -> [Double] = { $0 },
                      monitor: (Int, Double, [Double]) throws(SparrowError) -> Void = { _, _, _ throws(SparrowError) in }) throws(SparrowError) -> Result {
        let n = b.count
        var x = initialGuess ?? [Double](repeating: 0, count: n)
        let normB = reduce([dot(b, b)])[0].squareRoot()
        if normB == 0 { return Result(solution: [Double](repeating: 0, count: n), iterations: 0, converged: true, relativeResiduals: []) }
        var r = b
        if initialGuess != nil {
            let ax = try apply(x)
            for i in 0..<n { r[i] -= ax[i] }
        }
        var z = try precondition(r)
        var sums = reduce([dot(r, r), dot(r, z)])
        if sums[0].squareRoot() <= tolerance * normB { return Result(solution: x, iterations: 0, converged: true, relativeResiduals: []) }
        var p = z
        var rz = sums[1]
        var history: [Double] = []
        for k in 1...max(1, maximumIterations) {
            let ap = try apply(p)
            let curvature = reduce([dot(p, ap)])[0]
            guard curvature > 0, curvature.isFinite else {
                return Result(solution: x, iterations: k - 1, converged: false, relativeResiduals: history, breakdown: (k, curvature))
            }
            let alpha = rz / curvature
            for i in 0..<n {
                x[i] += alpha * p[i]
                r[i] -= alpha * ap[i]
            }
            z = try precondition(r)
            sums = reduce([dot(r, r), dot(r, z)])
            let relative = sums[0].squareRoot() / normB
            history.append(relative)
            try monitor(k, relative, x)
            if relative <= tolerance {
                return Result(solution: x, iterations: k, converged: true, relativeResiduals: history)
            }
            let beta = sums[1] / rz
            rz = sums[1]
            for i in 0..<n { p[i] = z[i] + beta * p[i] }
        }
        return Result(solution: x, iterations: maximumIterations, converged: false, relativeResiduals: history)
    }
}
