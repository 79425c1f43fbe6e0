import SparrowCore

/// A row-distributed sparse matrix: this rank's block of rows (global column
/// indices), the partition that says who owns what, and the global shape.
public struct DistributedCSR: Sendable {
    public var local: CSRMatrix
    public let partition: RowPartition
    public let globalColumns: Int
    public let rank: Int
    /// Entries of this rank's rows that repeated an earlier (row, column) pair
    /// and were summed into it when assembled from coordinates. Most operations
    /// want the sum (Matrix Market's convention); ratings refuse any.
    public var mergedDuplicates = 0

    public init(local: CSRMatrix, partition: RowPartition, globalColumns: Int, rank: Int) {
        precondition(local.rows == partition.range(of: rank).count)
        self.local = local
        self.partition = partition
        self.globalColumns = globalColumns
        self.rank = rank
    }

    public var globalRows: Int { partition.globalRows }
    public var ownedRows: Range<Int> { partition.range(of: rank) }

    public func globalNonzeros(_ communicator: Communicator) -> Int {
        communicator.allreduce(local.nonzeros, .sum)
    }

    /// Splits a whole matrix held on every rank (e.g. generated identically) into row blocks.
    public static func fromReplicated(_ matrix: CSRMatrix, partition: RowPartition, rank: Int) -> DistributedCSR {
        let range = partition.range(of: rank)
        let base = matrix.rowPointers[range.lowerBound]
        let pointers = matrix.rowPointers[range.lowerBound...range.upperBound].map { $0 - base }
        let entries = base..<matrix.rowPointers[range.upperBound]
        let local = CSRMatrix(rows: range.count, columns: matrix.columns, rowPointers: Array(pointers),
                              columnIndices: Array(matrix.columnIndices[entries]), values: Array(matrix.values[entries]),
                              columnsSorted: matrix.columnsSorted)
        return DistributedCSR(local: local, partition: partition, globalColumns: matrix.columns, rank: rank)
    }

    /// Collective: the whole matrix on rank 0 (nil elsewhere).
    public func gather(_ communicator: Communicator) throws(SparrowError) -> CSRMatrix? {
        if communicator.size == 1 { return local }
        let lengths = local.rowCounts
        guard let allLengths = try communicator.gatherv(lengths),
              let allColumns = try communicator.gatherv(local.columnIndices),
              let allValues = try communicator.gatherv(local.values) else {
            _ = try communicator.gatherv(local.columnIndices)
            _ = try communicator.gatherv(local.values)
            return nil
        }
        let flatLengths = allLengths.flatMap { $0 }
        var pointers = [Int](repeating: 0, count: flatLengths.count + 1)
        for i in 0..<flatLengths.count { pointers[i + 1] = pointers[i] + flatLengths[i] }
        return CSRMatrix(rows: globalRows, columns: globalColumns, rowPointers: pointers,
                         columnIndices: allColumns.flatMap { $0 }, values: allValues.flatMap { $0 },
                         columnsSorted: local.columnsSorted)
    }

    /// Collective: the whole matrix on every rank (direct solvers and
    /// factor-based preconditioners need all of it).
    public func replicated(_ communicator: Communicator) throws(SparrowError) -> CSRMatrix {
        let lengths = try communicator.allgatherv(local.rowCounts)
        let columns = try communicator.allgatherv(local.columnIndices)
        let values = try communicator.allgatherv(local.values)
        var pointers = [Int](repeating: 0, count: lengths.count + 1)
        for i in 0..<lengths.count { pointers[i + 1] = pointers[i] + lengths[i] }
        return CSRMatrix(rows: globalRows, columns: globalColumns, rowPointers: pointers, columnIndices: columns,
                         values: values, columnsSorted: local.columnsSorted)
    }

    /// Builds the distributed matrix from entries that sit on arbitrary ranks:
    /// agrees on a partition (by `balance`), then moves every entry to its owner.
    /// Collective. Row and column indices are 0-based global.
    public static func assemble(rows: Int, columns: Int, rowIndices: [Int32], columnIndices: [Int32], values: [Double],
                                balance: BalanceRule, communicator: Communicator,
                                partition fixed: RowPartition? = nil) throws(SparrowError) -> DistributedCSR {
        let partition: RowPartition
        if let fixed {
            partition = fixed
        } else if balance == .rows || communicator.size == 1 {
            partition = .uniform(rows: rows, parts: communicator.size)
        } else {
            var counts = [Int](repeating: 0, count: rows)
            for r in rowIndices { counts[Int(r)] += 1 }
            communicator.allreduceSumInPlace(&counts)
            partition = .balanced(weights: counts, parts: communicator.size)
        }
        let rank = communicator.rank
        if communicator.size == 1 {
            if let local = CoordinateAssembler.csrIfRowMajor(rows: rows, columns: columns, rowIndices: rowIndices,
                                                            columnIndices: columnIndices, values: values) {
                return DistributedCSR(local: local, partition: partition, globalColumns: columns, rank: rank)
            }
            let local = rowIndices.withUnsafeBufferPointer { r in
                columnIndices.withUnsafeBufferPointer { c in
                    values.withUnsafeBufferPointer { v in
                        CoordinateAssembler.csr(rows: rows, columns: columns, rowIndices: r, columnIndices: c, values: v)
                    }
                }
            }
            var matrix = DistributedCSR(local: local, partition: partition, globalColumns: columns, rank: rank)
            matrix.mergedDuplicates = columnIndices.count - local.nonzeros
            return matrix
        }
        // Bucket entries by owner rank (counting sort), then one all-to-all per array.
        let size = communicator.size
        var owners = [Int32](repeating: 0, count: rowIndices.count)
        var sendCounts = [Int](repeating: 0, count: size)
        for e in 0..<rowIndices.count {
            let o = partition.owner(of: Int(rowIndices[e]))
            owners[e] = Int32(o)
            sendCounts[o] += 1
        }
        var next = [Int](repeating: 0, count: size)
        for r in 1..<size { next[r] = next[r - 1] + sendCounts[r - 1] }
        var sendRows = [Int32](repeating: 0, count: rowIndices.count)
        var sendColumns = [Int32](repeating: 0, count: rowIndices.count)
        var sendValues = [Double](repeating: 0, count: rowIndices.count)
        let start = Int32(partition.offsets[rank])
        _ = start
        for e in 0..<rowIndices.count {
            let o = Int(owners[e])
            let q = next[o]
            next[o] += 1
            sendRows[q] = rowIndices[e] - Int32(partition.offsets[o])
            sendColumns[q] = columnIndices[e]
            sendValues[q] = values[e]
        }
        let (localRows, receiveCounts) = try communicator.alltoallv(sendRows, sendCounts: sendCounts)
        let localColumns = try communicator.alltoallv(sendColumns, sendCounts: sendCounts, receiveCounts: receiveCounts)
        let localValues = try communicator.alltoallv(sendValues, sendCounts: sendCounts, receiveCounts: receiveCounts)
        let ownedRows = partition.range(of: rank).count
        let local = localRows.withUnsafeBufferPointer { r in
            localColumns.withUnsafeBufferPointer { c in
                localValues.withUnsafeBufferPointer { v in
                    CoordinateAssembler.csr(rows: ownedRows, columns: columns, rowIndices: r, columnIndices: c, values: v)
                }
            }
        }
        var matrix = DistributedCSR(local: local, partition: partition, globalColumns: columns, rank: rank)
        matrix.mergedDuplicates = localColumns.count - local.nonzeros
        return matrix
    }
}
