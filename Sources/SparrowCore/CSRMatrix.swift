/// Compressed sparse row matrix.
///
/// Row pointers are 64-bit (`Int`): a rank's block can hold more than 2^31
/// entries. Column indices are 32-bit (`Int32`): every local kernel streams
/// them, so halving their width halves the index traffic of SpMV and SpGEMM;
/// the price is a limit of 2^31 - 1 columns, which the readers and generators
/// check and report as an input error. Bindings that need 64-bit indices
/// (CHOLMOD's `_l_` API) widen at the boundary.
public struct CSRMatrix: Sendable, Equatable {
    /// Bytes held by the three arrays (row pointers, column indices, values).
    public var storageBytes: Int {
        rowPointers.count * MemoryLayout<Int>.stride + columnIndices.count * MemoryLayout<Int32>.stride
            + values.count * MemoryLayout<Double>.stride
    }

    public var rows: Int
    public var columns: Int
    /// rows + 1 offsets into `columnIndices` / `values`.
    public var rowPointers: [Int]
    public var columnIndices: [Int32]
    public var values: [Double]
    /// True when every row's column indices are strictly increasing.
    public var columnsSorted: Bool

    public static let maximumColumns = Int(Int32.max)

    public init(rows: Int, columns: Int, rowPointers: [Int], columnIndices: [Int32],
                values: [Double], columnsSorted: Bool) {
        precondition(rowPointers.count == rows + 1, "rowPointers must have rows + 1 entries")
        precondition(columnIndices.count == values.count, "one value per column index")
        self.rows = rows
        self.columns = columns
        self.rowPointers = rowPointers
        self.columnIndices = columnIndices
        self.values = values
        self.columnsSorted = columnsSorted
    }

    /// An empty (all-zero) matrix.
    public init(rows: Int, columns: Int) {
        self.init(rows: rows, columns: columns, rowPointers: [Int](repeating: 0, count: rows + 1),
                  columnIndices: [], values: [], columnsSorted: true)
    }

    public var nonzeros: Int { rowPointers[rows] }

    public func rowRange(_ row: Int) -> Range<Int> { rowPointers[row]..<rowPointers[row + 1] }

    /// Identity of size n.
    public static func identity(_ n: Int) -> CSRMatrix {
        CSRMatrix(rows: n, columns: n, rowPointers: Array(0...n),
                  columnIndices: (0..<n).map { Int32($0) }, values: [Double](repeating: 1, count: n),
                  columnsSorted: true)
    }

    /// The same matrix with every row's columns in increasing order.
    public func sortedColumns() -> CSRMatrix {
        if columnsSorted { return self }
        var result = self
        result.sortColumnsInPlace()
        return result
    }

    public mutating func sortColumnsInPlace() {
        if columnsSorted { return }
        let rowCount = rows
        rowPointers.withUnsafeBufferPointer { rp in
            columnIndices.withUnsafeMutableBufferPointer { ci in
                values.withUnsafeMutableBufferPointer { v in
                    var order: [Int] = []
                    var scratch: [(Int32, Double)] = []
                    for row in 0..<rowCount {
                        let lo = rp[row], hi = rp[row + 1]
                        var p = lo + 1
                        while p < hi, ci[p - 1] < ci[p] { p += 1 }
                        if p >= hi { continue }
                        if hi - lo <= 32 {
                            // Insertion sort: short rows dominate sparse matrices.
                            for i in (lo + 1)..<hi {
                                let c = ci[i], x = v[i]
                                var j = i
                                while j > lo, ci[j - 1] > c { ci[j] = ci[j - 1]; v[j] = v[j - 1]; j -= 1 }
                                ci[j] = c
                                v[j] = x
                            }
                        } else {
                            order.removeAll(keepingCapacity: true)
                            order.append(contentsOf: lo..<hi)
                            order.sort { ci[$0] < ci[$1] || (ci[$0] == ci[$1] && $0 < $1) }
                            scratch.removeAll(keepingCapacity: true)
                            for q in order { scratch.append((ci[q], v[q])) }
                            for (k, entry) in scratch.enumerated() { ci[lo + k] = entry.0; v[lo + k] = entry.1 }
                        }
                    }
                }
            }
        }
        columnsSorted = true
    }

    /// y = A x.
    public func multiply(_ x: [Double]) -> [Double] {
        precondition(x.count == columns, "x must have one entry per column")
        var y = [Double](repeating: 0, count: rows)
        multiply(x, into: &y)
        return y
    }

    public func multiply(_ x: [Double], into y: inout [Double]) {
        rowPointers.withUnsafeBufferPointer { rp in
            columnIndices.withUnsafeBufferPointer { ci in
                values.withUnsafeBufferPointer { v in
                    x.withUnsafeBufferPointer { xv in
                        for row in 0..<rows {
                            var sum = 0.0
                            for p in rp[row]..<rp[row + 1] { sum += v[p] * xv[Int(ci[p])] }
                            y[row] = sum
                        }
                    }
                }
            }
        }
    }

    /// Transpose (CSC of self read as CSR), columns sorted, in O(nnz + rows + columns).
    public func transposed() -> CSRMatrix {
        var counts = [Int](repeating: 0, count: columns + 1)
        for c in columnIndices { counts[Int(c) + 1] += 1 }
        for j in 0..<columns { counts[j + 1] += counts[j] }
        let pointers = counts
        var next = counts
        var tColumns = [Int32](repeating: 0, count: nonzeros)
        var tValues = [Double](repeating: 0, count: nonzeros)
        for row in 0..<rows {
            for p in rowRange(row) {
                let c = Int(columnIndices[p])
                let q = next[c]
                next[c] += 1
                tColumns[q] = Int32(row)
                tValues[q] = values[p]
            }
        }
        return CSRMatrix(rows: columns, columns: rows, rowPointers: pointers,
                         columnIndices: tColumns, values: tValues, columnsSorted: true)
    }

    public var frobeniusNorm: Double {
        var scale = 0.0, sum = 1.0
        for v in values where v != 0 {
            let a = abs(v)
            if scale < a { sum = 1 + sum * (scale / a) * (scale / a); scale = a } else { sum += (a / scale) * (a / scale) }
        }
        return scale * sum.squareRoot()
    }

    /// ‖self − other‖_F for matrices of equal shape (entries matched by position, any column order).
    public func frobeniusDistance(to other: CSRMatrix) -> Double {
        precondition(rows == other.rows && columns == other.columns, "shapes differ")
        let a = sortedColumns(), b = other.sortedColumns()
        var sum = 0.0
        for row in 0..<rows {
            var p = a.rowPointers[row], q = b.rowPointers[row]
            let pe = a.rowPointers[row + 1], qe = b.rowPointers[row + 1]
            while p < pe || q < qe {
                let cp = p < pe ? a.columnIndices[p] : Int32.max
                let cq = q < qe ? b.columnIndices[q] : Int32.max
                let d: Double
                if cp == cq { d = a.values[p] - b.values[q]; p += 1; q += 1 }
                else if cp < cq { d = a.values[p]; p += 1 }
                else { d = -b.values[q]; q += 1 }
                sum += d * d
            }
        }
        return sum.squareRoot()
    }

    /// True when shapes match and ‖self − other‖_F ≤ tolerance · max(‖self‖_F, ‖other‖_F).
    public func isApproximatelyEqual(to other: CSRMatrix, relativeTolerance: Double) -> Bool {
        guard rows == other.rows, columns == other.columns else { return false }
        let scale = max(frobeniusNorm, other.frobeniusNorm)
        return frobeniusDistance(to: other) <= relativeTolerance * scale
    }

    /// Exact structural and numerical symmetry (A == Aᵀ entry by entry, explicit zeros ignored).
    public var isSymmetric: Bool {
        rows == columns && frobeniusDistance(to: transposed()) == 0
    }

    /// The entry at (row, column), zero when not stored (duplicates summed).
    public func entry(_ row: Int, _ column: Int) -> Double {
        var sum = 0.0
        for p in rowRange(row) where Int(columnIndices[p]) == column { sum += values[p] }
        return sum
    }

    /// Number of stored entries per row.
    public var rowCounts: [Int] { (0..<rows).map { rowPointers[$0 + 1] - rowPointers[$0] } }

    /// True when no value is NaN or infinite.
    public var isFinite: Bool { values.allSatisfy { $0.isFinite } }
}
