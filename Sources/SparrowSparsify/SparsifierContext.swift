import SparrowCore

/// Parameters of a sparsification run (the context object, after SuiteSparse's).
public struct SparsifierParameters: Sendable {
    public enum Method: String, Sendable, CaseIterable {
        /// Spanning tree plus off-tree edges recovered by spectral importance, with similarity filtering.
        case tree
        /// Spanning tree plus off-tree edges sampled by effective resistance (Spielman–Srivastava), reweighted.
        case sampling
    }

    public var method: Method = .tree
    /// Target |E_H| / |V|; with `targetKappa` it is the cap.
    public var density: Double?
    /// Stop recovering edges once the estimated κ(L_G, L_H) is at most this.
    public var targetKappa: Double?
    /// Re-scoring rounds for the tree method's edge budget.
    public var rounds = 10
    /// Random vectors per round for the importance scores (at most 64).
    public var vectors = 32
    /// Similarity filtering: an edge is skipped when both endpoints lie within
    /// this many hops (in G) of an edge recovered earlier in the same round.
    public var similarityHops = 3
    public var seed: UInt64 = 1
    /// Random projections for the sampling method's effective resistances.
    public var projections = 48

    public init() {}

    /// ⌊density·|V|⌋ edges (all of G's without a density).
    func edgeBudget(_ g: WeightedGraph) -> Int {
        min(g.edges, density.map { Int(($0 * Double(g.vertices)).rounded(.down)) } ?? g.edges)
    }

    public func validate() throws(SparrowError) {
        if density == nil, targetKappa == nil { throw .usage("give --density D or --target-kappa K") }
        if let density { guard density.isFinite, density > 0 else { throw .field(name: "density", message: "must be > 0, got \(density)") } }
        if let targetKappa { guard targetKappa.isFinite, targetKappa >= 1 else { throw .field(name: "target_kappa", message: "must be ≥ 1, got \(targetKappa)") } }
        guard (1...1000).contains(rounds) else { throw .field(name: "rounds", message: "must be in 1...1000, got \(rounds)") }
        guard (1...64).contains(vectors) else { throw .field(name: "vectors", message: "must be in 1...64, got \(vectors)") }
        guard (0...10).contains(similarityHops) else { throw .field(name: "similarity_hops", message: "must be in 0...10, got \(similarityHops)") }
        guard (1...1024).contains(projections) else { throw .field(name: "projections", message: "must be in 1...1024, got \(projections)") }
    }
}

/// What a run did: the figures a report shows.
public struct SparsifierStatistics: Sendable {
    public var treeEdges = 0
    public var recoveredEdges = 0
    public var rounds = 0
    public var skippedAsSimilar = 0
    public var treeSeconds = 0.0
    public var factorSeconds = 0.0
    public var scoreSeconds = 0.0
    public var selectSeconds = 0.0
    /// κ estimates after each round (target-κ mode only).
    public var kappaByRound: [Double] = []
    public init() {}
}

/// The outcome: H as edge numbers of G, with the weights H gives them.
public struct Sparsifier: Sendable {
    public var edges: [Int]
    public var weights: [Double]
    public var statistics: SparsifierStatistics

    /// H as a graph over G's vertices (G's excess diagonal kept, so an SDDM system stays SDDM).
    public func graph(of g: WeightedGraph) -> WeightedGraph {
        WeightedGraph(vertices: g.vertices, tails: edges.map { g.tails[$0] }, heads: edges.map { g.heads[$0] },
                      weights: weights, excess: g.excess)
    }
}
