import SparrowCore

/// y = A x for a row-distributed A and x distributed by `columnPartition`.
/// The exchange plan (ghost columns) and the compacted local block are built
/// once and reused for every product, as PETSc's MatMult does with its scatter.
public struct DistributedSpMV {
    public let plan: ExchangePlan
    /// Local rows with column indices renumbered into `plan.neededIndices`.
    public let compactLocal: CSRMatrix

    public init(matrix: DistributedCSR, columnPartition: RowPartition, communicator: Communicator) throws(SparrowError) {
        let local = matrix.local
        plan = try ExchangePlan(needing: local.columnIndices, partition: columnPartition, communicator: communicator)
        let position = IndexMap(plan.neededIndices, window: columnPartition.range(of: communicator.rank))
        compactLocal = CSRMatrix(rows: local.rows, columns: plan.neededIndices.count, rowPointers: local.rowPointers,
                                 columnIndices: position.positions(of: local.columnIndices),
                                 values: local.values, columnsSorted: local.columnsSorted)
    }

    /// This rank's rows of A x, given this rank's owned entries of x.
    public func apply(_ ownedX: [Double], communicator: Communicator) throws(SparrowError) -> [Double] {
        let ghosts = try plan.exchange(ownedX, communicator: communicator)
        return compactLocal.multiply(ghosts)
    }
}
