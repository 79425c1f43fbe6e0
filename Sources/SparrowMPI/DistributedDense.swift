import SparrowCore

/// A dense matrix distributed by rows, like Tpetra's MultiVector: rank r holds
/// rows `partition.range(of: r)` of every column, column-major in `local`.
/// Solutions, duals and factors keep this form between job steps: a consumer
/// that needs all of it gathers it (and says so at its call site), a file is
/// written by every rank at once, and moving to another partition (a PCG
/// right-hand side for a matrix balanced by nonzeros) sends each row once.
public struct DistributedDense: Sendable {
    public var local: DenseMatrix
    public let partition: RowPartition
    public let rank: Int

    public init(local: DenseMatrix, partition: RowPartition, rank: Int) {
        precondition(local.rows == partition.range(of: rank).count, "local rows must match the partition")
        self.local = local
        self.partition = partition
        self.rank = rank
    }

    public var globalRows: Int { partition.globalRows }
    public var columns: Int { local.columns }
    public var ownedRows: Range<Int> { partition.range(of: rank) }

    /// Collective: the matrix whose rows `firstRow ..< firstRow + block.rows`
    /// are given by some rank's `block` (each row by exactly one rank), laid
    /// out over `partition` (uniform when nil). Every row travels once, from
    /// the rank that has it to the rank that owns it.
    public static func assemble(blocks: [(firstRow: Int, block: DenseMatrix)], globalRows: Int, columns: Int,
                                partition given: RowPartition? = nil, communicator: Communicator) throws(SparrowError) -> DistributedDense {
        let partition = given ?? RowPartition.uniform(rows: globalRows, parts: communicator.size)
        let owned = partition.range(of: communicator.rank)
        // Rows for each destination: global row indices, and their values row by row.
        let (rowIndices, values, counts) = try communicator.everywhere { () throws(SparrowError) -> ([Int], [Double], [Int]) in
            guard partition.parts == communicator.size, partition.globalRows == globalRows else {
                throw .computation("internal: a \(partition.parts)-part partition of \(partition.globalRows) rows for \(globalRows) rows on \(communicator.size) ranks")
            }
            var rowsTo = [[Int]](repeating: [], count: communicator.size)
            var valuesTo = [[Double]](repeating: [], count: communicator.size)
            for (b, (first, block)) in blocks.enumerated() {
                guard block.columns == columns || block.rows == 0, first >= 0, first + block.rows <= globalRows else {
                    throw .computation("internal: row block \(b) (\(block.rows) × \(block.columns) at row \(first)) does not fit \(globalRows) × \(columns)")
                }
                for i in 0..<block.rows {
                    let destination = partition.owner(of: first + i)
                    rowsTo[destination].append(first + i)
                    for j in 0..<columns { valuesTo[destination].append(block[i, j]) }
                }
            }
            try MemoryBudget.check(Double(owned.count) * Double(columns) * 16, for: "this rank's \(owned.count) rows of a \(globalRows) × \(columns) matrix") {
                .computation($0)
            }
            return (rowsTo.flatMap { $0 }, valuesTo.flatMap { $0 }, rowsTo.map(\.count))
        }
        let (receivedRows, _) = try communicator.alltoallv(rowIndices, sendCounts: counts)
        let (receivedValues, _) = try communicator.alltoallv(values, sendCounts: counts.map { $0 * columns })
        let local = try communicator.everywhere { () throws(SparrowError) -> DenseMatrix in
            var local = DenseMatrix(rows: owned.count, columns: columns)
            var seen = [Bool](repeating: false, count: owned.count)
            for (k, row) in receivedRows.enumerated() {
                let i = row - owned.lowerBound
                guard owned.contains(row), !seen[i] else { throw .computation("internal: row \(row) of a distributed matrix arrived twice or at the wrong rank") }
                seen[i] = true
                for j in 0..<columns { local[i, j] = receivedValues[k * columns + j] }
            }
            if let missing = seen.firstIndex(of: false) {
                throw .computation("internal: row \(owned.lowerBound + missing) of a distributed \(globalRows) × \(columns) matrix was given by no rank")
            }
            return local
        }
        return DistributedDense(local: local, partition: partition, rank: communicator.rank)
    }

    /// Collective: the same matrix over another partition of its rows.
    public func redistributed(to target: RowPartition, communicator: Communicator) throws(SparrowError) -> DistributedDense {
        if target == partition { return self }
        return try Self.assemble(blocks: [(ownedRows.lowerBound, local)], globalRows: globalRows, columns: columns,
                                 partition: target, communicator: communicator)
    }

    /// Collective: the whole matrix on `root` (nil elsewhere).
    public func gather(to root: Int = 0, communicator: Communicator) throws(SparrowError) -> DenseMatrix? {
        guard let parts = try communicator.gatherv(local.values, root: root) else { return nil }
        return whole(from: parts)
    }

    /// Collective: the whole matrix on every rank (direct solves need all of a right-hand side).
    public func allgathered(_ communicator: Communicator) throws(SparrowError) -> DenseMatrix {
        let flat = try communicator.allgatherv(local.values)
        var parts: [ArraySlice<Double>] = []
        var offset = 0
        for r in 0..<partition.parts {
            let count = partition.range(of: r).count * columns
            parts.append(flat[offset..<(offset + count)])
            offset += count
        }
        return whole(from: parts)
    }

    /// Column-major whole matrix from every rank's column-major rows.
    private func whole<C: RandomAccessCollection<Double>>(from parts: [C]) -> DenseMatrix where C.Index == Int {
        var values: [Double] = []
        values.reserveCapacity(globalRows * columns)
        for j in 0..<columns {
            for r in parts.indices {
                let rows = partition.range(of: r).count
                let start = parts[r].startIndex + j * rows
                values += parts[r][start..<(start + rows)]
            }
        }
        return DenseMatrix(rows: globalRows, columns: columns, values: values)
    }

    /// Collective: an `array real general` file, every rank writing its rows of each column.
    public func write(to path: String, comment: String? = nil, into outputs: OutputSet? = nil,
                      communicator: Communicator) throws(SparrowError) {
        try ParallelOutput.writeArray(owned: local.values, ownedRows: local.rows, globalRows: globalRows, columns: columns,
                                      path: path, comment: comment, into: outputs, communicator: communicator)
    }
}
