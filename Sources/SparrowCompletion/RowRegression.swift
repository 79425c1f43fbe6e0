import CCompletionKernels
import SparrowCore

/// One row's regularized least-squares problem of alternating minimization:
///
///     minimize over x   ‖A x − t‖² + ridge·‖x‖²,   ridge = λ·n_i   (ALS-WR)
///
/// where A (n_i × d) stacks the partner factor rows of the row's n_i
/// observations and t the observed values (less the biases). Its normal
/// equations are G x = Aᵀt with G = AᵀA + ridge·I.
///
/// - Exact (Jain–Netrapalli–Sanghavi 2013, AltMinComplete): form G, Cholesky,
///   solve. O(n_i·d² + d³) per row.
/// - Approximate (Gu–Song–Yin–Zhang 2023, robust alternating minimization):
///   a few preconditioned conjugate-gradient steps on G x = Aᵀt from the
///   previous sweep's x; each step is two products with A, O(n_i·d). The
///   preconditioner is Jacobi (diag G, O(n_i·d)) or a CountSketch S of A with
///   Cholesky of (SA)ᵀ(SA) + ridge·I (O(n_i·d + s·d² + d³), s = 2d rows).
/// Scratch for one thread's rows, reused across rows and sweeps (fresh memory
/// is slow to touch); a workspace is only ever used by one thread at a time.
final class RowWorkspace: @unchecked Sendable {
    private(set) var capacityRows = 0
    let width: Int
    /// A, row-major n_i × d.
    var design: UnsafeMutablePointer<Double>
    /// t, length n_i.
    var target: UnsafeMutablePointer<Double>
    /// t − A x after the solve (robust method), length n_i.
    var fits: UnsafeMutablePointer<Double>
    /// A p of the last CG step, length n_i.
    var projections: UnsafeMutablePointer<Double>
    /// d × d: G or the preconditioner's factor.
    let square: UnsafeMutablePointer<Double>
    /// Sketch rows (2d × d).
    let sketch: UnsafeMutablePointer<Double>
    let residual, direction, product, preconditioned, diagonal: UnsafeMutablePointer<Double>

    init(width: Int) {
        self.width = width
        design = .allocate(capacity: 1)
        target = .allocate(capacity: 1)
        fits = .allocate(capacity: 1)
        projections = .allocate(capacity: 1)
        square = .allocate(capacity: width * width)
        sketch = .allocate(capacity: 2 * width * width)
        residual = .allocate(capacity: width)
        direction = .allocate(capacity: width)
        product = .allocate(capacity: width)
        preconditioned = .allocate(capacity: width)
        diagonal = .allocate(capacity: width)
    }

    deinit {
        for p in [design, target, fits, projections, square, sketch, residual, direction, product, preconditioned, diagonal] { p.deallocate() }
    }

    /// Room for a row of `rows` observations (grown, never shrunk: buffers are reused across rows and sweeps).
    func reserve(rows: Int) {
        guard rows > capacityRows else { return }
        let capacity = max(rows, capacityRows * 2)
        design.deallocate(); target.deallocate(); fits.deallocate(); projections.deallocate()
        design = .allocate(capacity: capacity * width)
        target = .allocate(capacity: capacity)
        fits = .allocate(capacity: capacity)
        projections = .allocate(capacity: capacity)
        capacityRows = capacity
    }
}

enum ExactRegression {
    /// x ← G⁻¹Aᵀt. Returns false when G was singular (ridge 0, too few
    /// observations) and a tiny ridge relative to G's scale had to be added.
    static func solve(_ w: RowWorkspace, rows n: Int, ridge: Double, x: UnsafeMutablePointer<Double>) -> Bool {
        let d = w.width
        DenseKernels.gram(w.design, rows: n, width: d, into: w.square)
        DenseKernels.transposeTimes(w.design, rows: n, width: d, w.target, into: x)
        var trace = 0.0
        for l in 0..<d { trace += w.square[l * d + l] }
        for l in 0..<d { w.square[l * d + l] += ridge }
        if DenseKernels.choleskyFactor(w.square, order: d) {
            DenseKernels.choleskySolve(w.square, order: d, x)
            return true
        }
        // dpotrf overwrote part of the upper triangle: rebuild G with a ridge of 1e-10 of its mean diagonal.
        DenseKernels.gram(w.design, rows: n, width: d, into: w.square)
        let tiny = 1e-10 * max(trace / Double(d), 1e-300)
        for l in 0..<d { w.square[l * d + l] += ridge + tiny }
        if DenseKernels.choleskyFactor(w.square, order: d) {
            DenseKernels.choleskySolve(w.square, order: d, x)
        } else {
            for l in 0..<d { x[l] = 0 }
        }
        return false
    }
}

/// A row's design matrix read in place from the partner factor rows: row e is
/// the partner row at `slots[e]` (its first `rank` values), followed by a 1
/// when biases are on (an implicit column). `HalfSweep` copies it side by side
/// into the workspace before solving: the partner rows are scattered over the
/// received block, so every pass over them in place would miss the cache.
struct DesignView {
    let partners: UnsafePointer<Double>
    let slots: UnsafePointer<Int32>
    /// The row's observations; targets are these less `offset` and the partner's bias.
    let values: UnsafePointer<Double>
    let offset: Double
    let count: Int
    /// Distance between partner rows (rank, plus the partner's bias when biases are on).
    let width: Int
    let rank: Int
    let biases: Bool
}

enum ApproximateRegression {
    /// Up to `steps` preconditioned CG steps on G x = Aᵀt from the x given,
    /// A and t read from the partner rows and observations (gathered into the
    /// workspace in the same pass that forms the first residual); returns
    /// the steps taken (fewer when the residual is at rounding level), and
    /// leaves the misfits t − A x of the result in `w.fits`. Every
    /// product with G is one pass over A (Aᵀ(A p) accumulated row by row,
    /// `sparrow_normal_apply`), so a step costs O(n_i·d).
    static func solve(_ w: RowWorkspace, design a: DesignView, ridge: Double, x: UnsafeMutablePointer<Double>, steps: Int,
                      preconditioner: CompletionParameters.Preconditioner, sketchSeed: UInt64) -> Int {
        let d = w.width, n = a.count
        // r = Aᵀ(t − A x) − ridge·x and diag(AᵀA), in the pass that gathers A.
        let targetNorm = sparrow_gather_residual(a.partners, a.slots, n, a.width, a.rank, a.biases ? 1 : 0, w.design, a.values,
                                                 a.offset, w.target, x, ridge, w.residual, w.diagonal, w.fits)
        var frobenius = 0.0
        for l in 0..<d {
            frobenius += w.diagonal[l]
            let g = w.diagonal[l] + ridge
            w.diagonal[l] = g > 0 ? 1 / g : 1
        }
        let usesSketch = preconditioner == .sketch && prepareSketch(w, rows: n, ridge: ridge, seed: sketchSeed)
        // ‖Aᵀt‖² ≤ ‖A‖²_F·‖t‖²: a residual below 1e-15 of that is rounding.
        let floor = 1e-30 * max(frobenius * targetNorm, 1e-300)
        precondition(w, usesSketch: usesSketch, w.residual, into: w.preconditioned)
        var rz = 0.0
        for l in 0..<d { w.direction[l] = w.preconditioned[l]; rz += w.residual[l] * w.preconditioned[l] }
        var taken = 0
        while taken < steps {
            var residualNorm = 0.0
            for l in 0..<d { residualNorm += w.residual[l] * w.residual[l] }
            if residualNorm <= floor || rz <= 0 { break }
            sparrow_normal_apply(w.design, n, d, ridge, w.direction, w.product, w.projections)
            var pq = 0.0
            for l in 0..<d { pq += w.direction[l] * w.product[l] }
            guard pq > 0 else { break }
            let alpha = rz / pq
            for l in 0..<d {
                x[l] += alpha * w.direction[l]
                w.residual[l] -= alpha * w.product[l]
            }
            // The misfits follow x without another pass over A: t − A(x + αp) = fits − α·Ap.
            for e in 0..<n { w.fits[e] -= alpha * w.projections[e] }
            taken += 1
            if taken == steps { break }
            precondition(w, usesSketch: usesSketch, w.residual, into: w.preconditioned)
            var next = 0.0
            for l in 0..<d { next += w.residual[l] * w.preconditioned[l] }
            let beta = next / rz
            rz = next
            for l in 0..<d { w.direction[l] = w.preconditioned[l] + beta * w.direction[l] }
        }
        return taken
    }

    /// CountSketch of A into s = 2d rows (each observation added, with a random
    /// sign, to one random sketch row), then the Cholesky factor of
    /// (SA)ᵀ(SA) + ridge·I. False (use Jacobi) when that is not positive definite.
    private static func prepareSketch(_ w: RowWorkspace, rows n: Int, ridge: Double, seed: UInt64) -> Bool {
        let d = w.width
        let s = min(n, 2 * d)
        if s == n {
            // No more observations than sketch rows: the sketch would be A itself (the exact preconditioner).
            DenseKernels.gram(w.design, rows: n, width: d, into: w.square)
        } else {
            for q in 0..<(s * d) { w.sketch[q] = 0 }
            for e in 0..<n {
                let bits = CounterRandom.bits(seed: seed, counter: UInt64(e))
                let target = w.sketch + Int(bits % UInt64(s)) * d
                let sign: Double = (bits >> 63) == 0 ? 1 : -1
                let row = w.design + e * d
                for l in 0..<d { target[l] += sign * row[l] }
            }
            DenseKernels.gram(w.sketch, rows: s, width: d, into: w.square)
        }
        for l in 0..<d { w.square[l * d + l] += ridge }
        return DenseKernels.choleskyFactor(w.square, order: d)
    }

    private static func precondition(_ w: RowWorkspace, usesSketch: Bool, _ r: UnsafePointer<Double>,
                                     into z: UnsafeMutablePointer<Double>) {
        let d = w.width
        if usesSketch {
            for l in 0..<d { z[l] = r[l] }
            DenseKernels.choleskySolve(w.square, order: d, z)
        } else {
            for l in 0..<d { z[l] = r[l] * w.diagonal[l] }
        }
    }
}
