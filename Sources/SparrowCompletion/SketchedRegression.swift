import CCompletionKernels
import SparrowCore

/// The row solve of robust alternating minimization:
///
///   Yuzhou Gu, Zhao Song, Junze Yin, Lichen Zhang, "Low Rank Matrix Completion
///   via Robust Alternating Minimization in Nearly Linear Time", arXiv
///   2302.11068, 2023: each regression of a sweep is solved only to accuracy
///   ε by sketch-and-precondition, and alternating minimization is shown to
///   tolerate that error.
///
/// For one row, minimize f(x) = ‖A x − t‖² + ridge·‖x‖² (A: n × d):
///
///     if n < 2s:  solve exactly                       (the sketch would cost as much as G itself)
///     S ← sparse embedding, s × n, ζ nonzeros ±1/√ζ per column (OSNAP: one per block of s/ζ rows)
///     M ← (SA)ᵀ(SA) + ridge·I,  Cholesky               O(ζ·n·d + s·d² + d³)
///     from the previous sweep's x, CG on G x = Aᵀt preconditioned by M
///         until rᵀM⁻¹r ≤ ε·(1 − √(d/s))²·f(x)          O(n·d) per step
///
/// If S embeds the column space of [A; √ridge·I] with distortion √(d/s)
/// (Gaussian-sketch bounds; s = `sketchRatio`·d), then M ⪰ (1 − √(d/s))²·G, so
/// f(x) − f(x*) = rᵀG⁻¹r ≤ rᵀM⁻¹r / (1 − √(d/s))² ≤ ε·f(x): the row ends within
/// a factor 1/(1 − ε) of its minimum, the paper's per-row guarantee. G's
/// condition number relative to M is at most ((1 + √(d/s))/(1 − √(d/s)))², 9 at
/// s = 4d, so each CG step cuts the error in G's norm by about half.
///
/// Departures, both no weaker: the paper iterates preconditioned gradient
/// descent, CG minimizes the same error over a Krylov space that contains the
/// descent iterates; and it starts from the sketched solution, here from the
/// previous sweep's x (warm start), which in later sweeps is already close.
enum SketchedRegression {
    /// Nonzeros per column of S.
    static let nonzerosPerColumn = 4
    /// Steps before a row counts as not converged (at s = 4d the error halves per step, so 1e-15 is reached in about 50).
    static let stepLimit = 100

    struct Outcome {
        var steps = 0
        var sketched = false
        var converged = true
        /// The exact fallback needed a tiny ridge (see `ExactRegression`).
        var ridged = false
    }

    /// Sketch rows for d unknowns: `ratio`·d rounded up to a multiple of ζ.
    static func sketchRows(width d: Int, ratio: Int) -> Int {
        let s = ratio * d
        return (s + nonzerosPerColumn - 1) / nonzerosPerColumn * nonzerosPerColumn
    }

    /// Solves one row into x (also the warm start); leaves t − A x in `w.fits` only when
    /// sketched (exactly solved rows: `measureFit` recomputes it).
    static func solve(_ w: RowWorkspace, design a: DesignView, ridge: Double, x: UnsafeMutablePointer<Double>,
                      accuracy epsilon: Double, seed: UInt64) -> Outcome {
        let d = w.width, n = a.count, s = w.sketchRows
        var outcome = Outcome()
        if n < 2 * s {
            a.gather(into: w)
            outcome.ridged = !ExactRegression.solve(w, rows: n, ridge: ridge, x: x)
            return outcome
        }
        let targetNorm = a.gatherWithResidual(into: w, x: x, ridge: ridge)
        let floor = RowConjugateGradient.roundingFloor(w, targetNorm: targetNorm)
        embed(w, rows: n, seed: seed)
        DenseKernels.gram(w.sketch, rows: s, width: d, into: w.square)
        for l in 0..<d { w.square[l * d + l] += ridge }
        guard DenseKernels.choleskyFactor(w.square, order: d) else {
            // SA rank-deficient with no ridge: the exact solve decides (and ridges if G is singular too).
            outcome.ridged = !ExactRegression.solve(w, rows: n, ridge: ridge, x: x)
            return outcome
        }
        outcome.sketched = true
        let distortion = 1 - (Double(d) / Double(s)).squareRoot()
        let tolerance = epsilon * distortion * distortion
        let cg = RowConjugateGradient.iterate(w, rows: n, ridge: ridge, x: x, steps: stepLimit, preconditioner: .factor,
                                              floor: floor) { rz in
            var objective = 0.0
            for e in 0..<n { objective += w.fits[e] * w.fits[e] }
            for l in 0..<d { objective += ridge * x[l] * x[l] }
            return rz <= tolerance * objective
        }
        outcome.steps = cg.steps
        outcome.converged = cg.converged
        return outcome
    }

    /// w.sketch ← S·A: observation e is added, with a random sign and scaled by 1/√ζ, to one
    /// row in each of the ζ blocks of s/ζ rows. S depends only on the seed (a function of
    /// the seed, sweep, side and global row), so every P and thread count draws the same S.
    private static func embed(_ w: RowWorkspace, rows n: Int, seed: UInt64) {
        let d = w.width, s = w.sketchRows, zeta = nonzerosPerColumn, block = s / zeta
        let scale = 1 / Double(zeta).squareRoot()
        w.sketch.update(repeating: 0, count: s * d)
        for e in 0..<n {
            let row = w.design + e * d
            for j in 0..<zeta {
                let bits = CounterRandom.bits(seed: seed, counter: UInt64(e * zeta + j))
                let target = w.sketch + (j * block + Int(bits % UInt64(block))) * d
                sparrow_scaled_add((bits >> 63) == 0 ? scale : -scale, row, target, d)
            }
        }
    }
}
