import SparrowCore
import SparrowMPI

/// Each user's N best items among those not observed, by predicted value.
/// The item factors are replicated (n × width), users are scored a block at a
/// time with one matrix product, and a heap of N per user keeps the best: memory
/// O(n·k + block·n + users·N), never users × items.
public enum TopRecommendations {
    static let blockRows = 256

    /// Rank-local, before the fit: N is in range and the lists fit in memory
    /// (the replicated item block, a block of scores, N entries per owned row).
    public static func check(count: Int, ratings: DistributedRatings, parameters: CompletionParameters,
                             naming: NumericOption.Naming) throws(SparrowError) {
        let field = CompletionParameters.Options.top.name(naming)
        _ = try CompletionParameters.Options.top.checked(count, naming)
        let n = Double(ratings.items), k = Double(parameters.rank + 1)
        try MemoryBudget.check(n * k * 8 * 2 + Double(blockRows) * n * 8 + Double(ratings.byUser.local.rows) * Double(count) * 12,
                               for: "top-\(count) lists over \(ratings.items) columns") { .field(name: field, message: $0) }
    }

    /// Collective: an owned-users × items matrix with at most N entries per row (the predictions).
    public static func compute(_ model: AlternatingMinimization, count: Int, communicator: Communicator) throws(SparrowError) -> DistributedCSR {
        let ratings = model.ratings, d = model.parameters.width, k = model.parameters.rank
        let n = ratings.items
        let allItems = try communicator.allgatherv(model.items)
        let observed = ratings.byUser.local
        let users = observed.rows
        // Scores for a block: [u, 1]·[v, c]ᵀ, then + μ + b_i per row.
        var itemBlock = [Double](repeating: 0, count: n * (k + 1))
        for j in 0..<n {
            for c in 0..<k { itemBlock[j * (k + 1) + c] = allItems[j * d + c] }
            itemBlock[j * (k + 1) + k] = model.parameters.biases ? allItems[j * d + k] : 0
        }
        var pointers = [0], columns = [Int32](), values = [Double]()
        var userBlock = [Double](repeating: 0, count: blockRows * (k + 1))
        var scores = [Double](repeating: 0, count: blockRows * n)
        var heap = BestItems(capacity: count)
        var blockStart = 0
        while blockStart < users {
            let rows = min(blockRows, users - blockStart)
            for r in 0..<rows {
                let i = blockStart + r
                for c in 0..<k { userBlock[r * (k + 1) + c] = model.users[i * d + c] }
                userBlock[r * (k + 1) + k] = 1
            }
            DenseKernels.timesTranspose(userBlock, rows: rows, itemBlock, bRows: n, width: k + 1, into: &scores)
            for r in 0..<rows {
                let i = blockStart + r
                let base = model.offset + (model.parameters.biases ? model.users[i * d + k] : 0)
                heap.removeAll()
                var seen = observed.rowRange(i).lowerBound
                let seenEnd = observed.rowRange(i).upperBound
                for j in 0..<n {
                    if seen < seenEnd, Int(observed.columnIndices[seen]) == j { seen += 1; continue }
                    heap.offer(item: Int32(j), score: base + scores[r * n + j])
                }
                for (item, score) in heap.sortedByItem() { columns.append(item); values.append(score) }
                pointers.append(columns.count)
            }
            blockStart += rows
        }
        let local = CSRMatrix(rows: users, columns: n, rowPointers: pointers, columnIndices: columns, values: values, columnsSorted: true)
        return DistributedCSR(local: local, partition: ratings.byUser.partition, globalColumns: n, rank: communicator.rank)
    }
}

/// A min-heap of the best `capacity` (score, item) pairs seen; ties keep the lower item.
struct BestItems {
    let capacity: Int
    private var scores: [Double] = [], items: [Int32] = []

    init(capacity: Int) { self.capacity = capacity }

    mutating func removeAll() { scores.removeAll(keepingCapacity: true); items.removeAll(keepingCapacity: true) }

    /// Whether (a, ia) ranks below (b, ib): lower score, or equal score and higher item.
    private func worse(_ a: Int, _ b: Int) -> Bool {
        scores[a] < scores[b] || (scores[a] == scores[b] && items[a] > items[b])
    }

    mutating func offer(item: Int32, score: Double) {
        guard capacity > 0 else { return }
        if scores.count < capacity {
            scores.append(score); items.append(item)
            var c = scores.count - 1
            while c > 0 {
                let parent = (c - 1) / 2
                guard worse(c, parent) else { break }
                scores.swapAt(c, parent); items.swapAt(c, parent)
                c = parent
            }
            return
        }
        // Replace the root (the worst kept) if the newcomer is better.
        guard score > scores[0] || (score == scores[0] && item < items[0]) else { return }
        scores[0] = score; items[0] = item
        var c = 0
        while true {
            let l = 2 * c + 1, r = l + 1
            var smallest = c
            if l < scores.count, worse(l, smallest) { smallest = l }
            if r < scores.count, worse(r, smallest) { smallest = r }
            if smallest == c { break }
            scores.swapAt(c, smallest); items.swapAt(c, smallest)
            c = smallest
        }
    }

    func sortedByItem() -> [(Int32, Double)] {
        zip(items, scores).sorted { $0.0 < $1.0 }
    }
}
