import SparrowCore

/// The quality figures every sparsification run reports (timed apart from the sparsification).
public struct SparsifierQuality: Sendable {
    public var condition: ConditionEstimate
    public var iterations: SpectralQuality.IterationCounts
    public var factorNonzeros: Int
    public var seconds: Double

    /// κ by dyGRASS's convention (shift 1e-6) and CG iteration counts to 1e-8 with and without CHOLMOD(L_H).
    public static func measure(_ g: WeightedGraph, _ h: WeightedGraph, components: Components,
                               seed: UInt64 = 1) throws(SparrowError) -> SparsifierQuality {
        let start = System.now()
        let condition = try SpectralQuality.condition(g, h, seed: seed)
        let factor = try GroundedFactor(h, components: components)
        let iterations = try SpectralQuality.iterations(g, factor: factor)
        return SparsifierQuality(condition: condition, iterations: iterations, factorNonzeros: factor.factorNonzeros,
                                 seconds: System.now() - start)
    }

    public var metrics: [(String, JSONValue)] {
        [("kappa", .number(condition.kappa)), ("lambda_max", .number(condition.largest)), ("lambda_min", .number(condition.smallest)),
         ("lanczos_steps", .integer(condition.steps)), ("kappa_shift", .number(1e-6)),
         ("pcg_iterations", .integer(iterations.preconditioned)), ("cg_iterations", .integer(iterations.plain)),
         ("pcg_converged", .bool(iterations.preconditionedConverged)), ("cg_converged", .bool(iterations.plainConverged)),
         ("factor_nnz", .integer(factorNonzeros))]
    }
}

/// Static sparsification by the chosen method.
public enum StaticSparsifier {
    /// Bytes a run needs on this rank beyond the graph itself: the k random vectors three times
    /// (right-hand sides, their column-major copy, the solutions), the Lanczos basis of the quality
    /// report (80 vectors and their L_H products), per-vertex work arrays, and per-edge scores and flags.
    public static func workingBytes(_ g: WeightedGraph, _ parameters: SparsifierParameters) -> Double {
        let k = Double(parameters.method == .tree ? parameters.vectors : min(32, parameters.projections))
        return Double(g.vertices) * (3 * k * 8 + 80 * 16 + 96) + Double(g.edges) * 40
    }

    public static func run(_ g: WeightedGraph, _ parameters: SparsifierParameters,
                           components: Components) throws(SparrowError) -> Sparsifier {
        try parameters.validate()
        try MemoryBudget.check(workingBytes(g, parameters), for: "sparsifying \(g.vertices) vertices and \(g.edges) edges",
                               error: { .computation($0) })
        switch parameters.method {
        case .tree: return try OffTreeRecovery.run(g, parameters, components: components)
        case .sampling: return try ResistanceSampling.run(g, parameters, components: components)
        }
    }
}
