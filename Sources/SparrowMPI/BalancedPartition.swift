import SparrowCore

/// Balanced partitions found without any rank holding a global-length array:
/// each rank knows the weights of a contiguous block of rows, the block totals
/// give a prefix sum (one allgather of P numbers), and every split point is
/// located by the rank whose block contains it (one allreduce of P − 1).
/// The split rule is `balancedRanges`'s, so the partition equals the one a
/// single process would compute from the whole weight array.
extension RowPartition {
    /// Collective. `ownedWeights` are the weights of rows `firstRow ..< firstRow + ownedWeights.count`;
    /// the ranks' blocks tile `0 ..< globalRows` in rank order.
    public static func balanced(ownedWeights: [Int], firstRow: Int, globalRows: Int,
                                communicator: Communicator) -> RowPartition {
        let parts = communicator.size
        if parts == 1 { return .uniform(rows: globalRows, parts: 1) }
        let blockTotals = communicator.allgather(ownedWeights.reduce(0, +))
        let total = blockTotals.reduce(0, +)
        let base = blockTotals[..<communicator.rank].reduce(0, +)
        // prefix[k] = weight of global rows < firstRow + k, for this block (and row globalRows on the last rank).
        var prefix = [Int](repeating: base, count: ownedWeights.count + 1)
        for k in 0..<ownedWeights.count { prefix[k + 1] = prefix[k] + ownedWeights[k] }
        let isLast = communicator.rank == parts - 1
        let searchable = isLast ? prefix.count : ownedWeights.count
        var candidates = [Int](repeating: Int.max, count: parts - 1)
        for p in 1..<parts {
            let target = Int((Double(total) * Double(p) / Double(parts)).rounded())
            var lo = 0, hi = searchable
            while lo < hi {
                let mid = (lo + hi) / 2
                if prefix[mid] < target { lo = mid + 1 } else { hi = mid }
            }
            if lo < searchable { candidates[p - 1] = firstRow + lo }
        }
        let bounds = communicator.allreduce(candidates, .min)
        var offsets = [0]
        for b in bounds { offsets.append(max(offsets.last!, min(b, globalRows))) }
        offsets.append(globalRows)
        return RowPartition(offsets: offsets)
    }

    /// Collective: the partition balancing the number of entries per row, for
    /// entries whose row indices sit on arbitrary ranks. Each rank counts its
    /// entries per row over the span of rows it holds (a parsed byte range of a
    /// sorted file covers a contiguous span: memory follows the rank's entries)
    /// and sends each uniform-partition owner the counts of its rows as
    /// (first row, length, counts…) segments; the owner adds them into an
    /// array of its own rows only. Entries spread thinly over a wide span
    /// (an unsorted file) travel as (row, 1) pairs instead.
    public static func balanced(entryRows rowIndices: [Int32], globalRows: Int,
                                communicator: Communicator) throws(SparrowError) -> RowPartition {
        let coarse = RowPartition.uniform(rows: globalRows, parts: communicator.size)
        var segments = [[Int32]](repeating: [], count: communicator.size)
        if let low = rowIndices.min(), let high = rowIndices.max() {
            let span = Int(high) - Int(low) + 1
            if span <= 2 * rowIndices.count {
                var counts = [Int32](repeating: 0, count: span)
                for row in rowIndices { counts[Int(row) - Int(low)] &+= 1 }
                var row = Int(low)
                while row <= Int(high) {
                    let owner = coarse.owner(ofUniform: row)
                    let end = min(Int(high) + 1, coarse.offsets[owner + 1])
                    segments[owner] += [Int32(row), Int32(end - row)]
                    segments[owner] += counts[(row - Int(low))..<(end - Int(low))]
                    row = end
                }
            } else {
                for row in rowIndices { segments[coarse.owner(ofUniform: Int(row))] += [row, 1, 1] }
            }
        }
        let sendCounts = segments.map(\.count)
        var outgoing: [Int32] = []
        outgoing.reserveCapacity(sendCounts.reduce(0, +))
        for r in 0..<segments.count { outgoing += segments[r]; segments[r] = [] }
        let (received, _) = try communicator.alltoallv(outgoing, sendCounts: sendCounts)
        outgoing = []
        let mine = coarse.range(of: communicator.rank)
        var weights = [Int](repeating: 0, count: mine.count)
        var k = 0
        while k < received.count {
            let first = Int(received[k]) - mine.lowerBound, length = Int(received[k + 1])
            for t in 0..<length { weights[first + t] += Int(received[k + 2 + t]) }
            k += 2 + length
        }
        return balanced(ownedWeights: weights, firstRow: mine.lowerBound, globalRows: globalRows, communicator: communicator)
    }

    /// `owner(of:)` for a uniform partition, by arithmetic rather than search.
    func owner(ofUniform row: Int) -> Int {
        // offsets[r] = rows·r / parts: start from the estimate and correct by at most a step.
        var r = min(parts - 1, row * parts / max(1, globalRows))
        while r > 0, offsets[r] > row { r -= 1 }
        while r < parts - 1, offsets[r + 1] <= row { r += 1 }
        return r
    }
}
