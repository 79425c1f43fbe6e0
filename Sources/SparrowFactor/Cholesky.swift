import CSuiteSparse
import SparrowCore

/// Sparse Cholesky A = L Lᵀ (or L D Lᵀ) of a symmetric positive definite
/// matrix through CHOLMOD (Chen, Davis, Hager, Rajamanickam, ACM TOMS 35(3), 2008).
///
/// Analyze (fill-reducing ordering + symbolic factorization), factorize and
/// solve are separate: `refactorize` reuses the analysis when only values
/// change. The object owns its `cholmod_common`, the analysed factor and frees
/// both in deinit.
public final class CholeskyFactorization {
    /// Fill-reducing ordering. Default: AMD (fast to compute and close to the
    /// best on 2D/3D meshes at the sizes a rank holds); METIS for large 3D problems.
    public enum Ordering: String, Sendable, CaseIterable {
        case amd, metis, natural
        var cholmodValue: Int32 {
            switch self {
            case .amd: return CHOLMOD_AMD
            case .metis: return CHOLMOD_METIS
            case .natural: return CHOLMOD_NATURAL
            }
        }
    }

    public let dimension: Int
    public let ordering: Ordering
    private let common = CholmodCommon()
    private var factor: UnsafeMutablePointer<cholmod_factor>?
    private var pattern: (rowPointers: [Int], columnIndices: [Int32])

    /// Analyzes and factorizes `matrix`, which must be square and exactly symmetric.
    /// `simplicial`: a column-by-column factor instead of CHOLMOD's choice (supernodal
    /// when fill is high). For factors barely denser than a tree, as a sparsifier's are,
    /// a one-vector solve then runs without a BLAS call per supernode.
    public init(_ matrix: CSRMatrix, ordering: Ordering = .amd, simplicial: Bool = false) throws(SparrowError) {
        guard matrix.rows == matrix.columns else {
            throw .usage("Cholesky needs a square matrix, got \(matrix.rows) × \(matrix.columns)")
        }
        try Self.checkSymmetric(matrix)
        dimension = matrix.rows
        self.ordering = ordering
        pattern = (matrix.rowPointers, matrix.columnIndices)
        common.pointer.pointee.nmethods = 1
        common.pointer.pointee.method.0.ordering = ordering.cholmodValue
        common.pointer.pointee.postorder = 1
        if simplicial { common.pointer.pointee.supernodal = Int32(CHOLMOD_SIMPLICIAL) }
        // LLᵀ throughout so a failing pivot is always reported (LDLᵀ would accept indefinite D).
        common.pointer.pointee.final_ll = 1
        var a: UnsafeMutablePointer<cholmod_sparse>? = try common.sparse(matrix, stype: 1)
        defer { cholmod_l_free_sparse(&a, common.pointer) }
        guard let analysed = cholmod_l_analyze(a, common.pointer) else {
            try common.check("Cholesky analysis")
            throw .computation("Cholesky analysis failed")
        }
        factor = analysed
        try numeric(a)
    }

    deinit {
        if factor != nil { cholmod_l_free_factor(&factor, common.pointer) }
    }

    /// nnz(L) of the factor a Cholesky of `pattern` would have, from CHOLMOD's
    /// analysis alone (ordering and symbolic factorization, no numeric work).
    /// `pattern` must be square with a symmetric pattern; its values are ignored.
    public static func predictedFactorNonzeros(_ pattern: CSRMatrix, ordering: Ordering = .amd) throws(SparrowError) -> Int {
        guard pattern.rows == pattern.columns else {
            throw .usage("Cholesky needs a square matrix, got \(pattern.rows) × \(pattern.columns)")
        }
        let common = CholmodCommon()
        common.pointer.pointee.nmethods = 1
        common.pointer.pointee.method.0.ordering = ordering.cholmodValue
        var a: UnsafeMutablePointer<cholmod_sparse>? = try common.sparse(pattern, stype: 1)
        defer { cholmod_l_free_sparse(&a, common.pointer) }
        var symbolic = cholmod_l_analyze(a, common.pointer)
        guard symbolic != nil else {
            try common.check("Cholesky analysis")
            throw .computation("Cholesky analysis failed")
        }
        cholmod_l_free_factor(&symbolic, common.pointer)
        // Common->lnz: nnz(L) of the ordering chosen, set by cholmod_analyze.
        return Int(common.pointer.pointee.lnz)
    }

    /// Factorizes new values with the same nonzero pattern, reusing the analysis.
    public func refactorize(_ matrix: CSRMatrix) throws(SparrowError) {
        guard matrix.rows == dimension, matrix.rowPointers == pattern.rowPointers,
              matrix.columnIndices == pattern.columnIndices else {
            throw .usage("refactorize needs the same nonzero pattern as the analysed matrix")
        }
        try Self.checkSymmetric(matrix)
        var a: UnsafeMutablePointer<cholmod_sparse>? = try common.sparse(matrix, stype: 1)
        defer { cholmod_l_free_sparse(&a, common.pointer) }
        try numeric(a)
    }

    private func numeric(_ a: UnsafeMutablePointer<cholmod_sparse>?) throws(SparrowError) {
        cholmod_l_factorize(a, factor, common.pointer)
        try common.check("Cholesky factorization")
        if common.status == CHOLMOD_NOT_POSDEF || factor!.pointee.minor < dimension {
            let column = factor!.pointee.minor
            throw .computation("matrix is not positive definite: the factorization fails at column \(column + 1)")
        }
    }

    /// Exact symmetry in one pass, without building the transpose: rows are
    /// visited in order, so the entries below the diagonal of each row j are met
    /// in increasing column order; a cursor per row walks them in step with the
    /// entries (i, j) above the diagonal that must mirror them.
    private static func checkSymmetric(_ matrix: CSRMatrix) throws(SparrowError) {
        let a = matrix.sortedColumns()
        let n = a.rows
        var cursor = Array(a.rowPointers.prefix(n))
        var mismatch: (Int, Int)?
        a.rowPointers.withUnsafeBufferPointer { rp in
            a.columnIndices.withUnsafeBufferPointer { ci in
                a.values.withUnsafeBufferPointer { v in
                    cursor.withUnsafeMutableBufferPointer { next in
                        outer: for i in 0..<n {
                            for p in rp[i]..<rp[i + 1] {
                                let j = Int(ci[p])
                                if j <= i { continue }
                                let q = next[j]
                                if q >= rp[j + 1] || Int(ci[q]) != i || v[q] != v[p] { mismatch = (i, j); break outer }
                                next[j] = q + 1
                            }
                        }
                        // Every entry below the diagonal must have been matched.
                        if mismatch == nil {
                            for j in 0..<n where next[j] < rp[j + 1] && Int(ci[next[j]]) < j {
                                mismatch = (j, Int(ci[next[j]]))
                                break
                            }
                        }
                    }
                }
            }
        }
        if let (i, j) = mismatch {
            throw .usage("Cholesky needs a symmetric matrix: A[\(i + 1), \(j + 1)] differs from A[\(j + 1), \(i + 1)]")
        }
    }

    /// Solves A X = B for every column of B.
    public func solve(_ b: DenseMatrix) throws(SparrowError) -> DenseMatrix {
        guard b.rows == dimension else {
            throw .usage("right-hand side has \(b.rows) rows, the matrix has \(dimension)")
        }
        var bd: UnsafeMutablePointer<cholmod_dense>? = try common.dense(b)
        defer { cholmod_l_free_dense(&bd, common.pointer) }
        var x = cholmod_l_solve(CHOLMOD_A, factor, bd, common.pointer)
        guard let solution = x else {
            try common.check("Cholesky solve")
            throw .computation("Cholesky solve failed")
        }
        defer { cholmod_l_free_dense(&x, common.pointer) }
        return common.array(solution)
    }

    public func solve(_ b: [Double]) throws(SparrowError) -> [Double] {
        try solve(DenseMatrix(rows: b.count, columns: 1, values: b)).values
    }

    /// CHOLMOD's estimate of the reciprocal condition number ((min/max diag L)²).
    public var reciprocalCondition: Double { cholmod_l_rcond(factor, common.pointer) }

    /// Nonzeros in L (the memory and flop driver of the solve).
    public var factorNonzeros: Int {
        guard let f = factor?.pointee else { return 0 }
        if f.is_super != 0 {
            var total = 0
            let superStart = f.super.assumingMemoryBound(to: Int.self)
            let rowPointer = f.pi.assumingMemoryBound(to: Int.self)
            for s in 0..<f.nsuper {
                let columns = superStart[s + 1] - superStart[s]
                let rows = rowPointer[s + 1] - rowPointer[s]
                total += columns * rows - columns * (columns - 1) / 2
            }
            return total
        }
        let counts = f.nz.assumingMemoryBound(to: Int.self)
        return (0..<f.n).reduce(0) { $0 + counts[$1] }
    }

    /// log det(A) = 2 Σ log L_jj.
    public var logDeterminant: Double {
        guard let f = factor?.pointee else { return .nan }
        let x = f.x.assumingMemoryBound(to: Double.self)
        var sum = 0.0
        if f.is_super != 0 {
            let superStart = f.super.assumingMemoryBound(to: Int.self)
            let rowPointer = f.pi.assumingMemoryBound(to: Int.self)
            let valuePointer = f.px.assumingMemoryBound(to: Int.self)
            for s in 0..<f.nsuper {
                let columns = superStart[s + 1] - superStart[s]
                let rows = rowPointer[s + 1] - rowPointer[s]
                for j in 0..<columns { sum += 2 * Foundationless.log(x[valuePointer[s] + j + j * rows]) }
            }
        } else {
            let p = f.p.assumingMemoryBound(to: Int.self)
            for j in 0..<f.n {
                let d = x[p[j]]
                sum += f.is_ll != 0 ? 2 * Foundationless.log(d) : Foundationless.log(d)
            }
        }
        return sum
    }
}

#if canImport(Glibc)
import Glibc
#endif
/// Natural logarithm without importing Foundation.
enum Foundationless {
    static func log(_ x: Double) -> Double { Glibc.log(x) }
}
