import CSuiteSparse

/// Small dense kernels for the per-row systems of alternating minimization,
/// through OpenBLAS/LAPACK. Matrices are column-major; a block of factor rows
/// stored row by row (each row `width` contiguous values) is, to BLAS, the
/// column-major `width × rows` matrix Xᵀ, so X·Xᵀ (dsyrk, trans N) is the Gram
/// matrix AᵀA of the design A whose rows are those factor rows.
enum DenseKernels {
    /// Upper triangle of G = AᵀA, A given as `rows` rows of `width` (row-major).
    static func gram(_ a: UnsafePointer<Double>, rows: Int, width: Int, into g: UnsafeMutablePointer<Double>) {
        var n = Int32(width), k = Int32(rows), lda = Int32(width), ldc = Int32(width)
        var alpha = 1.0, beta = 0.0
        var uplo = CChar(UInt8(ascii: "U")), trans = CChar(UInt8(ascii: "N"))
        dsyrk_(&uplo, &trans, &n, &k, &alpha, a, &lda, &beta, g, &ldc, 1, 1)
    }

    /// y = Aᵀ t (A row-major rows × width): the column-major width × rows matrix times t.
    static func transposeTimes(_ a: UnsafePointer<Double>, rows: Int, width: Int, _ t: UnsafePointer<Double>,
                               into y: UnsafeMutablePointer<Double>) {
        var m = Int32(width), n = Int32(rows), lda = Int32(width), inc: Int32 = 1
        var alpha = 1.0, beta = 0.0
        var trans = CChar(UInt8(ascii: "N"))
        dgemv_(&trans, &m, &n, &alpha, a, &lda, t, &inc, &beta, y, &inc, 1)
    }

    /// Cholesky G = RᵀR in place (upper triangle); false when G is not positive definite.
    static func choleskyFactor(_ g: UnsafeMutablePointer<Double>, order: Int) -> Bool {
        var n = Int32(order), lda = Int32(order), info: Int32 = 0
        var uplo = CChar(UInt8(ascii: "U"))
        dpotrf_(&uplo, &n, g, &lda, &info, 1)
        return info == 0
    }

    /// Solves RᵀR x = b in place, with R from `choleskyFactor`.
    static func choleskySolve(_ r: UnsafePointer<Double>, order: Int, _ b: UnsafeMutablePointer<Double>) {
        var n = Int32(order), lda = Int32(order), nrhs: Int32 = 1, ldb = Int32(order), info: Int32 = 0
        var uplo = CChar(UInt8(ascii: "U"))
        dpotrs_(&uplo, &n, &nrhs, r, &lda, b, &ldb, &info, 1)
    }

    /// x ← x·R⁻¹ for a row vector x (solves Rᵀ xᵀ = xᵀ): rows of a block made orthonormal by Cholesky-QR.
    static func rightSolveUpper(_ r: UnsafePointer<Double>, order: Int, _ x: UnsafeMutablePointer<Double>) {
        var n = Int32(order), lda = Int32(order), inc: Int32 = 1
        var uplo = CChar(UInt8(ascii: "U")), trans = CChar(UInt8(ascii: "T")), diag = CChar(UInt8(ascii: "N"))
        dtrsv_(&uplo, &trans, &diag, &n, r, &lda, x, &inc, 1, 1, 1)
    }

    /// Eigenvalues (ascending) and eigenvectors (columns, column-major) of a symmetric matrix.
    static func symmetricEigen(_ matrix: [Double], order: Int) -> (values: [Double], vectors: [Double])? {
        var a = matrix
        var w = [Double](repeating: 0, count: order)
        var n = Int32(order), lda = Int32(order), info: Int32 = 0, lwork: Int32 = -1
        var jobz = CChar(UInt8(ascii: "V")), uplo = CChar(UInt8(ascii: "U"))
        var query = 0.0
        dsyev_(&jobz, &uplo, &n, &a, &lda, &w, &query, &lwork, &info, 1, 1)
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: max(1, Int(lwork)))
        dsyev_(&jobz, &uplo, &n, &a, &lda, &w, &work, &lwork, &info, 1, 1)
        return info == 0 ? (w, a) : nil
    }

    /// C (rows × n, row-major) = A (rows × k, row-major) · Bᵀ where B is n × k row-major:
    /// the scores of a block of users against every item.
    static func timesTranspose(_ a: UnsafePointer<Double>, rows: Int, _ b: UnsafePointer<Double>, bRows: Int, width: Int,
                               into c: UnsafeMutablePointer<Double>) {
        // Column-major view: Cᵀ (n × rows) = B (n × k) · Aᵀ (k × rows); B row-major n × k is column-major k × n.
        var m = Int32(bRows), n = Int32(rows), k = Int32(width)
        var lda = Int32(width), ldb = Int32(width), ldc = Int32(bRows)
        var alpha = 1.0, beta = 0.0
        var ta = CChar(UInt8(ascii: "T")), tb = CChar(UInt8(ascii: "N"))
        dgemm_(&ta, &tb, &m, &n, &k, &alpha, b, &lda, a, &ldb, &beta, c, &ldc, 1, 1)
    }
}

/// Read-only base addresses of four arrays for the duration of `body`
/// (keeps pointer set-up out of the algorithms' control flow).
func withReadPointers<A, B, C, D, R>(_ a: [A], _ b: [B], _ c: [C], _ d: [D],
                                     _ body: (UnsafePointer<A>, UnsafePointer<B>, UnsafePointer<C>, UnsafePointer<D>) -> R) -> R {
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            c.withUnsafeBufferPointer { pc in
                d.withUnsafeBufferPointer { pd in body(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, pd.baseAddress!) }
            }
        }
    }
}

func withReadPointers<A, B, C, R>(_ a: [A], _ b: [B], _ c: [C],
                                  _ body: (UnsafePointer<A>, UnsafePointer<B>, UnsafePointer<C>) -> R) -> R {
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in c.withUnsafeBufferPointer { pc in body(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!) } }
    }
}

/// One result per parallel task, each slot written only by its own task (raw
/// storage: no copy-on-write check is shared between the writing threads).
final class TaskResults<T>: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<T>

    init(count: Int, initial: T) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: initial)
    }

    deinit {
        storage.deinitialize()
        storage.deallocate()
    }

    subscript(task: Int) -> T {
        get { storage[task] }
        set { storage[task] = newValue }
    }

    var values: [T] { Array(storage) }
}
