import SparrowCore
import SparrowMPI

/// C = A·B with A, B and C distributed by rows (1D row-wise SpGEMM).
///
///   1. plan   the B rows that local A references (its distinct column indices),
///             grouped by owning rank: one ExchangePlan, built once;
///   2. fetch  exactly those rows (all-to-all of row lengths, columns, values);
///   3. renumber A's columns into positions of the fetched rows;
///   4. multiply locally (LocalSpGEMM, threads + atomic heavy rows);
/// C's rows are this rank's A rows: no communication of partial products.
public enum DistributedSpGEMM {
    public struct RankStatistics: Sendable {
        public var local = SpGEMMStatistics()
        public var communicationSeconds = 0.0
        public var bytesReceived = 0
        public var computeSeconds = 0.0
        public var fetchedRows = 0
        public init() {}
    }

    public static func multiply(_ a: DistributedCSR, _ b: DistributedCSR, options: SpGEMMOptions,
                                workspace: SpGEMMWorkspace, communicator: Communicator,
                                statistics: inout RankStatistics) throws(SparrowError) -> DistributedCSR {
        guard a.globalColumns == b.globalRows else {
            throw .usage("shape mismatch: A is \(a.globalRows) × \(a.globalColumns) but B is \(b.globalRows) × \(b.globalColumns)")
        }
        let bytesBefore = communicator.bytesReceived
        let commBefore = communicator.communicationSeconds
        // 1–2. Fetch the referenced rows of B.
        let plan = try ExchangePlan(needing: a.local.columnIndices, partition: b.partition, communicator: communicator)
        let fetched = try plan.exchangeRows(of: b.local, communicator: communicator)
        statistics.fetchedRows = fetched.rows
        statistics.communicationSeconds += communicator.communicationSeconds - commBefore
        statistics.bytesReceived += communicator.bytesReceived - bytesBefore
        // 3. Renumber A's columns (global row ids of B) into fetched-row positions.
        let computeStart = System.now()
        // A map sized by the fetched rows, not an ncols(A)-long array.
        let position = IndexMap(plan.neededIndices, window: b.partition.range(of: communicator.rank))
        let renumbered = CSRMatrix(rows: a.local.rows, columns: fetched.rows, rowPointers: a.local.rowPointers,
                                   columnIndices: position.positions(of: a.local.columnIndices),
                                   values: a.local.values, columnsSorted: false)
        // 4. Local product: rank-local (it may refuse C's size on this rank only), then agreed.
        var localStatistics = statistics.local
        let local = try communicator.everywhere { () throws(SparrowError) in
            try LocalSpGEMM.multiply(renumbered, fetched, options: options, workspace: workspace, statistics: &localStatistics)
        }
        statistics.local = localStatistics
        statistics.computeSeconds += System.now() - computeStart
        return DistributedCSR(local: local, partition: a.partition, globalColumns: b.globalColumns, rank: communicator.rank)
    }

    /// Re-partitions A so each rank gets about the same multiply-adds of A·B
    /// (rows of A weighted by the lengths of the B rows they reference). The
    /// lengths come from the ranks owning those rows, through the same plan the
    /// product uses: nothing global-length is built.
    public static func flopBalanced(_ a: DistributedCSR, for b: DistributedCSR,
                                    communicator: Communicator) throws(SparrowError) -> DistributedCSR {
        let plan = try ExchangePlan(needing: a.local.columnIndices, partition: b.partition, communicator: communicator)
        let neededLengths = try plan.exchange(b.local.rowCounts, communicator: communicator)
        let position = IndexMap(plan.neededIndices, window: b.partition.range(of: communicator.rank))
        let local = a.local
        var flops = [Int](repeating: 0, count: local.rows)
        for i in 0..<local.rows {
            var f = 0
            for p in local.rowRange(i) { f += neededLengths[Int(position.position(of: Int(local.columnIndices[p])))] }
            flops[i] = f + 1
        }
        return try rebalanced(a, weights: flops, communicator: communicator)
    }

    /// A re-partitioned by `rule`: equal rows, equal nonzeros, or equal multiply-adds of A·B.
    public static func balanced(_ a: DistributedCSR, by rule: BalanceRule, for b: DistributedCSR,
                                communicator: Communicator) throws(SparrowError) -> DistributedCSR {
        switch rule {
        case .rows:
            return try redistribute(a, to: .uniform(rows: a.globalRows, parts: communicator.size), communicator: communicator)
        case .nnz:
            return try rebalanced(a, weights: a.local.rowCounts, communicator: communicator)
        case .flops:
            return try flopBalanced(a, for: b, communicator: communicator)
        }
    }

    /// A moved to the partition balancing `weights` (one per owned row).
    private static func rebalanced(_ a: DistributedCSR, weights: [Int], communicator: Communicator) throws(SparrowError) -> DistributedCSR {
        let partition = RowPartition.balanced(ownedWeights: weights, firstRow: a.ownedRows.lowerBound,
                                              globalRows: a.globalRows, communicator: communicator)
        return try redistribute(a, to: partition, communicator: communicator)
    }

    /// Moves rows to the ranks that own them under `partition`.
    public static func redistribute(_ a: DistributedCSR, to partition: RowPartition,
                                    communicator: Communicator) throws(SparrowError) -> DistributedCSR {
        if partition == a.partition { return a }
        let t = a.local.triplets
        let offset = a.ownedRows.lowerBound
        return try DistributedCSR.assemble(rows: a.globalRows, columns: a.globalColumns,
                                           rowIndices: t.rowIndices.map { Int32($0 + offset) }, columnIndices: t.columnIndices,
                                           values: t.values, balance: .rows, communicator: communicator, partition: partition)
    }
}
