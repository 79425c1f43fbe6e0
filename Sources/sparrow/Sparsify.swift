import ArgumentParser
import SparrowCore
import SparrowMPI
import SparrowSparsify

struct Sparsify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Spectral graph sparsification: spanning tree plus the off-tree edges that matter; dynamic updates; κ and PCG figures.",
        discussion: """
        G is a symmetric .mtx: an adjacency matrix (pattern: unit weights; real: weights) or a Laplacian/SDDM
        matrix (off-diagonals ≤ 0). H is written in the same form, a subgraph of G with G's weights (the tree
        method) or reweighted (sampling). Every run reports κ(L_G, L_H) (largest over smallest eigenvalue of the
        pencil (L_G + 1e-6·I, L_H + 1e-6·I), by Lanczos with a CHOLMOD factor of L_H) and the CG iteration counts
        to 1e-8 on L_G·x = b with and without CHOLMOD(L_H) as preconditioner, timed apart.
        --updates applies an edge stream (docs/sparsify.md): lines 'p q w' with a leading + or −, 1-based.

        Examples:
          sparrow sparsify fe_4elt2.mtx --density 1.13 -o H.mtx --report r.json
          sparrow sparsify delaunay_n15.mtx --target-kappa 100 -o H.mtx
          mpirun -n 2 sparrow sparsify G.mtx --density 1.12 --updates stream.txt --seed 3 -o H.mtx
          sparrow sparsify G.mtx --density 1.5 --method sampling -o H.mtx
          mpirun -n 4 sparrow sparsify G.mtx --density 1.13 --partitioned -o H.mtx   # blocks per rank, then the cut edges
        """)

    @Argument(help: "Graph G (symmetric .mtx).") var graph: String
    @Option(parsing: .unconditional, help: "Target density |E_H| / |V| (with --target-kappa: the cap).") var density: Double?
    @Option(name: .customLong("target-kappa"), parsing: .unconditional, help: "Recover edges until the estimated κ is at most this.") var targetKappa: Double?
    @Option(parsing: .unconditional, help: "tree (recovery by spectral importance) or sampling (effective resistances).") var method: String = "tree"
    @Option(parsing: .unconditional, help: "Edge update stream to apply after the static sparsifier (+/− lines).") var updates: String?
    @Option(parsing: .unconditional, help: "Updates: batches the stream is split into (each batch's walks run in parallel over ranks).") var batches: Int = 10
    @Option(parsing: .unconditional, help: "Updates: distortion threshold K (default: κ of the static sparsifier).") var distortion: Double?
    @Option(parsing: .unconditional, help: "Updates: random walkers per update.") var walkers: Int = 128
    @Option(name: .customLong("walk-steps"), parsing: .unconditional, help: "Updates: step cap of each walk.") var walkSteps: Int = 128
    @Option(parsing: .unconditional, help: "Random seed.") var seed: UInt64 = 1
    @Option(parsing: .unconditional, help: "Tree method: re-scoring rounds.") var rounds: Int = SparsifierParameters().rounds
    @Option(parsing: .unconditional, help: "Tree method: random vectors per round for the importance scores.") var vectors: Int = SparsifierParameters().vectors
    @Option(name: .customLong("similarity-hops"), parsing: .unconditional, help: "Tree method: similarity-filtering depth (0: off).") var similarityHops: Int = SparsifierParameters().similarityHops
    @Flag(help: "Under mpirun: sparsify each rank's block of vertices, then a global pass over the cut edges (H depends on P; the report compares its κ with the single-rank sparsifier's).") var partitioned = false
    @Option(name: .customLong("as"), parsing: .unconditional, help: "Read G as adjacency or laplacian (default: detect).") var interpretation: String?
    @Option(name: .short, parsing: .unconditional, help: "Write H here.") var output: String?
    @OptionGroup var common: CommonOptions

    func parameters() throws(SparrowError) -> SparsifierParameters {
        var p = SparsifierParameters()
        guard let m = SparsifierParameters.Method(rawValue: method) else {
            throw .field(name: "--method", message: "expected tree or sampling, got '\(method)'")
        }
        p.method = m
        p.density = density
        p.targetKappa = targetKappa
        p.seed = seed
        p.rounds = rounds
        p.vectors = vectors
        p.similarityHops = similarityHops
        typealias O = SparsifierParameters.Options
        _ = try O.batches.checked(batches, .flags)
        if let distortion { _ = try O.distortion.checked(distortion, .flags) }
        _ = try O.walkers.checked(walkers, .flags)
        _ = try O.walkSteps.checked(walkSteps, .flags)
        if updates == nil, batches != 10 || distortion != nil || walkers != 128 || walkSteps != 128 {
            throw .usage("--batches, --distortion, --walkers and --walk-steps apply with --updates")
        }
        try p.validate(.flags)
        return p
    }

    func run() throws {
        let comm = Runtime.communicator!
        try common.validateThreads()
        let parameters = try parameters()
        var chosen: WeightedGraph.Interpretation?
        if let interpretation {
            guard let i = WeightedGraph.Interpretation(rawValue: interpretation) else {
                throw SparrowError.field(name: "--as", message: "expected adjacency or laplacian, got '\(interpretation)'")
            }
            chosen = i
        }
        let start = System.now()
        var report = newReport("sparsify", common, comm)
        report.inputFiles([("graph", graph), ("updates", updates)])
        // Every rank holds G (the graphs a sparsifier serves fit on a rank); the result is identical at any P.
        let (g, form) = try report.measure("read") { () throws(SparrowError) in
            try comm.everywhere { () throws(SparrowError) in try GraphInput.read(graph, as: chosen, threads: common.threadCount) }
        }
        let stream = try updates.map { (path: String) throws(SparrowError) -> [EdgeUpdate] in
            try comm.everywhere { () throws(SparrowError) in try EdgeUpdate.read(path, vertices: g.vertices) }
        }
        let components = Components(g)
        var singleRankKappa: Double?
        var partitionedOutcome: PartitionedSparsifier.Outcome?
        let sparsifier = try report.measure("sparsify") { () throws(SparrowError) -> Sparsifier in
            guard partitioned else {
                return try comm.everywhere { () throws(SparrowError) in try StaticSparsifier.run(g, parameters, components: components) }
            }
            partitionedOutcome = try PartitionedSparsifier.run(g, parameters, components: components, communicator: comm)
            return partitionedOutcome!.sparsifier
        }
        if let partitionedOutcome {
            report.time("local", partitionedOutcome.localSeconds)
            report.time("global", partitionedOutcome.globalSeconds)
            report.metric("cut_edges", partitionedOutcome.cutEdges)
        }
        if partitioned {
            // The comparison the partitioned method owes: the single-rank sparsifier's κ on the same graph.
            singleRankKappa = try report.measure("single_rank_reference") { () throws(SparrowError) in
                try comm.everywhere { () throws(SparrowError) in
                    let single = try StaticSparsifier.run(g, parameters, components: components)
                    return try SpectralQuality.condition(g, single.graph(of: g), seed: seed).kappa
                }
            }
        }
        var finalG = g
        var h = sparsifier.graph(of: g)
        if let stream {
            // K: the distortion threshold, κ of the sparsifier the stream starts from unless given.
            let threshold = try distortion ?? comm.everywhere { () throws(SparrowError) in
                try SpectralQuality.condition(g, h, steps: 30, seed: seed).kappa
            }
            let dynamicStart = System.now()
            var dynamic = DynamicSparsifier(graph: g, sparsifier: h, seed: seed, distortion: threshold)
            dynamic.walkers = walkers
            dynamic.stepCap = walkSteps
            let outcome = try dynamic.apply(stream, batches: batches, file: updates!, communicator: comm)
            report.metric("distortion_threshold", threshold)
            report.time("updates", System.now() - dynamicStart)
            for (name, value) in outcome.metrics { report.metric(name, value) }
            finalG = dynamic.currentGraph()
            h = dynamic.currentSparsifier()
        }
        let finalComponents = stream == nil ? components : Components(finalG)
        let quality = try report.measure("quality") { () throws(SparrowError) in
            try comm.everywhere { () throws(SparrowError) in try SparsifierQuality.measure(finalG, h, components: finalComponents, seed: seed) }
        }
        if let output {
            try report.measure("write") { () throws(SparrowError) in
                _ = try comm.onRoot { () throws(SparrowError) in
                    try GraphInput.write(h, as: form, to: output, comment: "spectral sparsifier of \(graph) (sparrow sparsify, \(method))",
                                         threads: common.threadCount)
                }
            }
        }
        let s = sparsifier.statistics
        report.metric("method", .string(method))
        report.metric("read_as", .string(form.rawValue))
        report.metric("vertices", finalG.vertices)
        report.metric("edges_g", finalG.edges)
        report.metric("edges_h", h.edges)
        report.metric("density", h.density)
        report.metric("components", finalComponents.count)
        report.metric("tree_edges", s.treeEdges)
        report.metric("recovered_edges", s.recoveredEdges)
        report.metric("rounds", s.rounds)
        report.metric("skipped_as_similar", s.skippedAsSimilar)
        if !s.kappaByRound.isEmpty { report.metric("kappa_by_round", .array(s.kappaByRound.map { .number($0) })) }
        for (name, value) in quality.metrics { report.metric(name, value) }
        if let singleRankKappa {
            report.metric("partitioned", .bool(true))
            report.metric("kappa_single_rank", singleRankKappa)
            report.metric("kappa_ratio_to_single_rank", quality.condition.kappa / singleRankKappa)
        }
        report.time("tree", s.treeSeconds)
        report.time("factor", s.factorSeconds)
        report.time("scores", s.scoreSeconds)
        report.time("select", s.selectSeconds)
        if let target = targetKappa, quality.condition.kappa > target {
            report.warn("κ = \(quality.condition.kappa) is above --target-kappa \(target) (the density cap was reached)")
        }
        if finalComponents.count > 1 { report.warn("G has \(finalComponents.count) connected components; each is sparsified and grounded on its own") }
        report.perRank = comm.perRankReport([("vertices", Double(finalG.vertices)), ("bytes_received", Double(comm.bytesReceived))])
        report.time("communication", comm.communicationSeconds)
        report.time("total", System.now() - start)
        common.printWarnings(report, comm)
        if comm.isRoot, !common.quiet {
            System.printError("sparrow: H has \(h.edges) edges (density \(h.density)), κ ≈ \(quality.condition.kappa); PCG \(quality.iterations.preconditioned) iterations, CG \(quality.iterations.plain)")
        }
        try common.write(report, comm)
    }
}
