import SparrowCore
import SparrowMPI
import SparrowTransport

/// What an `ot` step asks for (keys mirror `sparrow ot`'s flags).
public struct TransportSpec: Sendable {
    public var cost: String?
    public var sourcePoints: String?
    public var targetPoints: String?
    public var groundCost: GroundCost = .sqeuclidean
    public var rowMarginal: String?
    public var columnMarginal: String?
    public var normalize = false
    public var planThreshold = 1e-12
    public var every = 10
    public var parameters = TransportParameters()

    public var uses: [String] { [cost, sourcePoints, targetPoints, rowMarginal, columnMarginal].compactMap { $0 } }
    /// The values the step makes besides its figures, named STEP.PART in outputs.
    public static let parts = ["duals", "plan"]
}

/// The `ot` step: entropic transport (the same solver as `sparrow ot`) on a
/// job's values, recording the duals in the job's checkpoint directory every
/// `every` iterations; a job restarted by the service continues from the last
/// record and repeats the uninterrupted run's remaining steps.
enum TransportStep {
    static func run(_ spec: TransportSpec, step: String, _ context: StepContext) throws(SparrowError) -> StepResult {
        let communicator = context.communicator
        var parameters = spec.parameters
        parameters.threads = context.threads
        let field = "steps.\(step)"
        let loaded = try TransportSetup.fromValues(
            cost: try spec.cost.map { (n: String) throws(SparrowError) in try context.values.sparse(n) },
            sourcePoints: try spec.sourcePoints.map { (n: String) throws(SparrowError) in try context.values.sparse(n) },
            targetPoints: try spec.targetPoints.map { (n: String) throws(SparrowError) in try context.values.sparse(n) },
            groundCost: spec.groundCost,
            rowMarginal: try spec.rowMarginal.map { (n: String) throws(SparrowError) in try context.values.sparse(n) },
            columnMarginal: try spec.columnMarginal.map { (n: String) throws(SparrowError) in try context.values.sparse(n) },
            normalize: spec.normalize, threads: context.threads, field: field, communicator: communicator)
        try TransportSetup.checkScale(loaded, eta: parameters.eta, source: "\(field).\(spec.cost != nil ? "cost" : "source_points")",
                                      communicator: communicator)
        let solver = EntropicTransport(problem: loaded.problem, parameters: parameters, communicator: communicator)
        var store = context.checkpoint.map { TransportCheckpoint(directory: $0.directory, stem: step) }
        store?.prepare(loaded.problem, communicator: communicator)
        var resumedAt = 0
        let recorded = try communicator.onRoot { () throws(SparrowError) in
            store.map { System.isRegularFile($0.directory + "/" + step + ".state") } ?? false
        }
        if communicator.broadcast([recorded == true ? 1 : 0])[0] == 1, let store {
            try store.restore(solver, communicator: communicator)
            resumedAt = solver.iterations
        } else {
            solver.initialize()
        }
        let progress = context.showProgress
        try solver.run(communicator: communicator) { (record: TransportRecord, resumable: Bool) throws(SparrowError) in
            if progress { System.printError("\(step): " + TransportReporting.describe(record)) }
            try context.limits.check("in step \(step) at iteration \(record.iteration)", communicator: communicator)
            try store?.atIteration(solver, record, resumable: resumable, every: spec.every, hint: "", communicator: communicator)
        }
        let figures = solver.figures(communicator: communicator)
        guard solver.converged else {
            throw .computation("step \(step): did not reach marginal error \(parameters.tolerance) in \(parameters.maxIterations) iterations (error \(figures.marginalError))")
        }
        let problem = loaded.problem
        // [f; g]: each rank gives its rows' duals f, rank 0 the column duals g (held on every rank).
        let rowDuals = DenseMatrix(rows: solver.x.count, columns: 1, values: solver.x)
        let columnDuals = DenseMatrix(rows: solver.y.count, columns: 1, values: solver.y)
        let duals = try DistributedDense.assemble(
            blocks: [(problem.partition.range(of: communicator.rank).lowerBound, rowDuals)] + (communicator.isRoot ? [(problem.partition.globalRows, columnDuals)] : []),
            globalRows: problem.partition.globalRows + solver.y.count, columns: 1, communicator: communicator)
        let plan = solver.significantPlan(threshold: spec.planThreshold)
        let local = CSRMatrix(rows: problem.cost.rows, columns: problem.columns, rowPointers: plan.rowStart,
                              columnIndices: plan.columns, values: plan.values, columnsSorted: true)
        let parts: [(String, JobValue)] = [
            ("duals", .dense(duals)),
            ("plan", .sparse(DistributedCSR(local: local, partition: problem.partition, globalColumns: problem.columns, rank: communicator.rank))),
        ]
        for warning in TransportReporting.warnings(solver) { context.warn("step \(step): \(warning)") }
        let metrics = TransportReporting.metrics(solver, figures, costScale: loaded.costScale) + [("resumed_at_iteration", .integer(resumedAt))]
        return (.group(figures: metrics, parts: parts), metrics)
    }
}

extension TransportStep {
    static let schema = StepSchema(op: "ot",
                                   keys: ["cost", "source_points", "target_points", "ground_cost", "normalize", "r", "c", "eta", "method",
                                          "tol", "max_iterations", "warmup", "drop", "plan_threshold", "every"],
                                   required: []) { keys, parser in
        let field = keys.field, byKey = keys.byKey
        var spec = TransportSpec()
        var ok = true
        typealias O = TransportParameters.Options
        let eta = keys.number(O.eta, &parser), tol = keys.number(O.tolerance, &parser), drop = keys.number(O.drop, &parser)
        let threshold = keys.number(O.planThreshold, &parser), iterations = keys.integer(O.maxIterations, &parser)
        let warmup = keys.integer(O.warmup, &parser), every = keys.integer(.every, &parser)
        ok = eta != nil && tol != nil && drop != nil && threshold != nil && iterations != nil && warmup != nil && every != nil
        if let v = eta ?? nil { spec.parameters.eta = v }
        if let v = tol ?? nil { spec.parameters.tolerance = v }
        if let v = drop ?? nil { spec.parameters.dropFraction = v }
        if let v = threshold ?? nil { spec.planThreshold = v }
        if let v = iterations ?? nil { spec.parameters.maxIterations = v }
        if let v = warmup ?? nil { spec.parameters.warmupSweeps = v }
        if let v = every ?? nil { spec.every = v }
        if let n = byKey["method"] {
            if let v = parser.choice(n, "\(field).method", ["sinkhorn", "sns"]) { spec.parameters.method = .init(rawValue: v)! } else { ok = false }
        }
        if let n = byKey["ground_cost"] {
            if let v = parser.choice(n, "\(field).ground_cost", ["sqeuclidean", "l1"]) { spec.groundCost = .init(rawValue: v)! } else { ok = false }
        }
        if let n = byKey["normalize"] { if let v = parser.boolean(n, "\(field).normalize") { spec.normalize = v } else { ok = false } }
        for (key, path) in [("cost", \TransportSpec.cost), ("source_points", \.sourcePoints), ("target_points", \.targetPoints),
                            ("r", \.rowMarginal), ("c", \.columnMarginal)] where byKey[key] != nil {
            if let v = keys.text(key, "", &parser) { spec[keyPath: path] = v } else { ok = false }
        }
        let hasPoints = spec.sourcePoints != nil || spec.targetPoints != nil
        if spec.cost != nil, hasPoints {
            parser.problem(byKey["cost"]!, field, "give either cost or source_points with target_points, not both")
            ok = false
        } else if spec.cost == nil, spec.sourcePoints == nil || spec.targetPoints == nil, ok {
            parser.problem(keys.node, field, "needs cost, or both source_points and target_points")
            ok = false
        }
        return ok ? .transport(spec) : nil
    }
}
