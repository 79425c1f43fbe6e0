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
        var ok = true
        guard let graph = keys.text("graph", "", &parser) else { return nil }
        var spec = SparsifySpec(graph: graph)
        if let n = byKey["density"] {
            if let v = parser.number(n, "\(field).density", positive: true) { spec.parameters.density = v } else { ok = false }
        }
        if let n = byKey["target_kappa"] {
            if let v = parser.number(n, "\(field).target_kappa"), v >= 1 { spec.parameters.targetKappa = v } else {
                parser.problem(n, "\(field).target_kappa", "must be a number ≥ 1"); ok = false
            }
        }
        if let n = byKey["method"] {
            if let v = parser.choice(n, "\(field).method", ["tree", "sampling"]) { spec.parameters.method = .init(rawValue: v)! } else { ok = false }
        }
        if let n = byKey["as"] {
            if let v = parser.choice(n, "\(field).as", ["adjacency", "laplacian"]) { spec.interpretation = .init(rawValue: v)! } else { ok = false }
        }
        if let n = byKey["rounds"] { if let v = parser.integer(n, "\(field).rounds", range: 1...1000) { spec.parameters.rounds = v } else { ok = false } }
        if let n = byKey["vectors"] { if let v = parser.integer(n, "\(field).vectors", range: 1...64) { spec.parameters.vectors = v } else { ok = false } }
        if let n = byKey["similarity_hops"] { if let v = parser.integer(n, "\(field).similarity_hops", range: 0...10) { spec.parameters.similarityHops = v } else { ok = false } }
        if let n = byKey["seed"] { if let v = parser.integer(n, "\(field).seed", range: 0...Int.max) { spec.parameters.seed = UInt64(v) } else { ok = false } }
        if ok, spec.parameters.density == nil, spec.parameters.targetKappa == nil {
            parser.problem(keys.node, field, "needs density or target_kappa")
            ok = false
        }
        if ok, spec.parameters.method == .sampling, let n = byKey["target_kappa"] {
            parser.problem(n, "\(field).target_kappa", "applies to method tree (sampling takes density)")
            ok = false
        }
        return ok ? .sparsify(spec) : nil
    }
}
