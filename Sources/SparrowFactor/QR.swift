import CSuiteSparse
import SparrowCore

/// Sparse QR and least squares through SuiteSparseQR (T. A. Davis,
/// "Algorithm 915, SuiteSparseQR", ACM TOMS 38(1), 2011), whose C API is
/// 64-bit only. For m ≥ n it returns the least-squares solution of
/// min ‖A x − b‖; for m < n a basic solution.
///
/// The factorization (Q as Householder vectors, R, column permutation E) is
/// computed once; each solve applies Qᵀ then back-substitutes with R.
public final class QRFactorization {
    public let rows: Int
    public let columns: Int
    private let common = CholmodCommon()
    private var factorization: UnsafeMutablePointer<SuiteSparseQR_C_factorization>?
    /// Nonzeros in R plus the Householder vectors (SPQR's statistics after factorizing).
    public private(set) var factorNonzeros = 0

    public init(_ matrix: CSRMatrix) throws(SparrowError) {
        rows = matrix.rows
        columns = matrix.columns
        // SPQR wants A in compressed columns: our CSR of Aᵀ is exactly that.
        var a: UnsafeMutablePointer<cholmod_sparse>? = try common.sparse(matrix.transposed(), stype: 0)
        defer { cholmod_l_free_sparse(&a, common.pointer) }
        guard let f = SuiteSparseQR_C_factorize(SPQR_ORDERING_DEFAULT, Double(SPQR_DEFAULT_TOL), a, common.pointer) else {
            try common.check("QR factorization")
            throw .computation("QR factorization failed")
        }
        factorization = f
        let statistics = common.pointer.pointee.SPQR_istat
        factorNonzeros = Int(statistics.0) + Int(statistics.1)
    }

    deinit {
        if factorization != nil { SuiteSparseQR_C_free(&factorization, common.pointer) }
    }

    /// Least-squares solution X of min ‖A X − B‖ for every column of B.
    public func solve(_ b: DenseMatrix) throws(SparrowError) -> DenseMatrix {
        guard b.rows == rows else { throw .usage("right-hand side has \(b.rows) rows, the matrix has \(rows)") }
        var bd: UnsafeMutablePointer<cholmod_dense>? = try common.dense(b)
        defer { cholmod_l_free_dense(&bd, common.pointer) }
        var y = SuiteSparseQR_C_qmult(SPQR_QTX, factorization, bd, common.pointer)
        defer { cholmod_l_free_dense(&y, common.pointer) }
        guard y != nil else {
            try common.check("QR solve (Qᵀb)")
            throw .computation("QR solve failed")
        }
        var x = SuiteSparseQR_C_solve(SPQR_RETX_EQUALS_B, factorization, y, common.pointer)
        defer { cholmod_l_free_dense(&x, common.pointer) }
        guard let solution = x else {
            try common.check("QR solve (R\\y)")
            throw .computation("QR solve failed")
        }
        return common.array(solution)
    }
}
