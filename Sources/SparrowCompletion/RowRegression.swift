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
    /// t, then scratch of length n_i.
    var target: UnsafeMutablePointer<Double>
    var scratch: UnsafeMutablePointer<Double>
    /// d × d: G or the preconditioner's factor.
    let square: UnsafeMutablePointer<Double>
    /// Sketch rows (2d × d).
    let sketch: UnsafeMutablePointer<Double>
    let rhs, residual, direction, product, preconditioned, diagonal: UnsafeMutablePointer<Double>

    init(width: Int) {
        self.width = width
        design = .allocate(capacity: 1)
        target = .allocate(capacity: 1)
        scratch = .allocate(capacity: 1)
        square = .allocate(capacity: width * width)
        sketch = .allocate(capacity: 2 * width * width)
        rhs = .allocate(capacity: width)
        residual = .allocate(capacity: width)
        direction = .allocate(capacity: width)
        product = .allocate(capacity: width)
        preconditioned = .allocate(capacity: width)
        diagonal = .allocate(capacity: width)
    }

    deinit {
        for p in [design, target, scratch, square, sketch, rhs, residual, direction, product, preconditioned, diagonal] { p.deallocate() }
    }

    /// Room for a row of `rows` observations (grown, never shrunk: buffers are reused across rows and sweeps).
    func reserve(rows: Int) {
        guard rows > capacityRows else { return }
        let capacity = max(rows, capacityRows * 2)
        design.deallocate(); target.deallocate(); scratch.deallocate()
        design = .allocate(capacity: capacity * width)
        target = .allocate(capacity: capacity)
        scratch = .allocate(capacity: capacity)
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

enum ApproximateRegression {
    /// Up to `steps` preconditioned CG steps on G x = Aᵀt from the x given;
    /// returns the steps taken (fewer when the residual vanishes).
    static func solve(_ w: RowWorkspace, rows n: Int, ridge: Double, x: UnsafeMutablePointer<Double>, steps: Int,
                      preconditioner: CompletionParameters.Preconditioner, sketchSeed: UInt64) -> Int {
        let d = w.width
        let usesSketch = preconditioner == .sketch && prepareSketch(w, rows: n, ridge: ridge, seed: sketchSeed)
        if !usesSketch { prepareJacobi(w, rows: n, ridge: ridge) }
        // r = Aᵀt − G x
        DenseKernels.transposeTimes(w.design, rows: n, width: d, w.target, into: w.rhs)
        applyNormal(w, rows: n, ridge: ridge, x, into: w.product)
        var rhsNorm = 0.0
        for l in 0..<d { w.residual[l] = w.rhs[l] - w.product[l]; rhsNorm += w.rhs[l] * w.rhs[l] }
        let floor = 1e-30 * max(rhsNorm, 1e-300)
        precondition(w, usesSketch: usesSketch, w.residual, into: w.preconditioned)
        var rz = 0.0
        for l in 0..<d { w.direction[l] = w.preconditioned[l]; rz += w.residual[l] * w.preconditioned[l] }
        var taken = 0
        while taken < steps {
            var residualNorm = 0.0
            for l in 0..<d { residualNorm += w.residual[l] * w.residual[l] }
            if residualNorm <= floor || rz <= 0 { break }
            applyNormal(w, rows: n, ridge: ridge, w.direction, into: w.product)
            var pq = 0.0
            for l in 0..<d { pq += w.direction[l] * w.product[l] }
            guard pq > 0 else { break }
            let alpha = rz / pq
            for l in 0..<d {
                x[l] += alpha * w.direction[l]
                w.residual[l] -= alpha * w.product[l]
            }
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

    /// y = (AᵀA + ridge·I) v, as two products with A (never forming AᵀA).
    private static func applyNormal(_ w: RowWorkspace, rows n: Int, ridge: Double, _ v: UnsafePointer<Double>,
                                    into y: UnsafeMutablePointer<Double>) {
        let d = w.width
        DenseKernels.times(w.design, rows: n, width: d, v, into: w.scratch)
        DenseKernels.transposeTimes(w.design, rows: n, width: d, w.scratch, into: y)
        for l in 0..<d { y[l] += ridge * v[l] }
    }

    private static func prepareJacobi(_ w: RowWorkspace, rows n: Int, ridge: Double) {
        let d = w.width
        for l in 0..<d { w.diagonal[l] = ridge }
        for e in 0..<n {
            let row = w.design + e * d
            for l in 0..<d { w.diagonal[l] += row[l] * row[l] }
        }
        for l in 0..<d { w.diagonal[l] = w.diagonal[l] > 0 ? 1 / w.diagonal[l] : 1 }
    }

    /// CountSketch of A into s = 2d rows (each observation added, with a random
    /// sign, to one random sketch row), then the Cholesky factor of
    /// (SA)ᵀ(SA) + ridge·I. False (use Jacobi) when that is not positive definite.
    private static func prepareSketch(_ w: RowWorkspace, rows n: Int, ridge: Double, seed: UInt64) -> Bool {
        let d = w.width
        let s = min(n, 2 * d)
        if s == n {
            // As many sketch rows as observations: the sketch would cost as much as A itself.
            DenseKernels.gram(w.design, rows: n, width: d, into: w.square)
        } else {
            for q in 0..<(s * d) { w.sketch[q] = 0 }
            for e in 0..<n {
                let bits = CounterRandom.bits(seed: seed, counter: UInt64(e))
                let bucket = Int(bits % UInt64(s))
                let sign: Double = (bits >> 63) == 0 ? 1 : -1
                let row = w.design + e * d, target = w.sketch + bucket * d
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
