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

    /// ⌊density·|V|⌋ edges (all of G's without a density), saturating.
    func edgeBudget(_ g: WeightedGraph) -> Int {
        min(g.edges, density.map { Int.clamping($0 * Double(g.vertices), to: 0...g.edges) } ?? g.edges)
    }

    /// The numeric options (flags of `sparrow sparsify`, keys of the sparsify step).
    public enum Options {
        /// |E_H| / |V|; beyond G's own density every edge is kept.
        public static let density = NumericOption("density", real: 0, 1e6, lowerOpen: true)
        public static let targetKappa = NumericOption("target_kappa", real: 1, 1e15)
        public static let rounds = NumericOption("rounds", 1...1000)
        public static let vectors = NumericOption("vectors", 1...64)
        public static let similarityHops = NumericOption("similarity_hops", 0...10)
        public static let projections = NumericOption("projections", 1...1024)
        // Dynamic updates (`--updates`).
        public static let batches = NumericOption("batches", 1...1_000_000)
        public static let distortion = NumericOption("distortion", real: 0, 1e15, lowerOpen: true)
        public static let walkers = NumericOption("walkers", 1...65_536)
        public static let walkSteps = NumericOption("walk_steps", 1...1_000_000)
    }

    /// `naming` says how messages name the values (flags or job keys).
    public func validate(_ naming: NumericOption.Naming = .flags) throws(SparrowError) {
        if density == nil, targetKappa == nil {
            if case let .keys(prefix) = naming { throw .field(name: prefix, message: "needs density or target_kappa") }
            throw .usage("give --density D or --target-kappa K")
        }
        if let density { _ = try Options.density.checked(density, naming) }
        if let targetKappa { _ = try Options.targetKappa.checked(targetKappa, naming) }
        _ = try Options.rounds.checked(rounds, naming)
        _ = try Options.vectors.checked(vectors, naming)
        _ = try Options.similarityHops.checked(similarityHops, naming)
        _ = try Options.projections.checked(projections, naming)
        if method == .sampling, targetKappa != nil {
            throw .field(name: Options.targetKappa.name(naming), message: "applies to method tree (sampling takes density)")
        }
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
