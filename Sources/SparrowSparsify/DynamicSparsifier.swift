import SparrowCore
import SparrowMPI

/// Dynamic spectral sparsification by localized random walks, after dyGRASS
/// (Yuan, Aghdaei & Feng, "dyGRASS: Dynamic Spectral Graph Sparsification via
/// Localized Random Walks on GPUs", arXiv 2505.02741, 2025):
///
/// ```
/// insert (p, q, w):  G ← G + (p, q, w)
///     s walkers leave p in H on non-backtracking walks (next edge ∝ its weight),
///     each adding up R ← R + 1/w_e; a walker stops at q, when w·R ≥ K, or after c steps
///     some walker reached q with w·R < K  →  the edge is redundant (H already holds a short path)
///     otherwise                           →  H ← H + (p, q, w)
/// delete (p, q):     G ← G − (p, q);  if (p, q) ∈ H:  H ← H − (p, q)
///     s walkers leave p in G; the lowest-resistance walk that reached q
///     (or, if none did, a bounded Dijkstra search in G) has its edges restored to H
/// ```
///
/// K, the distortion threshold, is κ(L_G, L_H) of the sparsifier the stream
/// starts from unless given: an edge whose stretch in H is below the current κ
/// cannot raise it much. A batch's walks are independent: rank r takes the
/// updates k ≡ r (mod P), every walk sees H as it stood at the start of the
/// batch (after the batch's deletions), and the additions are gathered and
/// applied in stream order, so H is the same at any rank count.
public struct DynamicSparsifier {
    public var walkers = 128
    public var stepCap = 128
    public var distortion: Double
    public let seed: UInt64
    private var g: DynamicGraph
    private var h: DynamicGraph

    public init(graph: WeightedGraph, sparsifier: WeightedGraph, seed: UInt64, distortion: Double) {
        g = DynamicGraph(graph)
        h = DynamicGraph(sparsifier)
        self.seed = seed
        self.distortion = distortion
    }

    public func currentGraph() -> WeightedGraph { g.snapshot() }
    public func currentSparsifier() -> WeightedGraph { h.snapshot() }

    public struct Outcome: Sendable {
        public var insertions = 0
        public var deletions = 0
        public var addedToH = 0
        public var redundant = 0
        public var weightIncreases = 0
        public var deletedFromH = 0
        public var restoredEdges = 0
        public var restoredByDijkstra = 0
        public var unrestored = 0
        public var walkSteps = 0
        public var seconds = 0.0

        public var metrics: [(String, JSONValue)] {
            [("insertions", .integer(insertions)), ("deletions", .integer(deletions)), ("inserted_into_h", .integer(addedToH)),
             ("insertions_redundant", .integer(redundant)), ("weight_increases", .integer(weightIncreases)),
             ("deleted_from_h", .integer(deletedFromH)), ("restored_edges", .integer(restoredEdges)),
             ("restored_by_search", .integer(restoredByDijkstra)), ("deletions_unrestored", .integer(unrestored)),
             ("walk_steps", .integer(walkSteps)), ("update_seconds", .number(seconds)),
             ("updates_per_second", .number(seconds > 0 ? Double(insertions + deletions) / seconds : 0))]
        }
    }

    /// Applies the stream in `batches` equal batches. Collective (one allgather per batch).
    public mutating func apply(_ updates: [EdgeUpdate], batches: Int, file: String = "updates",
                               communicator: Communicator) throws(SparrowError) -> Outcome {
        var outcome = Outcome()
        let start = System.now()
        let size = max(1, (updates.count + max(1, batches) - 1) / max(1, batches))
        for first in stride(from: 0, to: updates.count, by: size) {
            let batch = first..<min(first + size, updates.count)
            // 1–2: G's changes and H's deletions, in order, on every rank alike.
            var work: [Int] = []   // updates that need walks
            try communicator.everywhere { () throws(SparrowError) in
                for k in batch {
                    let u = updates[k]
                    if u.insert {
                        outcome.insertions += 1
                        if g.weight(u.p, u.q) != nil {
                            g.add(u.p, u.q, u.weight)
                            if h.weight(u.p, u.q) != nil { h.add(u.p, u.q, u.weight) }
                            outcome.weightIncreases += 1
                        } else {
                            g.add(u.p, u.q, u.weight)
                            work.append(k)
                        }
                    } else {
                        outcome.deletions += 1
                        guard g.remove(u.p, u.q) != nil else {
                            throw .input(file: file, line: u.line, message: "deletes edge (\(u.p + 1), \(u.q + 1)), which G does not have")
                        }
                        if h.remove(u.p, u.q) != nil { outcome.deletedFromH += 1; work.append(k) }
                    }
                }
            }
            // 3: this rank's walks, against H as it stands now.
            var found: [Int32] = [] // (update, p, q) triples of edges to put in H
            var local = Outcome()
            for (position, k) in work.enumerated() where position % communicator.size == communicator.rank {
                let u = updates[k]
                if u.insert {
                    if shortPathExists(from: u.p, to: u.q, weight: u.weight, update: k, steps: &local.walkSteps) {
                        local.redundant += 1
                    } else {
                        found += [Int32(k), u.p, u.q]
                    }
                } else if let path = lowestResistancePath(from: u.p, to: u.q, update: k, steps: &local.walkSteps) ?? dijkstraPath(from: u.p, to: u.q) {
                    for i in 0..<(path.count - 1) { found += [Int32(k), path[i], path[i + 1]] }
                } else {
                    local.unrestored += 1
                }
            }
            // 4: every rank's additions, applied in stream order.
            let all = try communicator.allgatherv(found)
            let counts = communicator.allreduce([local.redundant, local.unrestored, local.walkSteps], .sum)
            outcome.redundant += counts[0]
            outcome.unrestored += counts[1]
            outcome.walkSteps += counts[2]
            var triples = stride(from: 0, to: all.count, by: 3).map { (Int(all[$0]), all[$0 + 1], all[$0 + 2], $0) }
            triples.sort { ($0.0, $0.3) < ($1.0, $1.3) }
            for (k, p, q, _) in triples where h.weight(p, q) == nil {
                guard let w = g.weight(p, q) else { continue }
                h.add(p, q, w)
                if updates[k].insert { outcome.addedToH += 1 } else { outcome.restoredEdges += 1 }
            }
        }
        outcome.seconds = System.now() - start
        return outcome
    }

    /// Whether some walker in H gets from p to q with w·R below K.
    func shortPathExists(from p: Int32, to q: Int32, weight w: Double, update: Int, steps: inout Int) -> Bool {
        let limit = distortion / w
        for walker in 0..<walkers {
            var state = CounterRandom.bits(seed: seed, counter: UInt64(update) << 16 | UInt64(walker))
            var previous: Int32 = -1, at = p, resistance = 0.0
            for _ in 0..<stepCap {
                steps += 1
                guard let (next, r) = step(h, from: at, avoiding: previous, state: &state) else { break }
                resistance += r
                if resistance >= limit { break }
                if next == q { return true }
                previous = at
                at = next
            }
        }
        return false
    }

    /// The vertices of the lowest-resistance walk from p to q in G (nil if no walker arrived).
    func lowestResistancePath(from p: Int32, to q: Int32, update: Int, steps: inout Int) -> [Int32]? {
        var best: [Int32]?
        var bestResistance = Double.infinity
        var path: [Int32] = []
        for walker in 0..<walkers {
            var state = CounterRandom.bits(seed: seed ^ 0xDE1E7E, counter: UInt64(update) << 16 | UInt64(walker))
            var previous: Int32 = -1, at = p, resistance = 0.0
            path.removeAll(keepingCapacity: true)
            path.append(p)
            for _ in 0..<stepCap {
                steps += 1
                guard let (next, r) = step(g, from: at, avoiding: previous, state: &state) else { break }
                resistance += r
                if resistance >= bestResistance { break }
                path.append(next)
                if next == q { best = path; bestResistance = resistance; break }
                previous = at
                at = next
            }
        }
        return best
    }

    /// One non-backtracking step, the next edge chosen with probability ∝ its weight.
    private func step(_ graph: DynamicGraph, from v: Int32, avoiding previous: Int32, state: inout UInt64) -> (Int32, Double)? {
        let (first, count) = graph.neighbours(of: v)
        return graph.slabNeighbour.withUnsafeBufferPointer { neighbour in
            graph.slabWeight.withUnsafeBufferPointer { weight in
                var total = 0.0
                for i in first..<(first + count) where neighbour[i] != previous { total += weight[i] }
                guard total > 0 else { return nil }
                state = CounterRandom.mix(state)
                var u = CounterRandom.unit(state) * total
                var last = -1
                for i in first..<(first + count) where neighbour[i] != previous {
                    u -= weight[i]
                    last = i
                    if u <= 0 { return (neighbour[i], 1 / weight[i]) }
                }
                return (neighbour[last], 1 / weight[last])
            }
        }
    }

    /// Shortest path by resistance in G, settling at most 4096 vertices (a local search).
    func dijkstraPath(from p: Int32, to q: Int32) -> [Int32]? {
        var distance: [Int32: Double] = [p: 0]
        var parent: [Int32: Int32] = [:]
        var settled = Set<Int32>()
        var heap = MinHeap()
        heap.push(0, Int(p))
        while let (d, vi) = heap.pop(), settled.count < 4096 {
            let v = Int32(vi)
            if settled.contains(v) { continue }
            settled.insert(v)
            if v == q {
                var path = [q]
                while let up = parent[path[path.count - 1]] { path.append(up) }
                return path.reversed()
            }
            let (first, count) = g.neighbours(of: v)
            for i in first..<(first + count) {
                let u = g.slabNeighbour[i]
                if settled.contains(u) { continue }
                let candidate = d + 1 / g.slabWeight[i]
                if candidate < distance[u] ?? .infinity { distance[u] = candidate; parent[u] = v; heap.push(candidate, Int(u)) }
            }
        }
        return nil
    }
}
