import SparrowCore

/// Generates a matrix in parallel: rank r produces an equal share of the work
/// items (edges or grid rows), then the entries travel to their owners. Since
/// every entry is a pure function of (seed, item), the result is the same for
/// any rank count.
public enum DistributedGenerator {
    public static func generate(_ spec: GeneratorSpec, balance: BalanceRule = .rows, field: String = "generator",
                                communicator: Communicator) throws(SparrowError) -> DistributedCSR {
        // Memory may differ between hosts: every rank checks its own, and all agree.
        try communicator.everywhere { () throws(SparrowError) in try spec.checkMemory(ranks: communicator.size, field: field) }
        let share = evenRanges(count: spec.workItems, parts: communicator.size)[communicator.rank]
        let t = spec.triplets(items: share)
        return try DistributedCSR.assemble(rows: t.rows, columns: t.columns,
                                           rowIndices: t.rowIndices.map { Int32(truncatingIfNeeded: $0) },
                                           columnIndices: t.columnIndices, values: t.values,
                                           balance: balance, communicator: communicator)
    }
}
