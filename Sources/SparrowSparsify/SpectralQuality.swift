import CSuiteSparse
import SparrowCore
import SparrowFactor

/// How good a sparsifier H of G is: the relative condition number
/// κ(L_G, L_H) = λ_max / λ_min of the pencil L_G v = λ L_H v, by Lanczos
/// (Paige's three-term recurrence in the L_H inner product, fully
/// reorthogonalized), with one CHOLMOD factor of L_H; and the iteration
/// counts of CG on L_G x = b with and without that factor as preconditioner.
public struct ConditionEstimate: Sendable {
    public var largest: Double
    public var smallest: Double
    public var steps: Int
    public var kappa: Double { largest / smallest }
}

public enum SpectralQuality {
    /// dyGRASS's convention: the pencil (L_G + s·I, L_H + s·I) with s = 1e-6, so
    /// both matrices are nonsingular; H ⊆ G with G's weights gives λ_min = 1.
    public static func condition(_ g: WeightedGraph, _ h: WeightedGraph, shift: Double = 1e-6, steps: Int = 80,
                                 seed: UInt64 = 1) throws(SparrowError) -> ConditionEstimate {
        let factor = try CholeskyFactorization(h.laplacian(shift: shift))
        var buffer = [Double](repeating: 0, count: g.vertices)
        return try lanczos(vertices: g.vertices, steps: steps, seed: seed,
                           applyA: { x in g.applyLaplacian(x, into: &buffer); return zip(buffer, x).map { $0 + shift * $1 } },
                           applyB: { x in h.applyLaplacian(x, into: &buffer); return zip(buffer, x).map { $0 + shift * $1 } },
                           solveB: { (r) throws(SparrowError) in try factor.solve(r) },
                           project: { _ in })
    }

    /// The pencil (L_G, L_H) on the range of L (grounded factor, means projected out).
    public static func condition(_ g: WeightedGraph, _ h: WeightedGraph, factor: GroundedFactor, steps: Int = 80,
                                 seed: UInt64 = 1) throws(SparrowError) -> ConditionEstimate {
        var buffer = [Double](repeating: 0, count: g.vertices)
        return try lanczos(vertices: g.vertices, steps: steps, seed: seed,
                           applyA: { x in g.applyLaplacian(x, into: &buffer); return buffer },
                           applyB: { x in h.applyLaplacian(x, into: &buffer); return buffer },
                           solveB: { (r) throws(SparrowError) in try factor.solve(r) },
                           project: { factor.removeNullSpace(&$0) })
    }

    /// Lanczos for the largest and smallest eigenvalues of B⁻¹A (A, B SPD on the projected space).
    static func lanczos(vertices n: Int, steps: Int, seed: UInt64,
                        applyA: ([Double]) -> [Double], applyB: ([Double]) -> [Double],
                        solveB: ([Double]) throws(SparrowError) -> [Double],
                        project: (inout [Double]) -> Void) throws(SparrowError) -> ConditionEstimate {
        let m = max(1, min(steps, n))
        var q = (0..<n).map { CounterRandom.unit(CounterRandom.bits(seed: seed, counter: UInt64($0))) - 0.5 }
        project(&q)
        var bq = applyB(q)
        let norm = dot(q, bq).squareRoot()
        guard norm > 0, norm.isFinite else { return ConditionEstimate(largest: 1, smallest: 1, steps: 0) }
        for i in 0..<n { q[i] /= norm; bq[i] /= norm }
        var basis: [[Double]] = [], bBasis: [[Double]] = []
        var alpha: [Double] = [], beta: [Double] = []
        for _ in 0..<m {
            basis.append(q); bBasis.append(bq)
            let aq = applyA(q)
            var w = try solveB(aq)
            project(&w)
            let a = dot(aq, q)
            alpha.append(a)
            // Full reorthogonalization in the B inner product, twice ("twice is enough": B = L_H + sI is
            // nearly singular along the constants, and one pass leaves enough drift to move the top Ritz value).
            for _ in 0..<2 {
                for (v, bv) in zip(basis, bBasis) {
                    let c = dot(w, bv)
                    for i in 0..<n { w[i] -= c * v[i] }
                }
            }
            let bw = applyB(w)
            let b = max(0, dot(w, bw)).squareRoot()
            if !(b > 1e-12 * abs(a)) || alpha.count == m { break }
            beta.append(b)
            q = w.map { $0 / b }
            bq = bw.map { $0 / b }
        }
        let values = tridiagonalEigenvalues(alpha, beta)
        // The constant vector has Rayleigh quotient exactly 1 in the shifted pencil (and on each
        // component's range the bound holds alike), so λ_min ≤ 1 ≤ λ_max: Ritz values converge
        // to the extremes from inside, and the bottom one converges slowest.
        return ConditionEstimate(largest: max(values.last ?? 1, 1), smallest: min(values.first ?? 1, 1), steps: alpha.count)
    }

    /// Eigenvalues (ascending) of the symmetric tridiagonal matrix with diagonal a and off-diagonal b.
    static func tridiagonalEigenvalues(_ a: [Double], _ b: [Double]) -> [Double] {
        var n = Int32(a.count)
        var t = [Double](repeating: 0, count: a.count * a.count)
        for i in 0..<a.count {
            t[i * a.count + i] = a[i]
            if i < b.count, i + 1 < a.count { t[i * a.count + i + 1] = b[i]; t[(i + 1) * a.count + i] = b[i] }
        }
        var w = [Double](repeating: 0, count: a.count)
        var jobz = Int8(UInt8(ascii: "N")), uplo = Int8(UInt8(ascii: "U"))
        var lda = n, info: Int32 = 0, lwork: Int32 = -1, query = 0.0
        dsyev_(&jobz, &uplo, &n, &t, &lda, &w, &query, &lwork, &info, 1, 1)
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: max(1, Int(lwork)))
        dsyev_(&jobz, &uplo, &n, &t, &lda, &w, &work, &lwork, &info, 1, 1)
        return w
    }

    public struct IterationCounts: Sendable {
        public var preconditioned: Int
        public var plain: Int
        public var preconditionedConverged: Bool
        public var plainConverged: Bool
    }

    /// CG on L_G x = b (b seeded, mean zero on singular components) to `tolerance`,
    /// with the factor of L_H as preconditioner and without.
    public static func iterations(_ g: WeightedGraph, factor: GroundedFactor, tolerance: Double = 1e-8,
                                  maximum: Int = 20_000, seed: UInt64 = 7) throws(SparrowError) -> IterationCounts {
        var b = (0..<g.vertices).map { CounterRandom.unit(CounterRandom.bits(seed: seed, counter: UInt64($0))) - 0.5 }
        factor.removeNullSpace(&b)
        var cg = ConjugateGradient()
        cg.tolerance = tolerance
        cg.maximumIterations = maximum
        var buffer = [Double](repeating: 0, count: g.vertices)
        let apply = { (x: [Double]) throws(SparrowError) -> [Double] in g.applyLaplacian(x, into: &buffer); return buffer }
        let with = try cg.solve(b, apply: apply, precondition: { (r) throws(SparrowError) in try factor.solve(r) }).throwingOnBreakdown()
        let without = try cg.solve(b, apply: apply, precondition: { (r) throws(SparrowError) in
            var z = r
            factor.removeNullSpace(&z)
            return z
        }).throwingOnBreakdown()
        return IterationCounts(preconditioned: with.iterations, plain: without.iterations,
                               preconditionedConverged: with.converged, plainConverged: without.converged)
    }
}
