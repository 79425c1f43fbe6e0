import CSuiteSparse
import SparrowCore

/// Dense BLAS inside CHOLMOD, UMFPACK and SPQR runs on one thread per rank.
/// OpenBLAS picks its thread count from the CPU affinity mpirun gives each
/// rank, and different thread counts sum in different orders, so results
/// would change in the last bits with the rank count. Parallelism comes from
/// ranks (and Sparrow's own threads elsewhere) instead.
public enum DenseKernels {
    public static func useDeterministicThreading() { openblas_set_num_threads(1) }
}

/// One `cholmod_common` (64-bit `_l_` API), owned by one factorization object
/// and never shared between threads; started in init, finished in deinit.
final class CholmodCommon {
    let pointer: UnsafeMutablePointer<cholmod_common>

    init() {
        DenseKernels.useDeterministicThreading()
        pointer = .allocate(capacity: 1)
        cholmod_l_start(pointer)
        pointer.pointee.print = 0 // errors become typed Swift errors, not stdout text
    }

    deinit {
        cholmod_l_finish(pointer)
        pointer.deallocate()
    }

    var status: Int32 { pointer.pointee.status }

    /// Maps CHOLMOD's status after a call to a typed error.
    func check(_ what: String) throws(SparrowError) {
        switch status {
        case CHOLMOD_OK, CHOLMOD_NOT_POSDEF, CHOLMOD_DSMALL: return
        case CHOLMOD_OUT_OF_MEMORY: throw .computation("\(what): out of memory (CHOLMOD)")
        case CHOLMOD_TOO_LARGE: throw .computation("\(what): problem too large (CHOLMOD)")
        case CHOLMOD_INVALID: throw .usage("\(what): invalid input (CHOLMOD)")
        default: throw .computation("\(what): CHOLMOD failed with status \(status)")
        }
    }

    /// A CHOLMOD sparse copy of a CSR matrix, read as CSC of its transpose
    /// (row pointers become column pointers), `stype` as CHOLMOD defines it.
    /// For symmetric input with stype = -1 only entries on or below the CSC
    /// diagonal are kept, i.e. CSR entries with column ≥ row.
    func sparse(_ a: CSRMatrix, stype: Int32) throws(SparrowError) -> UnsafeMutablePointer<cholmod_sparse> {
        let keepUpperOfCSR = stype != 0
        var count = 0
        if keepUpperOfCSR {
            for i in 0..<a.rows { for p in a.rowRange(i) where Int(a.columnIndices[p]) >= i { count += 1 } }
        } else {
            count = a.nonzeros
        }
        guard let s = cholmod_l_allocate_sparse(a.columns, a.rows, count, 1, 1, stype, CHOLMOD_REAL, pointer) else {
            try check("allocating a sparse matrix")
            throw .computation("allocating a sparse matrix failed (CHOLMOD)")
        }
        let columnPointers = s.pointee.p.assumingMemoryBound(to: Int.self)
        let rowIndices = s.pointee.i.assumingMemoryBound(to: Int.self)
        let values = s.pointee.x.assumingMemoryBound(to: Double.self)
        var q = 0
        let sorted = a.sortedColumns()
        for i in 0..<a.rows {
            columnPointers[i] = q
            for p in sorted.rowRange(i) {
                let j = Int(sorted.columnIndices[p])
                if keepUpperOfCSR, j < i { continue }
                rowIndices[q] = j
                values[q] = sorted.values[p]
                q += 1
            }
        }
        columnPointers[a.rows] = q
        return s
    }

    /// A CHOLMOD dense copy of a column-major matrix.
    func dense(_ b: DenseMatrix) throws(SparrowError) -> UnsafeMutablePointer<cholmod_dense> {
        guard let d = cholmod_l_allocate_dense(b.rows, b.columns, b.rows, CHOLMOD_REAL, pointer) else {
            try check("allocating a dense matrix")
            throw .computation("allocating a dense matrix failed (CHOLMOD)")
        }
        let x = d.pointee.x.assumingMemoryBound(to: Double.self)
        b.values.withUnsafeBufferPointer { x.update(from: $0.baseAddress!, count: b.values.count) }
        return d
    }

    func array(_ d: UnsafeMutablePointer<cholmod_dense>) -> DenseMatrix {
        let rows = d.pointee.nrow, columns = d.pointee.ncol, leading = d.pointee.d
        let x = d.pointee.x.assumingMemoryBound(to: Double.self)
        var out = DenseMatrix(rows: rows, columns: columns)
        for j in 0..<columns { for i in 0..<rows { out.values[j * rows + i] = x[j * leading + i] } }
        return out
    }
}
