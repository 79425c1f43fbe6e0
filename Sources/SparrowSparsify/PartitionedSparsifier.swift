import SparrowCore
import SparrowMPI

/// The static sparsifier run per partition, then a global pass over the cut edges:
///
/// ```
/// V = V_0 ∪ … ∪ V_{P−1}  (contiguous blocks balanced by degree)
/// on rank r:  H_r ← OffTreeRecovery(G[V_r]) with off-tree budget ½(D − 1)·|V_r|·(1 − cut share of V_r)
/// H ← ∪ H_r                                               ▹ one allgather of edge numbers
/// for cut edges by decreasing weight: add e if it joins two components of H   ▹ the tree across blocks
/// for round = 1 … 4: re-score the edges not in H against H (as OffTreeRecovery: the cut
///     edges, and the block edges whose importance the new cross-block paths changed),
///     add the best with similarity filtering, up to ⌊D·|V|⌋ edges in all
/// ```
///
/// The local phase, where the rounds' factorizations and solves run on a
/// block of |V|/P vertices, is spread over the ranks; in the global pass every
/// rank factors the same L_H and solves its share of the random vectors, and
/// the scores are summed (one allreduce of |E| values per round). H depends on
/// P (the blocks differ); its κ is reported beside the single-rank sparsifier's.
public enum PartitionedSparsifier {
    public struct Outcome: Sendable {
        public var sparsifier: Sparsifier
        public var localSeconds: Double
        public var globalSeconds: Double
        public var cutEdges: Int
    }

    public static func run(_ g: WeightedGraph, _ parameters: SparsifierParameters, components: Components,
                           communicator: Communicator) throws(SparrowError) -> Outcome {
        guard let density = parameters.density, parameters.method == .tree, parameters.targetKappa == nil else {
            throw .usage("--partitioned applies to --method tree with --density (no --target-kappa)")
        }
        let n = g.vertices, ranks = communicator.size
        let blocks = RowPartition.balanced(weights: (0..<n).map { g.degree($0) + 1 }, parts: ranks)
        var owner = [Int32](repeating: 0, count: n)
        for r in 0..<ranks { for v in blocks.range(of: r) { owner[v] = Int32(r) } }
        var cut: [Int] = []
        for e in 0..<g.edges where owner[Int(g.tails[e])] != owner[Int(g.heads[e])] { cut.append(e) }

        // 1. This rank's block.
        let localStart = System.now()
        let mine = try communicator.everywhere { () throws(SparrowError) -> [Int32] in
            let block = blocks.range(of: communicator.rank)
            var inside: [Int] = []
            var cutIncident = 0, incident = 0
            for v in block {
                for a in g.adjacencyStart[v]..<g.adjacencyStart[v + 1] {
                    incident += 1
                    if owner[Int(g.neighbour[a])] != owner[v] { cutIncident += 1 }
                }
            }
            for e in 0..<g.edges where block.contains(Int(g.tails[e])) && block.contains(Int(g.heads[e])) { inside.append(e) }
            let base = Int32(block.lowerBound)
            let local = WeightedGraph(vertices: block.count, tails: inside.map { g.tails[$0] - base }, heads: inside.map { g.heads[$0] - base },
                                      weights: inside.map { g.weights[$0] }, excess: Array(g.excess[block]))
            let localComponents = Components(local)
            let cutShare = incident == 0 ? 0 : Double(cutIncident) / Double(incident)
            var p = parameters
            // Half the off-tree budget is left to the global pass (less where the block has many cut edges).
            let offTree = 0.5 * (density - 1) * Double(block.count) * (1 - cutShare)
            p.density = max(0, Double(block.count - localComponents.count) + offTree) / Double(max(1, block.count))
            let h = try OffTreeRecovery.run(local, p, components: localComponents)
            return h.edges.map { Int32(inside[$0]) }
        }
        let localSeconds = System.now() - localStart
        let gathered = try communicator.allgatherv(mine)

        // 2. The global pass: every rank keeps the same H; each round's random vectors are split
        //    over the ranks (each solves its share with the same factor) and the scores summed.
        let globalStart = System.now()
        var inH = [Bool](repeating: false, count: g.edges)
        var kept = gathered.map { Int($0) }
        for e in kept { inH[e] = true }
        var sets = DisjointSets(n)
        for e in kept { _ = sets.union(Int(g.tails[e]), Int(g.heads[e])) }
        let byWeight = cut.sorted { g.weights[$0] > g.weights[$1] || (g.weights[$0] == g.weights[$1] && $0 < $1) }
        for e in byWeight where sets.union(Int(g.tails[e]), Int(g.heads[e])) {
            inH[e] = true
            kept.append(e)
        }
        var statistics = SparsifierStatistics()
        statistics.treeEdges = n - components.count
        let cap = parameters.edgeBudget(g)
        var marks = NeighbourhoodMarks(n)
        let rounds = 4
        let share = max(1, (parameters.vectors + ranks - 1) / ranks)
        for round in 1...rounds where kept.count < cap {
            let partial = try communicator.everywhere { () throws(SparrowError) -> [Double] in
                let factor = try GroundedFactor(g.subgraph(keeping: kept), components: components)
                return try OffTreeRecovery.importance(g, factor: factor, inH: inH, vectors: share,
                                                      seed: parameters.seed &+ 0xC07 &+ UInt64(round * 1024 + communicator.rank))
            }
            let scores = communicator.allreduce(partial, .sum)
            try communicator.everywhere { () throws(SparrowError) in
                let take = (cap - kept.count + (rounds - round)) / (rounds + 1 - round)
                _ = OffTreeRecovery.recover(g, scores: scores, count: take, hops: parameters.similarityHops,
                                            inH: &inH, kept: &kept, marks: &marks, statistics: &statistics)
            }
            statistics.rounds = round
        }
        kept.sort()
        statistics.recoveredEdges = kept.count - statistics.treeEdges
        let sparsifier = Sparsifier(edges: kept, weights: kept.map { g.weights[$0] }, statistics: statistics)
        return Outcome(sparsifier: sparsifier, localSeconds: localSeconds, globalSeconds: System.now() - globalStart, cutEdges: cut.count)
    }
}
