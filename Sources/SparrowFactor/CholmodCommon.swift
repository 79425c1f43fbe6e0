import CSuiteSparse
import SparrowCore

/// Dense BLAS and the OpenMP loops inside CHOLMOD, UMFPACK and SPQR run on
/// one thread per rank. OpenBLAS picks its thread count from the CPU affinity
/// mpirun gives each rank, and different thread counts sum in different
/// orders, so results would change in the last bits with the rank count; idle
/// OpenMP workers also spin (measured: 31 → 29 ms for BCSSTK13). Parallelism
/// comes from ranks (and Sparrow's own threads elsewhere) instead.
public enum DenseKernels {
    /// Once per process: OpenBLAS rebuilds its thread pool on every call.
    private static let configured: Bool = {
        openblas_set_num_threads(1)
        omp_set_num_threads(1)
        return true
    }()

    public static func useDeterministicThreading() { _ = configured }
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
    /// For symmetric input one triangle is kept: stype = 1 (CHOLMOD's upper,
    /// factored without an internal transpose) keeps CSR entries with
    /// column ≤ row; stype = -1 keeps column ≥ row.
    func sparse(_ a: CSRMatrix, stype: Int32) throws(SparrowError) -> UnsafeMutablePointer<cholmod_sparse> {
        // stype > 0: keep CSR entries with column ≤ row (CHOLMOD's upper triangle,
        // which it factors without a transpose); stype < 0: column ≥ row.
        let keepLowerOfCSR = stype > 0, keepUpperOfCSR = stype < 0
        // One pass: room for every entry (CHOLMOD allows nzmax above the count).
        guard let s = cholmod_l_allocate_sparse(a.columns, a.rows, max(1, a.nonzeros), 1, 1, stype, CHOLMOD_REAL, pointer) else {
            try check("allocating a sparse matrix")
            throw .computation("allocating a sparse matrix failed (CHOLMOD)")
        }
        let columnPointers = s.pointee.p.assumingMemoryBound(to: Int.self)
        let rowIndices = s.pointee.i.assumingMemoryBound(to: Int.self)
        let values = s.pointee.x.assumingMemoryBound(to: Double.self)
        let sorted = a.sortedColumns()
        sorted.rowPointers.withUnsafeBufferPointer { rp in
            sorted.columnIndices.withUnsafeBufferPointer { ci in
                sorted.values.withUnsafeBufferPointer { v in
                    var q = 0
                    for i in 0..<a.rows {
                        columnPointers[i] = q
                        for p in rp[i]..<rp[i + 1] {
                            let j = Int(ci[p])
                            if keepUpperOfCSR, j < i { continue }
                            if keepLowerOfCSR, j > i { continue }
                            rowIndices[q] = j
                            values[q] = v[p]
                            q += 1
                        }
                    }
                    columnPointers[a.rows] = q
                }
            }
        }
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
