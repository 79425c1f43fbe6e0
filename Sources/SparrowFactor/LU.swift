import CSuiteSparse
import SparrowCore

/// Sparse LU with partial pivoting through UMFPACK's multifrontal method
/// (T. A. Davis, "Algorithm 832: UMFPACK V4.3", ACM TOMS 30(2), 2004), 64-bit
/// (`umfpack_dl_*`) API.
///
/// Sparrow's CSR arrays are exactly UMFPACK's compressed-column arrays of Aᵀ,
/// so no copy or transpose is made: A x = b is UMFPACK's "Aᵀ" system for the
/// matrix it holds, and Aᵀ x = b its plain system.
public final class LUFactorization {
    public enum Ordering: String, Sendable, CaseIterable {
        case amd, metis, natural
        var umfpackValue: Double {
            switch self {
            case .amd: return Double(UMFPACK_ORDERING_AMD)
            case .metis: return Double(UMFPACK_ORDERING_METIS)
            case .natural: return Double(UMFPACK_ORDERING_NONE)
            }
        }
    }

    public let dimension: Int
    private let rowPointers: [Int]
    private var columnIndices: [Int]
    private var values: [Double]
    private var control = [Double](repeating: 0, count: Int(UMFPACK_CONTROL))
    private var info = [Double](repeating: 0, count: Int(UMFPACK_INFO))
    private var symbolic: UnsafeMutableRawPointer?
    private var numeric: UnsafeMutableRawPointer?

    /// Analyzes and factorizes a square matrix.
    public init(_ matrix: CSRMatrix, ordering: Ordering = .amd) throws(SparrowError) {
        guard matrix.rows == matrix.columns else {
            throw .usage("LU needs a square matrix, got \(matrix.rows) × \(matrix.columns); use --method qr for least squares")
        }
        DenseKernels.useDeterministicThreading()
        let sorted = matrix.sortedColumns()
        dimension = matrix.rows
        rowPointers = sorted.rowPointers
        columnIndices = sorted.columnIndices.map(Int.init)
        values = sorted.values
        umfpack_dl_defaults(&control)
        control[Int(UMFPACK_ORDERING)] = ordering.umfpackValue
        var symbolicHandle: UnsafeMutableRawPointer?
        let status = umfpack_dl_symbolic(dimension, dimension, rowPointers, columnIndices, values, &symbolicHandle, control, &info)
        try Self.check(status, "LU analysis")
        symbolic = symbolicHandle
        try factorizeNumeric()
    }

    deinit {
        if numeric != nil { umfpack_dl_free_numeric(&numeric) }
        if symbolic != nil { umfpack_dl_free_symbolic(&symbolic) }
    }

    /// New values with the same pattern: reuses the symbolic analysis.
    public func refactorize(_ matrix: CSRMatrix) throws(SparrowError) {
        let sorted = matrix.sortedColumns()
        guard sorted.rows == dimension, sorted.rowPointers == rowPointers,
              sorted.columnIndices.elementsEqual(columnIndices, by: { Int($0) == $1 }) else {
            throw .usage("refactorize needs the same nonzero pattern as the analysed matrix")
        }
        values = sorted.values
        if numeric != nil { umfpack_dl_free_numeric(&numeric) }
        try factorizeNumeric()
    }

    private func factorizeNumeric() throws(SparrowError) {
        var numericHandle: UnsafeMutableRawPointer?
        let status = umfpack_dl_numeric(rowPointers, columnIndices, values, symbolic, &numericHandle, control, &info)
        numeric = numericHandle
        if status == UMFPACK_WARNING_singular_matrix {
            throw .computation("matrix is singular: LU found a zero pivot (UMFPACK)")
        }
        try Self.check(status, "LU factorization")
    }

    private static func check(_ status: Int, _ what: String) throws(SparrowError) {
        switch Int32(status) {
        case UMFPACK_OK: return
        case UMFPACK_WARNING_singular_matrix: throw .computation("matrix is singular: LU found a zero pivot (UMFPACK)")
        case UMFPACK_ERROR_out_of_memory: throw .computation("\(what): out of memory (UMFPACK)")
        default: throw .computation("\(what) failed: UMFPACK status \(status)")
        }
    }

    /// Solves A X = B (or Aᵀ X = B) for every column of B.
    public func solve(_ b: DenseMatrix, transpose: Bool = false) throws(SparrowError) -> DenseMatrix {
        guard b.rows == dimension else { throw .usage("right-hand side has \(b.rows) rows, the matrix has \(dimension)") }
        var x = DenseMatrix(rows: b.rows, columns: b.columns)
        // Held as Aᵀ by UMFPACK: A x = b is its transposed system.
        let system = transpose ? Int(UMFPACK_A) : Int(UMFPACK_At)
        for j in 0..<b.columns {
            let status = b.values.withUnsafeBufferPointer { bv in
                x.values.withUnsafeMutableBufferPointer { xv in
                    umfpack_dl_solve(system, rowPointers, columnIndices, values, xv.baseAddress! + j * dimension,
                                     bv.baseAddress! + j * dimension, numeric, control, &info)
                }
            }
            try Self.check(status, "LU solve")
        }
        return x
    }

    /// UMFPACK's estimate of the reciprocal condition number (min/max |U diagonal|).
    public var reciprocalCondition: Double { info[Int(UMFPACK_RCOND)] }

    /// Nonzeros in L and U.
    public var factorNonzeros: Int {
        var lnz = 0, unz = 0, nRow = 0, nCol = 0, nzUdiag = 0
        umfpack_dl_get_lunz(&lnz, &unz, &nRow, &nCol, &nzUdiag, numeric)
        return lnz + unz
    }

    /// log |det A| (the sign is dropped).
    public var logAbsDeterminant: Double {
        var mantissa = 0.0, exponent = 0.0
        umfpack_dl_get_determinant(&mantissa, &exponent, numeric, &info)
        return Foundationless.log(abs(mantissa)) + exponent * Foundationless.log(10)
    }
}
