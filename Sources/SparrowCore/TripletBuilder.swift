/// Coordinate (COO / triplet) entries with a conversion to CSR that sums
/// duplicates, like scipy's `coo_matrix.tocsr()` and CHOLMOD's triplet form.
public struct TripletBuilder: Sendable {
    public let rows: Int
    public let columns: Int
    public var rowIndices: [Int]
    public var columnIndices: [Int32]
    public var values: [Double]

    public init(rows: Int, columns: Int, reservingCapacity capacity: Int = 0) {
        self.rows = rows
        self.columns = columns
        rowIndices = []
        columnIndices = []
        values = []
        rowIndices.reserveCapacity(capacity)
        columnIndices.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
    }

    public var count: Int { values.count }

    @inline(__always)
    public mutating func append(row: Int, column: Int, value: Double) {
        rowIndices.append(row)
        columnIndices.append(Int32(truncatingIfNeeded: column))
        values.append(value)
    }

    public mutating func append(contentsOf other: TripletBuilder) {
        rowIndices.append(contentsOf: other.rowIndices)
        columnIndices.append(contentsOf: other.columnIndices)
        values.append(contentsOf: other.values)
    }

    /// CSR with sorted columns and duplicates summed (scipy's `tocsr()`).
    public func csr() -> CSRMatrix {
        rowIndices.withUnsafeBufferPointer { r in
            columnIndices.withUnsafeBufferPointer { c in
                values.withUnsafeBufferPointer { v in
                    CoordinateAssembler.csr(rows: rows, columns: columns, rowIndices: r, columnIndices: c, values: v)
                }
            }
        }
    }
}

extension CSRMatrix {
    /// The matrix as triplets (row-major order).
    public var triplets: TripletBuilder {
        var t = TripletBuilder(rows: rows, columns: columns, reservingCapacity: nonzeros)
        for row in 0..<rows {
            for p in rowRange(row) { t.append(row: row, column: Int(columnIndices[p]), value: values[p]) }
        }
        return t
    }
}
