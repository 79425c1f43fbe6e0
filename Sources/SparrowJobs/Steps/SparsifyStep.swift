import SparrowCore
import SparrowMPI
import SparrowSparsify

/// What a `sparsify` step asks for (keys mirror `sparrow sparsify`'s flags).
public struct SparsifySpec: Sendable {
    public var graph: String
    public var interpretation: WeightedGraph.Interpretation?
    public var parameters = SparsifierParameters()
    /// The values the step makes besides its figures, named STEP.PART in outputs.
    public static let parts = ["H"]
}

/// The `sparsify` step: the static sparsifier of `sparrow sparsify` on a job's
/// graph value, with the same quality figures; STEP.H is the sparsifier in the
/// graph's own form (adjacency, or L_H + D for a Laplacian), row-partitioned like G.
enum SparsifyStep {
    static func run(_ spec: SparsifySpec, step: String, _ context: StepContext) throws(SparrowError) -> StepResult {
        let communicator = context.communicator
        let a = try context.values.sparse(spec.graph)
        let whole = try a.replicated(communicator)
        let start = System.now()
        let (g, form, sparsifier, components) = try communicator.everywhere { () throws(SparrowError) in
            // A pattern file arrives as all-ones values: its diagonal is structure, dropped as `sparrow sparsify` does.
            let whole = whole.values.allSatisfy { $0 == 1 } ? whole.withoutDiagonal() : whole
            let form = spec.interpretation ?? GraphInput.detect(whole)
            let g = try WeightedGraph.from(whole, as: form, file: spec.graph)
            let components = Components(g)
            return (g, form, try StaticSparsifier.run(g, spec.parameters, components: components), components)
        }
        let seconds = System.now() - start
        let h = sparsifier.graph(of: g)
        let quality = try communicator.everywhere { () throws(SparrowError) in
            try SparsifierQuality.measure(g, h, components: components, seed: spec.parameters.seed)
        }
        let matrix = GraphInput.matrix(h, as: form)
        let part = DistributedCSR.fromReplicated(matrix, partition: a.partition, rank: communicator.rank)
        var metrics: [(String, JSONValue)] = [
            ("method", .string(spec.parameters.method.rawValue)), ("read_as", .string(form.rawValue)),
            ("vertices", .integer(g.vertices)), ("edges_g", .integer(g.edges)), ("edges_h", .integer(h.edges)),
            ("density", .number(h.density)), ("components", .integer(components.count)),
            ("recovered_edges", .integer(sparsifier.statistics.recoveredEdges)), ("sparsify_seconds", .number(seconds)),
            ("quality_seconds", .number(quality.seconds)),
        ]
        metrics += quality.metrics
        if let target = spec.parameters.targetKappa, quality.condition.kappa > target {
            context.warn("step \(step): κ = \(quality.condition.kappa) is above target_kappa \(target) (the density cap was reached)")
        }
        return (.group(figures: metrics, parts: [("H", .sparse(part))]), metrics)
    }
}

extension SparsifyStep {
    static let schema = StepSchema(op: "sparsify",
                                   keys: ["graph", "density", "target_kappa", "method", "rounds", "vectors", "similarity_hops", "seed", "as"],
                                   required: ["graph"]) { keys, parser in
        let field = keys.field, byKey = keys.byKey
        typealias O = SparsifierParameters.Options
        guard let graph = keys.text("graph", "", &parser) else { return nil }
        var spec = SparsifySpec(graph: graph)
        let density = keys.number(O.density, &parser), kappa = keys.number(O.targetKappa, &parser)
        let rounds = keys.integer(O.rounds, &parser), vectors = keys.integer(O.vectors, &parser)
        let hops = keys.integer(O.similarityHops, &parser), seed = keys.integer(.seed, &parser)
        var ok = density != nil && kappa != nil && rounds != nil && vectors != nil && hops != nil && seed != nil
        spec.parameters.density = density ?? nil
        spec.parameters.targetKappa = kappa ?? nil
        if let v = rounds ?? nil { spec.parameters.rounds = v }
        if let v = vectors ?? nil { spec.parameters.vectors = v }
        if let v = hops ?? nil { spec.parameters.similarityHops = v }
        if let v = seed ?? nil { spec.parameters.seed = UInt64(v) }
        if let n = byKey["method"] {
            if let v = parser.choice(n, "\(field).method", ["tree", "sampling"]) { spec.parameters.method = .init(rawValue: v)! } else { ok = false }
        }
        if let n = byKey["as"] {
            if let v = parser.choice(n, "\(field).as", ["adjacency", "laplacian"]) { spec.interpretation = .init(rawValue: v)! } else { ok = false }
        }
        // The run's own check, so `run --check` refuses what the run would.
        if ok {
            do throws(SparrowError) { try spec.parameters.validate(.keys(prefix: field)) } catch {
                keys.problem(error, &parser)
                ok = false
            }
        }
        return ok ? .sparsify(spec) : nil
    }
}
