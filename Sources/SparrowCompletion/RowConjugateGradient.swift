import CCompletionKernels
import SparrowCore

/// Preconditioned conjugate gradients on one row's normal equations
/// G x = Aᵀt, G = AᵀA + ridge·I, warm-started from the x given, with A already
/// gathered into `w.design` and the first residual in `w.residual` and misfits
/// in `w.fits` (`DesignView.gatherWithResidual`). G is never formed: each step
/// is one pass over A (Aᵀ(A p) accumulated row by row, `sparrow_normal_apply`),
/// O(n_i·d), and the misfits t − A x follow x without another pass.
/// The one CG loop of both iterative row methods (`InexactRegression`, `SketchedRegression`).
enum RowConjugateGradient {
    enum Preconditioner {
        /// z = r / diag G (`w.diagonal` holds 1 / diag G).
        case jacobi
        /// z = M⁻¹ r with M's Cholesky factor in `w.square`.
        case factor
    }

    struct Result {
        var steps = 0
        /// The stopping rule held (or the residual reached rounding level) within the step limit.
        var converged = false
    }

    /// Up to `steps` steps. Before each step `done(rᵀM⁻¹r)` is asked whether x is accurate
    /// enough; `floor` is the squared residual norm below which the residual is rounding.
    static func iterate(_ w: RowWorkspace, rows n: Int, ridge: Double, x: UnsafeMutablePointer<Double>, steps: Int,
                        preconditioner: Preconditioner, floor: Double, done: (Double) -> Bool) -> Result {
        let d = w.width
        apply(preconditioner, w, w.residual, into: w.preconditioned)
        var rz = 0.0
        for l in 0..<d { w.direction[l] = w.preconditioned[l]; rz += w.residual[l] * w.preconditioned[l] }
        var result = Result()
        while true {
            var residualNorm = 0.0
            for l in 0..<d { residualNorm += w.residual[l] * w.residual[l] }
            if residualNorm <= floor || rz <= 0 || done(rz) { result.converged = true; break }
            if result.steps == steps { break }
            sparrow_normal_apply(w.design, n, d, ridge, w.direction, w.product, w.projections)
            var pq = 0.0
            for l in 0..<d { pq += w.direction[l] * w.product[l] }
            guard pq > 0 else { break }
            let alpha = rz / pq
            for l in 0..<d {
                x[l] += alpha * w.direction[l]
                w.residual[l] -= alpha * w.product[l]
            }
            // t − A(x + αp) = fits − α·Ap.
            for e in 0..<n { w.fits[e] -= alpha * w.projections[e] }
            result.steps += 1
            apply(preconditioner, w, w.residual, into: w.preconditioned)
            var next = 0.0
            for l in 0..<d { next += w.residual[l] * w.preconditioned[l] }
            let beta = next / rz
            rz = next
            for l in 0..<d { w.direction[l] = w.preconditioned[l] + beta * w.direction[l] }
        }
        return result
    }

    /// ‖Aᵀt‖² ≤ ‖A‖²_F·‖t‖²: a squared residual below 1e-30 of that is rounding
    /// (`w.diagonal` holding diag AᵀA, before it is inverted).
    static func roundingFloor(_ w: RowWorkspace, targetNorm: Double) -> Double {
        var frobenius = 0.0
        for l in 0..<w.width { frobenius += w.diagonal[l] }
        return 1e-30 * max(frobenius * targetNorm, 1e-300)
    }

    private static func apply(_ preconditioner: Preconditioner, _ w: RowWorkspace, _ r: UnsafePointer<Double>,
                              into z: UnsafeMutablePointer<Double>) {
        let d = w.width
        switch preconditioner {
        case .jacobi:
            for l in 0..<d { z[l] = r[l] * w.diagonal[l] }
        case .factor:
            for l in 0..<d { z[l] = r[l] }
            DenseKernels.choleskySolve(w.square, order: d, z)
        }
    }
}

/// The cheap variant: exactly `steps` warm-started Jacobi-preconditioned CG
/// steps per row and half-sweep (fewer only when the residual is at rounding
/// level). It promises no accuracy per row; across sweeps the warm start makes
/// it converge (measured in `benchmarks/completion`). O(steps·n_i·d) per row.
enum InexactRegression {
    /// Returns the steps taken; leaves the misfits t − A x in `w.fits`.
    static func solve(_ w: RowWorkspace, design a: DesignView, ridge: Double, x: UnsafeMutablePointer<Double>, steps: Int) -> Int {
        let targetNorm = a.gatherWithResidual(into: w, x: x, ridge: ridge)
        let floor = RowConjugateGradient.roundingFloor(w, targetNorm: targetNorm)
        for l in 0..<w.width {
            let g = w.diagonal[l] + ridge
            w.diagonal[l] = g > 0 ? 1 / g : 1
        }
        return RowConjugateGradient.iterate(w, rows: a.count, ridge: ridge, x: x, steps: steps, preconditioner: .jacobi,
                                            floor: floor) { _ in false }.steps
    }
}
