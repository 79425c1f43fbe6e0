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
///   solve. O(n_i·d² + d³) per row (`ExactRegression`, below).
/// - Robust (Gu–Song–Yin–Zhang 2023): sketch-and-precondition to a stated
///   accuracy per row (`SketchedRegression`).
/// - Inexact: a fixed number of warm-started Jacobi-preconditioned CG steps,
///   no accuracy promised (`InexactRegression`).
/// Both iterative methods run `RowConjugateGradient`.
/// Scratch for one thread's rows, reused across rows and sweeps (fresh memory
/// is slow to touch); a workspace is only ever used by one thread at a time.
final class RowWorkspace: @unchecked Sendable {
    private(set) var capacityRows = 0
    let width: Int
    /// A, row-major n_i × d.
    var design: UnsafeMutablePointer<Double>
    /// t, length n_i.
    var target: UnsafeMutablePointer<Double>
    /// t − A x after the solve (iterative methods), length n_i.
    var fits: UnsafeMutablePointer<Double>
    /// A p of the last CG step, length n_i.
    var projections: UnsafeMutablePointer<Double>
    /// d × d: G or the preconditioner's factor.
    let square: UnsafeMutablePointer<Double>
    /// The robust method's sketch S·A (`sketchRows` × d).
    let sketch: UnsafeMutablePointer<Double>
    let sketchRows: Int
    let residual, direction, product, preconditioned, diagonal: UnsafeMutablePointer<Double>

    init(width: Int, sketchRows: Int = 0) {
        self.width = width
        self.sketchRows = sketchRows
        design = .allocate(capacity: 1)
        target = .allocate(capacity: 1)
        fits = .allocate(capacity: 1)
        projections = .allocate(capacity: 1)
        square = .allocate(capacity: width * width)
        sketch = .allocate(capacity: max(1, sketchRows * width))
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

extension DesignView {
    /// Copies the design side by side into `w.design` and its targets into `w.target`.
    func gather(into w: RowWorkspace) {
        sparrow_gather_design(partners, slots, count, width, rank, biases ? 1 : 0, w.design, values, offset, w.target)
    }

    /// `gather`, fused with the first pass of an iterative solve from x: the
    /// misfits t − A x into `w.fits`, the residual Aᵀ(t − A x) − ridge·x into
    /// `w.residual`, diag(AᵀA) into `w.diagonal`; returns ‖t‖².
    func gatherWithResidual(into w: RowWorkspace, x: UnsafePointer<Double>, ridge: Double) -> Double {
        sparrow_gather_residual(partners, slots, count, width, rank, biases ? 1 : 0, w.design, values, offset, w.target, x, ridge,
                                w.residual, w.diagonal, w.fits)
    }
}
