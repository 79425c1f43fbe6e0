import SparrowCore

/// Static spectral sparsification: a spanning tree, then off-tree edges
/// recovered in rounds by their spectral importance against the current H,
/// with similarity filtering.
///
/// After GRASS (Feng, DAC 2016 / TCAD 2020: spectral perturbation analysis of
/// off-tree edges) and feGRASS (Liu, Yu & Feng, TCAD 2022: a low-stretch tree
/// and similarity-aware recovery), the procedure that dyGRASS (Yuan, Aghdaei &
/// Feng, arXiv 2505.02741) starts from:
///
/// ```
/// T ← shortest-path spanning forest of G (a low-stretch heuristic);  H ← T
/// for round = 1 … R                                  ▹ budget: density·|V| − |T| edges in all
///     factor L_H (grounded)                           ▹ one CHOLMOD factor per round
///     Y ← B_Gᵀ W_G^½ Ω,  Ω ∈ {±1}^{|E|×k}              ▹ E[YYᵀ] = L_G
///     Z ← L_H⁺ Y                                       ▹ k solves with that factor
///     score(e) ← w_e ‖Z_p − Z_q‖²  for e = (p, q) ∉ H  ▹ ≈ w_e b_eᵀ L_H⁺ L_G L_H⁺ b_e
///     for e in decreasing score, until the round's quota:
///         skip e if both endpoints are marked          ▹ similar to an edge taken this round
///         H ← H ∪ {e};  mark the β-hop neighbourhoods of p and q in G
/// ```
///
/// The score is how strongly L_H⁺ L_G stretches the edge's direction: the
/// dominant generalized eigenvectors of (L_G, L_H), which set κ, load exactly
/// the edges that score high. Re-scoring against the current H each round, and
/// marking neighbourhoods so that one round does not spend its quota on many
/// parallel edges that fix the same eigenvector, are both needed: on fe_4elt2
/// either alone leaves κ in the hundreds at density 1.13 (docs/sparsify.md).
public enum OffTreeRecovery {
    public static func run(_ g: WeightedGraph, _ parameters: SparsifierParameters,
                           components: Components) throws(SparrowError) -> Sparsifier {
        var statistics = SparsifierStatistics()
        let tree = SpanningTree.timed(g, components: components, &statistics)
        var inH = [Bool](repeating: false, count: g.edges)
        for e in tree { inH[e] = true }
        var kept = tree
        let cap = parameters.edgeBudget(g)
        let offTreeBudget = max(0, cap - tree.count)
        // With a κ target, rounds add 1 % of |V| each until it is met (or the density cap is reached).
        let quota = parameters.targetKappa == nil
            ? (offTreeBudget + parameters.rounds - 1) / max(1, parameters.rounds)
            : max(1, g.vertices / 100)
        var marks = NeighbourhoodMarks(g.vertices)
        var round = 0
        while kept.count < cap {
            round += 1
            if parameters.targetKappa == nil, round > parameters.rounds { break }
            let h = g.subgraph(keeping: kept)
            let factorStart = System.now()
            let factor = try GroundedFactor(h, components: components)
            statistics.factorSeconds += System.now() - factorStart
            if let target = parameters.targetKappa {
                let kappa = try SpectralQuality.condition(g, h, factor: factor, steps: 30, seed: parameters.seed).kappa
                statistics.kappaByRound.append(kappa)
                if kappa <= target { break }
            }
            let scoreStart = System.now()
            let scores = try importance(g, factor: factor, inH: inH, vectors: parameters.vectors,
                                        seed: parameters.seed &+ UInt64(round) &* 0x9E37_79B9)
            statistics.scoreSeconds += System.now() - scoreStart
            let selectStart = System.now()
            let added = recover(g, scores: scores, count: min(quota, cap - kept.count), hops: parameters.similarityHops,
                                inH: &inH, kept: &kept, marks: &marks, statistics: &statistics)
            statistics.selectSeconds += System.now() - selectStart
            statistics.rounds = round
            if added == 0 { break }
        }
        kept.sort()
        statistics.recoveredEdges = kept.count - tree.count
        return Sparsifier(edges: kept, weights: kept.map { g.weights[$0] }, statistics: statistics)
    }

    /// One round's selection: up to `count` edges not in H, in decreasing score, skipping an edge
    /// whose endpoints are both within `hops` of an edge taken this round. Returns how many it took.
    static func recover(_ g: WeightedGraph, scores: [Double], count: Int, hops: Int, inH: inout [Bool], kept: inout [Int],
                        marks: inout NeighbourhoodMarks, statistics: inout SparsifierStatistics) -> Int {
        let eligible = inH
        var candidates = Candidates(scores: scores, eligible: { !eligible[$0] })
        marks.newRound()
        var added = 0
        while added < count, let e = candidates.next() {
            let p = Int(g.tails[e]), q = Int(g.heads[e])
            if hops > 0, marks.isMarked(p), marks.isMarked(q) {
                statistics.skippedAsSimilar += 1
                continue
            }
            inH[e] = true
            kept.append(e)
            added += 1
            if hops > 0 {
                marks.mark(g, around: p, hops: hops)
                marks.mark(g, around: q, hops: hops)
            }
        }
        return added
    }

    /// w_e ‖Z_p − Z_q‖² for every edge not in H (0 for edges in H), Z = L_H⁺ B_Gᵀ W^½ Ω.
    static func importance(_ g: WeightedGraph, factor: GroundedFactor, inH: [Bool], vectors k: Int,
                           seed: UInt64) throws(SparrowError) -> [Double] {
        let n = g.vertices
        // Y gathered vertex by vertex over the adjacency (each row of Y written once, in order),
        // then column-major for the solve. Edge e = (p, q) adds +s to row p and −s to row q.
        var rows = [Double](repeating: 0, count: n * k)
        rows.withUnsafeMutableBufferPointer { y in
            g.adjacencyStart.withUnsafeBufferPointer { start in
                g.incidentEdge.withUnsafeBufferPointer { incident in
                    g.tails.withUnsafeBufferPointer { tails in
                        g.weights.withUnsafeBufferPointer { weights in
                            SignTable.shared.withUnsafeBufferPointer { table in
                                for v in 0..<n {
                                    let row = y.baseAddress! + v * k
                                    for a in start[v]..<start[v + 1] {
                                        let e = Int(incident[a])
                                        var signs = CounterRandom.bits(seed: seed, counter: UInt64(e))
                                        let s = Int(tails[e]) == v ? weights[e].squareRoot() : -weights[e].squareRoot()
                                        // Eight signs at a time from a byte of the random word (a branch-free, vectorizable add).
                                        var j = 0
                                        while j + 8 <= k {
                                            let entry = table.baseAddress! + Int(signs & 0xFF) * 8
                                            for i in 0..<8 { row[j + i] += s * entry[i] }
                                            signs >>= 8
                                            j += 8
                                        }
                                        while j < k { row[j] += (signs & 1) == 0 ? s : -s; signs >>= 1; j += 1 }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let z = try factor.solve(Transpose.rowsToColumns(rows, rows: n, columns: k), columns: k, consistent: true)
        rows = Transpose.columnsToRows(z, rows: n, columns: k)
        var scores = [Double](repeating: 0, count: g.edges)
        rows.withUnsafeBufferPointer { zr in
            for e in 0..<g.edges where !inH[e] {
                let p = Int(g.tails[e]) * k, q = Int(g.heads[e]) * k
                var sum = 0.0
                for j in 0..<k { let d = zr[p + j] - zr[q + j]; sum += d * d }
                scores[e] = g.weights[e] * sum
            }
        }
        return scores
    }
}

/// The β-hop neighbourhoods of recovered edges' endpoints, per round.
struct NeighbourhoodMarks {
    private var mark: [Int32]
    private var visited: [Int32]
    private var round: Int32 = 0
    private var search: Int32 = 0
    private var frontier: [Int32] = []
    private var next: [Int32] = []

    init(_ n: Int) {
        mark = [Int32](repeating: 0, count: n)
        visited = [Int32](repeating: 0, count: n)
    }

    mutating func newRound() { round += 1 }

    func isMarked(_ v: Int) -> Bool { mark[v] == round }

    /// At most this many vertices are marked around one endpoint: on power-law graphs a
    /// hub two hops away would otherwise mark most of the graph and end the round.
    static let limit = 64

    /// Marks the vertices within `hops` of v, nearest first, up to `limit` (a search of its own,
    /// so overlapping neighbourhoods are marked whole).
    mutating func mark(_ g: WeightedGraph, around v: Int, hops: Int) {
        search += 1
        frontier.removeAll(keepingCapacity: true)
        frontier.append(Int32(v))
        mark[v] = round
        visited[v] = search
        var marked = 1
        for _ in 0..<hops {
            next.removeAll(keepingCapacity: true)
            for u in frontier {
                for a in g.adjacencyStart[Int(u)]..<g.adjacencyStart[Int(u) + 1] {
                    let w = Int(g.neighbour[a])
                    if visited[w] != search {
                        if marked == Self.limit { return }
                        visited[w] = search; mark[w] = round; next.append(Int32(w))
                        marked += 1
                    }
                }
            }
            swap(&frontier, &next)
        }
    }
}

/// Row-major ⇄ column-major copies of an n × k block.
enum Transpose {
    static func rowsToColumns(_ a: [Double], rows n: Int, columns k: Int) -> [Double] {
        var out = [Double](repeating: 0, count: n * k)
        out.withUnsafeMutableBufferPointer { o in a.withUnsafeBufferPointer { a in
            // Blocks of 64 rows: each column's stores stay within a few cache lines.
            for first in stride(from: 0, to: n, by: 64) {
                let last = min(first + 64, n)
                for j in 0..<k { for v in first..<last { o[j * n + v] = a[v * k + j] } }
            }
        } }
        return out
    }

    static func columnsToRows(_ a: [Double], rows n: Int, columns k: Int) -> [Double] {
        var out = [Double](repeating: 0, count: n * k)
        out.withUnsafeMutableBufferPointer { o in a.withUnsafeBufferPointer { a in
            for v in 0..<n { for j in 0..<k { o[v * k + j] = a[j * n + v] } }
        } }
        return out
    }
}

/// ±1 for each bit of a byte, low bit first: entry b·8 + i is 1 when bit i of b is 0, −1 otherwise.
enum SignTable {
    static let shared: [Double] = (0..<256).flatMap { b in (0..<8).map { i in (b >> i) & 1 == 0 ? 1.0 : -1.0 } }
}

/// Eligible edges with a positive score, handed out in decreasing score order (ties: lower edge
/// number first). Only the best few are sorted at a time: a round takes ~1 % of |V| edges, and
/// sorting every candidate of a million-edge graph per round would cost more than the scores.
struct Candidates {
    private var pool: [Int32]
    private let scores: [Double]
    private var sorted: [Int32] = []
    private var position = 0

    init(scores: [Double], eligible: (Int) -> Bool) {
        self.scores = scores
        pool = (0..<scores.count).compactMap { eligible($0) && scores[$0] > 0 ? Int32($0) : nil }
    }

    var isEmpty: Bool { pool.isEmpty && position >= sorted.count }

    private func before(_ a: Int32, _ b: Int32) -> Bool {
        scores[Int(a)] > scores[Int(b)] || (scores[Int(a)] == scores[Int(b)] && a < b)
    }

    mutating func next() -> Int? {
        if position == sorted.count {
            guard !pool.isEmpty else { return nil }
            // The next batch: twice the last one (from 4096), split off the pool by quickselect.
            let batch = min(pool.count, max(4096, 2 * sorted.count))
            let cut = select(batch)
            var batchSorted = Array(pool[..<cut])
            pool.removeFirst(cut)
            let scores = self.scores
            batchSorted.sort { scores[Int($0)] > scores[Int($1)] || (scores[Int($0)] == scores[Int($1)] && $0 < $1) }
            sorted = batchSorted
            position = 0
        }
        position += 1
        return Int(sorted[position - 1])
    }

    /// Reorders the pool so its first `count` entries are its best `count`; returns count.
    private mutating func select(_ count: Int) -> Int {
        if count >= pool.count { return pool.count }
        var lo = 0, hi = pool.count - 1
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        while lo < hi {
            state = CounterRandom.mix(state)
            let pivot = pool[lo + Int(state % UInt64(hi - lo + 1))]
            var i = lo, j = hi
            while i <= j {
                while before(pool[i], pivot) { i += 1 }
                while before(pivot, pool[j]) { j -= 1 }
                if i <= j { pool.swapAt(i, j); i += 1; j -= 1 }
            }
            if count - 1 <= j { hi = j } else if count - 1 >= i { lo = i } else { break }
        }
        return count
    }
}
