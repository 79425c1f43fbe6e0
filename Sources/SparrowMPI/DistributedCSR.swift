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

    /// Collective: the whole matrix on `root` (nil elsewhere).
    public func gather(to root: Int = 0, _ communicator: Communicator) throws(SparrowError) -> CSRMatrix? {
        if communicator.size == 1 { return local }
        let lengths = local.rowCounts
        guard let allLengths = try communicator.gatherv(lengths, root: root),
              let allColumns = try communicator.gatherv(local.columnIndices, root: root),
              let allValues = try communicator.gatherv(local.values, root: root) else {
            _ = try communicator.gatherv(local.columnIndices, root: root)
            _ = try communicator.gatherv(local.values, root: root)
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
        var r = rowIndices, c = columnIndices, v = values
        return try assemble(rows: rows, columns: columns, taking: &r, &c, &v, balance: balance,
                            communicator: communicator, partition: fixed)
    }

    /// The same, taking the entry arrays over: they are emptied as soon as
    /// their entries are packed, so the input and the assembled matrix are not
    /// both held at the peak. Only entries owned by another rank travel; this
    /// rank's own (most of them, for a row-sorted file) are copied in place.
    public static func assemble(rows: Int, columns: Int, taking rowIndices: inout [Int32], _ columnIndices: inout [Int32],
                                _ values: inout [Double], balance: BalanceRule, communicator: Communicator,
                                partition fixed: RowPartition? = nil) throws(SparrowError) -> DistributedCSR {
        let partition: RowPartition
        if let fixed {
            partition = fixed
        } else if balance == .rows || communicator.size == 1 {
            partition = .uniform(rows: rows, parts: communicator.size)
        } else {
            partition = try .balanced(entryRows: rowIndices, globalRows: rows, communicator: communicator)
        }
        let rank = communicator.rank, size = communicator.size
        if size == 1 {
            let (local, merged) = ownedBlock(rows: rows, columns: columns, &rowIndices, &columnIndices, &values)
            return DistributedCSR(local: local, partition: partition, globalColumns: columns, rank: rank, merged: merged)
        }
        // Counting sort of the entries bound elsewhere; this rank's own are counted only.
        var sendCounts = [Int](repeating: 0, count: size)
        for row in rowIndices { sendCounts[partition.owner(of: Int(row))] += 1 }
        sendCounts[rank] = 0
        var next = [Int](repeating: 0, count: size)
        for r in 1..<size { next[r] = next[r - 1] + sendCounts[r - 1] }
        let outgoing = next[size - 1] + sendCounts[size - 1]
        var sendRows = [Int32](repeating: 0, count: outgoing)
        var sendColumns = [Int32](repeating: 0, count: outgoing)
        var sendValues = [Double](repeating: 0, count: outgoing)
        // This rank's own entries are compacted in place (local row numbers), the others packed to send.
        let myStart = Int32(partition.offsets[rank])
        var kept = 0
        for e in 0..<rowIndices.count {
            let o = partition.owner(of: Int(rowIndices[e]))
            if o == rank {
                rowIndices[kept] = rowIndices[e] - myStart
                columnIndices[kept] = columnIndices[e]
                values[kept] = values[e]
                kept += 1
                continue
            }
            let q = next[o]
            next[o] += 1
            sendRows[q] = rowIndices[e] - Int32(partition.offsets[o])
            sendColumns[q] = columnIndices[e]
            sendValues[q] = values[e]
        }
        rowIndices.removeLast(rowIndices.count - kept)
        columnIndices.removeLast(columnIndices.count - kept)
        values.removeLast(values.count - kept)
        System.traceMemory("assembly: packed")
        let (receivedRows, receiveCounts) = try communicator.alltoallv(sendRows, sendCounts: sendCounts)
        sendRows = []
        let receivedColumns = try communicator.alltoallv(sendColumns, sendCounts: sendCounts, receiveCounts: receiveCounts)
        sendColumns = []
        let receivedValues = try communicator.alltoallv(sendValues, sendCounts: sendCounts, receiveCounts: receiveCounts)
        sendValues = []
        // Entries in source-rank order with this rank's own in its place: a row-sorted file stays row-sorted.
        let before = receiveCounts[..<rank].reduce(0, +)
        rowIndices.insert(contentsOf: receivedRows[..<before], at: 0)
        columnIndices.insert(contentsOf: receivedColumns[..<before], at: 0)
        values.insert(contentsOf: receivedValues[..<before], at: 0)
        rowIndices.append(contentsOf: receivedRows[before...])
        columnIndices.append(contentsOf: receivedColumns[before...])
        values.append(contentsOf: receivedValues[before...])
        System.traceMemory("assembly: combined")
        let (local, merged) = ownedBlock(rows: partition.range(of: rank).count, columns: columns, &rowIndices, &columnIndices, &values)
        return DistributedCSR(local: local, partition: partition, globalColumns: columns, rank: rank, merged: merged)
    }

    /// A CSR of entries whose rows are all this rank's (0-based local), sharing
    /// the arrays when they are already row-major with sorted columns; with the
    /// number of repeated (row, column) entries summed into others.
    private static func ownedBlock(rows: Int, columns: Int, _ rowIndices: inout [Int32], _ columnIndices: inout [Int32],
                                   _ values: inout [Double]) -> (CSRMatrix, Int) {
        defer { rowIndices = []; columnIndices = []; values = [] }
        if let local = CoordinateAssembler.csrIfRowMajor(rows: rows, columns: columns, rowIndices: rowIndices,
                                                        columnIndices: columnIndices, values: values) {
            return (local, 0)
        }
        let local = rowIndices.withUnsafeBufferPointer { r in
            columnIndices.withUnsafeBufferPointer { c in
                values.withUnsafeBufferPointer { v in
                    CoordinateAssembler.csr(rows: rows, columns: columns, rowIndices: r, columnIndices: c, values: v)
                }
            }
        }
        return (local, columnIndices.count - local.nonzeros)
    }

    private init(local: CSRMatrix, partition: RowPartition, globalColumns: Int, rank: Int, merged: Int) {
        self.init(local: local, partition: partition, globalColumns: globalColumns, rank: rank)
        mergedDuplicates = merged
    }
}
