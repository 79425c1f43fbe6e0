import SparrowCore

public struct SpGEMMOptions: Sendable {
    public var threads = 1
    /// Sort each output row's columns (GraphBLAS and CSR consumers that need it).
    public var sortedOutput = false
    /// Rows with at least this many multiply-adds take the shared atomic table.
    /// nil: automatic (a row of at least 1/(6T) of all flops and 2^16, and only with T > 1: the
    /// crossover measured by benchmarks/spgemm/atomic.py).
    public var heavyRowThreshold: Int?
    /// Accumulator for rows on the private (non-atomic) path.
    public var accumulator: AccumulatorChoice = .automatic
    /// Two passes (count, then fill an exactly sized C) or one (fill flop-bounded arrays).
    public var passes: PassChoice = .automatic
    public init() {}
}

/// Private-path accumulator. Automatic: dense (array of B's width, generation
/// stamps or a bitmap) when B has at most 2^19 columns — the arrays then sit in
/// L2/L3 and beat hashing, as measured on R-MAT 16 and ER 18 — or when a row's
/// hash table would be as wide as B; hash (linear probing) otherwise.
public enum AccumulatorChoice: String, Sendable, CaseIterable {
    case automatic, hash, dense
    static let denseColumnLimit = 1 << 19

    @inline(__always)
    func usesDense(flops: Int, columns: Int) -> Bool {
        switch self {
        case .dense: return true
        case .hash: return false
        case .automatic: return columns <= Self.denseColumnLimit || AtomicHashTable.slots(forEntries: flops) >= columns
        }
    }
}

public struct SpGEMMStatistics: Sendable {
    public var symbolicSeconds = 0.0
    public var numericSeconds = 0.0
    /// Multiply-adds (the report's flops are twice this).
    public var multiplyAdds = 0
    public var nonzeros = 0
    public var heavyRows = 0
    public var heavyRowMultiplyAdds = 0
    /// 1 when the symbolic pass was skipped (the last product's choice), else 2.
    public var passes = 2
    public init() {}
    public var compressionFactor: Double { nonzeros > 0 ? Double(multiplyAdds) / Double(nonzeros) : 0 }
}
