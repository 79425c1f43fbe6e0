import SparrowCore

/// Which rank owns which rows: contiguous blocks, like Tpetra's contiguous Map.
/// Kept apart from matrix data so one partition can describe a matrix, its
/// vectors and the rows an exchange plan moves.
public struct RowPartition: Sendable, Equatable {
    /// size + 1 offsets; rank r owns rows offsets[r] ..< offsets[r + 1].
    public let offsets: [Int]

    public init(offsets: [Int]) {
        precondition(offsets.first == 0 && zip(offsets, offsets.dropFirst()).allSatisfy { $0 <= $1 })
        self.offsets = offsets
    }

    public var parts: Int { offsets.count - 1 }
    public var globalRows: Int { offsets[parts] }

    public func range(of rank: Int) -> Range<Int> { offsets[rank]..<offsets[rank + 1] }

    /// The rank that owns `row` (binary search).
    public func owner(of row: Int) -> Int {
        var lo = 0, hi = parts - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if offsets[mid] <= row { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// Equal numbers of rows per rank.
    public static func uniform(rows: Int, parts: Int) -> RowPartition {
        RowPartition(offsets: (0...parts).map { rows * $0 / parts })
    }

    /// Balanced by any per-row weight (nonzeros, flops): each block gets close to total/parts.
    public static func balanced(weights: [Int], parts: Int) -> RowPartition {
        var prefix = [Int](repeating: 0, count: weights.count + 1)
        for i in 0..<weights.count { prefix[i + 1] = prefix[i] + weights[i] }
        let ranges = prefix.withUnsafeBufferPointer { balancedRanges(prefix: $0, parts: parts) }
        return RowPartition(offsets: [0] + ranges.map(\.upperBound))
    }

    /// max/mean of a per-rank quantity: 1 is perfect balance.
    public static func imbalance(_ perRank: [Double]) -> Double {
        let mean = perRank.reduce(0, +) / Double(max(1, perRank.count))
        return mean > 0 ? (perRank.max() ?? 0) / mean : 1
    }
}

/// How to split rows between ranks.
public enum BalanceRule: String, Sendable, CaseIterable {
    case rows, nnz, flops
}
