/// Builds CSR from coordinate entries in O(nnz + rows): one stable counting
/// sort by row (mirroring symmetric halves on the fly), a per-row sort only
/// for rows whose columns arrive out of order, and one merge of duplicates.
/// Files written column by column (MATLAB, SuiteSparse) arrive sorted, so the
/// common case is a single scatter.
public enum CoordinateAssembler {
    // Exported specializations: callers in other modules (the distributed
    // loader) otherwise get the generic body, whose index conversions go
    // through BinaryInteger witnesses (≈ 20 % of a one-rank load).
    @_specialize(exported: true, where RowIndex == Int32)
    @_specialize(exported: true, where RowIndex == Int)
    public static func csr<RowIndex: BinaryInteger>(
        rows: Int, columns: Int,
        rowIndices: UnsafeBufferPointer<RowIndex>, columnIndices: UnsafeBufferPointer<Int32>,
        values: UnsafeBufferPointer<Double>?, symmetry: MatrixMarketHeader.Symmetry = .general
    ) -> CSRMatrix {
        let n = columnIndices.count
        let mirror = symmetry != .general
        let mirrorSign: Double = symmetry == .skewSymmetric ? -1 : 1
        var rowPointers = [Int](repeating: 0, count: rows + 1)
        for e in 0..<n {
            let r = Int(rowIndices[e]), c = Int(columnIndices[e])
            rowPointers[r + 1] += 1
            if mirror, r != c { rowPointers[c + 1] += 1 }
        }
        for i in 0..<rows { rowPointers[i + 1] += rowPointers[i] }
        let stored = rowPointers[rows]
        var next = Array(rowPointers[0..<rows])
        var outColumns = [Int32](unsafeUninitializedCapacity: stored) { $1 = stored }
        var outValues = [Double](unsafeUninitializedCapacity: stored) { $1 = stored }
        outColumns.withUnsafeMutableBufferPointer { oc in
            outValues.withUnsafeMutableBufferPointer { ov in
                next.withUnsafeMutableBufferPointer { nx in
                    for e in 0..<n {
                        let r = Int(rowIndices[e]), c = columnIndices[e]
                        let v = values?[e] ?? 1
                        let q = nx[r]
                        nx[r] = q + 1
                        oc[q] = c
                        ov[q] = v
                        if mirror, r != Int(c) {
                            let q2 = nx[Int(c)]
                            nx[Int(c)] = q2 + 1
                            oc[q2] = Int32(truncatingIfNeeded: r)
                            ov[q2] = mirrorSign * v
                        }
                    }
                }
            }
        }
        var matrix = CSRMatrix(rows: rows, columns: columns, rowPointers: rowPointers,
                               columnIndices: outColumns, values: outValues, columnsSorted: false)
        matrix.sortColumnsInPlace()
        matrix.sumAdjacentDuplicates()
        return matrix
    }
}

extension CoordinateAssembler {
    /// CSR without moving a single entry when the entries already come in
    /// row-major order with strictly increasing columns in each row (files
    /// written by Sparrow, scipy and most tools): the column and value arrays
    /// become the matrix's own, and only the row pointers are built. Nil when
    /// the entries are in any other order (then `csr` sorts them).
    public static func csrIfRowMajor(rows: Int, columns: Int, rowIndices: [Int32], columnIndices: [Int32],
                                     values: [Double]) -> CSRMatrix? {
        let n = columnIndices.count
        guard rowIndices.count == n, values.count == n else { return nil }
        var rowPointers = [Int](repeating: 0, count: rows + 1)
        let ordered = rowIndices.withUnsafeBufferPointer { r in
            columnIndices.withUnsafeBufferPointer { c in
                rowPointers.withUnsafeMutableBufferPointer { pointers -> Bool in
                    var previousRow: Int32 = -1, previousColumn: Int32 = -1
                    for e in 0..<n {
                        let row = r[e], column = c[e]
                        if row == previousRow {
                            if column <= previousColumn { return false }
                        } else if row < previousRow || row < 0 || Int(row) >= rows {
                            return false
                        }
                        pointers[Int(row) + 1] += 1
                        previousRow = row
                        previousColumn = column
                    }
                    return true
                }
            }
        }
        guard ordered else { return nil }
        for i in 0..<rows { rowPointers[i + 1] += rowPointers[i] }
        return CSRMatrix(rows: rows, columns: columns, rowPointers: rowPointers, columnIndices: columnIndices,
                         values: values, columnsSorted: true)
    }
}

extension CSRMatrix {
    /// Merges equal neighbouring column indices (rows must be sorted).
    mutating func sumAdjacentDuplicates() {
        var hasDuplicates = false
        for row in 0..<rows where rowPointers[row + 1] - rowPointers[row] > 1 {
            for p in rowPointers[row]..<(rowPointers[row + 1] - 1) where columnIndices[p] == columnIndices[p + 1] {
                hasDuplicates = true
                break
            }
            if hasDuplicates { break }
        }
        guard hasDuplicates else { return }
        var write = 0, start = 0
        for row in 0..<rows {
            let end = rowPointers[row + 1]
            var p = start
            while p < end {
                let c = columnIndices[p]
                var sum = values[p]
                p += 1
                while p < end, columnIndices[p] == c { sum += values[p]; p += 1 }
                columnIndices[write] = c
                values[write] = sum
                write += 1
            }
            start = end
            rowPointers[row + 1] = write
        }
        columnIndices.removeLast(columnIndices.count - write)
        values.removeLast(values.count - write)
    }
}
