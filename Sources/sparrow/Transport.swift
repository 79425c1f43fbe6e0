import ArgumentParser
import SparrowCore
import SparrowMPI
import SparrowTransport

struct Transport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ot",
        abstract: "Entropic optimal transport: log-domain Sinkhorn, or Sinkhorn-Newton-Sparse (SNS).",
        discussion: """
        Minimizes ⟨C, P⟩ + (1/η)·Σ P_ij log P_ij subject to P·1 = r, Pᵀ·1 = c. The cost is a dense .mtx array
        (--cost), or comes from two point clouds (n × d arrays) and a ground cost. Marginals default to uniform.
        Stops when ‖P1 − r‖₁ + ‖Pᵀ1 − c‖₁ ≤ --tol. Outputs: --duals (x then y, an (n + m) × 1 array; the plan is
        P_ij = exp(η(x_i + y_j − C_ij) − 1) with the costs as read, divided by the report's cost_scale under
        --normalize), --plan (entries ≥ --plan-threshold, coordinate .mtx).

        Examples:
          sparrow ot --cost C.mtx --eta 1200 --method sns --tol 1e-9 --duals D.mtx --report r.json
          mpirun -n 3 sparrow ot --source-points X.mtx --target-points Y.mtx --ground-cost l1 --normalize --plan P.mtx
          sparrow ot --cost C.mtx --checkpoint ckpt --every 5 --duals D.mtx   # later: add --resume
          sparrow ot --source-points X.mtx --target-points Y.mtx --kernel sparse --eta 1e5 --tol 1e-6 --duals D.mtx
        """)

    @Option(parsing: .unconditional, help: "Dense cost matrix (n × m array).") var cost: String?
    @Option(name: .customLong("source-points"), parsing: .unconditional, help: "Source points (n × d array).") var sourcePoints: String?
    @Option(name: .customLong("target-points"), parsing: .unconditional, help: "Target points (m × d array).") var targetPoints: String?
    @Option(name: .customLong("ground-cost"), parsing: .unconditional, help: "sqeuclidean or l1 (with point clouds).") var groundCost: String = "sqeuclidean"
    @Flag(help: "Divide the costs by their largest value, so they lie in [0, 1].") var normalize = false
    @Option(name: .customLong("r"), parsing: .unconditional, help: "Row marginal (n × 1; default uniform).") var rowMarginal: String?
    @Option(name: .customLong("c"), parsing: .unconditional, help: "Column marginal (m × 1; default uniform).") var columnMarginal: String?
    @Option(parsing: .unconditional, help: "Inverse regularization η.") var eta: Double = 1200
    @Option(parsing: .unconditional, help: "sinkhorn or sns.") var method: String = "sns"
    @Option(parsing: .unconditional, help: "Marginal L1 error to stop at.") var tol: Double = 1e-9
    @Option(name: .customLong("max-iterations"), parsing: .unconditional, help: "Sinkhorn sweeps plus Newton steps.") var maxIterations: Int = 100_000
    @Option(parsing: .unconditional, help: "SNS: Sinkhorn sweeps before the first Newton step.") var warmup: Int = TransportParameters().warmupSweeps
    @Option(parsing: .unconditional, help: "SNS: plan mass the sparsified Hessian may drop, as a fraction of the total.") var drop: Double = TransportParameters().dropFraction
    @Option(parsing: .unconditional, help: "Write the duals (x, then y) to this array file.") var duals: String?
    @Option(parsing: .unconditional, help: "Write the plan's entries ≥ --plan-threshold to this coordinate file.") var plan: String?
    @Option(name: .customLong("plan-threshold"), parsing: .unconditional, help: "Smallest plan entry written by --plan.") var planThreshold: Double = 1e-12
    @Option(parsing: .unconditional, help: "dense (all n·m entries) or sparse (point clouds: only entries within e^(−θ) of their row\'s largest, θ = --truncation, found by ε-scaling).") var kernel: String = "dense"
    @Option(parsing: .unconditional, help: "Sparse kernel: θ; entries below e^(−θ) times their row's largest are left out.") var truncation: Double = SparseKernelOptions().truncation
    @Option(parsing: .unconditional, help: "Directory for checkpoints of the duals.") var checkpoint: String?
    @Option(parsing: .unconditional, help: "Iterations between checkpoints.") var every: Int = 10
    @Flag(help: "Continue from the checkpoint in --checkpoint DIR.") var resume = false
    @OptionGroup var common: CommonOptions

    func source() throws(SparrowError) -> TransportSource {
        var s = TransportSource()
        s.costPath = cost
        s.sourcePoints = sourcePoints
        s.targetPoints = targetPoints
        guard let g = GroundCost(rawValue: groundCost) else {
            throw .field(name: "--ground-cost", message: "expected sqeuclidean or l1, got '\(groundCost)'")
        }
        s.groundCost = g
        s.rowMarginalPath = rowMarginal
        s.columnMarginalPath = columnMarginal
        s.normalize = normalize
        try s.validate(prefix: "--")
        return s
    }

    func parameters() throws(SparrowError) -> TransportParameters {
        var p = TransportParameters()
        p.eta = eta
        guard let m = TransportParameters.Method(rawValue: method) else {
            throw .field(name: "--method", message: "expected sinkhorn or sns, got '\(method)'")
        }
        p.method = m
        p.tolerance = tol
        p.maxIterations = maxIterations
        p.warmupSweeps = warmup
        p.dropFraction = drop
        p.threads = common.threadCount
        try p.validate(.flags)
        typealias O = TransportParameters.Options
        _ = try NumericOption.every.checked(every, .flags)
        _ = try O.planThreshold.checked(planThreshold, .flags)
        _ = try O.truncation.checked(truncation, .flags)
        if resume, checkpoint == nil { throw .usage("--resume needs --checkpoint DIR") }
        guard kernel == "dense" || kernel == "sparse" else { throw .field(name: "--kernel", message: "expected dense or sparse, got '\(kernel)'") }
        if kernel == "sparse", checkpoint != nil {
            throw .usage("--checkpoint applies to --kernel dense (a sparse-kernel solve restarts its ε-scaling)")
        }
        return p
    }

    func run() throws {
        let comm = Runtime.communicator!
        try common.validateThreads()
        let source = try source()
        let parameters = try parameters()
        let start = System.now()
        var report = newReport("ot", common, comm)
        report.inputFiles([("cost", cost), ("source_points", sourcePoints), ("target_points", targetPoints),
                           ("r", rowMarginal), ("c", columnMarginal)])
        if kernel == "sparse" { return try runSparse(source, parameters, start, &report, comm) }
        let loaded = try report.measure("read") { () throws(SparrowError) in
            try TransportSetup.load(source, threads: common.threadCount, communicator: comm)
        }
        try TransportSetup.checkScale(loaded, eta: parameters.eta, source: cost ?? sourcePoints ?? "", communicator: comm)
        let solver = EntropicTransport(problem: loaded.problem, parameters: parameters, communicator: comm)
        var store = try checkpoint.map { (directory: String) throws(SparrowError) -> TransportCheckpoint in
            _ = try comm.onRoot { () throws(SparrowError) in
                if !System.isDirectory(directory) { try System.makeDirectories(directory) }
            }
            return TransportCheckpoint(directory: directory)
        }
        store?.prepare(loaded.problem, communicator: comm)
        var resumedAt = 0
        if resume, let store {
            try store.restore(solver, communicator: comm)
            resumedAt = solver.iterations
        } else {
            solver.initialize()
        }
        let progress = comm.isRoot && !common.quiet
        // With a checkpoint, SIGTERM/SIGINT end the run at the next resumable iteration, recorded.
        try ProcessSignals.deferringStops(if: store != nil) { () throws(SparrowError) in
            try solver.run(communicator: comm) { (record: TransportRecord, resumable: Bool) throws(SparrowError) in
                if progress { System.printError(TransportReporting.describe(record)) }
                try store?.atIteration(solver, record, resumable: resumable, every: every, hint: " (continue with --resume)", communicator: comm)
            }
        }
        let figures = solver.figures(communicator: comm)
        let stats = solver.statistics
        report.time("sinkhorn", stats.sinkhornSeconds)
        report.time("newton", stats.newtonSeconds)
        report.time("solve", stats.solveSeconds)
        // Results only from a solve that converged (its report is written either way).
        if solver.converged { try writeResults(solver, &report, comm) }
        for (name, value) in TransportReporting.metrics(solver, figures, costScale: loaded.costScale) { report.metric(name, value) }
        report.metric("resumed_at_iteration", resumedAt)
        for warning in TransportReporting.warnings(solver) { report.warn(warning) }
        report.history = stats.history.map(TransportReporting.historyEntry)
        report.perRank = comm.perRankReport([("rows", Double(loaded.problem.cost.rows)), ("entries", Double(loaded.problem.cost.entries)),
                                             ("bytes_received", Double(comm.bytesReceived))])
        report.time("communication", comm.communicationSeconds)
        report.time("total", System.now() - start)
        common.printWarnings(report, comm)
        try common.write(report, comm)
        if !solver.converged { throw Self.notConverged(parameters, figures, written: duals != nil || plan != nil) }
    }

    /// --duals and --plan, renamed into place together.
    func writeResults(_ solver: EntropicTransport, _ report: inout Report, _ comm: Communicator) throws(SparrowError) {
        let writeStart = System.now()
        let outputs = OutputSet()
        if let duals { try TransportOutput.writeDuals(solver, to: duals, into: outputs, communicator: comm) }
        if let plan { try TransportOutput.writePlan(solver, threshold: planThreshold, to: plan, threads: common.threadCount, into: outputs, communicator: comm) }
        try comm.commit(outputs)
        report.time("write", System.now() - writeStart)
    }

    static func notConverged(_ parameters: TransportParameters, _ figures: TransportFigures, written: Bool) -> SparrowError {
        .computation("did not reach marginal error \(parameters.tolerance) in \(parameters.maxIterations) iterations (error \(figures.marginalError))"
                     + (written ? "; no duals or plan written" : ""))
    }
}

extension Transport {
    /// The sparse-kernel mode: ε-scaling over truncated kernels of two point clouds.
    func runSparse(_ source: TransportSource, _ parameters: TransportParameters, _ start: Double, _ report: inout Report,
                   _ comm: Communicator) throws {
        var options = SparseKernelOptions()
        options.truncation = truncation
        let sparse = try report.measure("read") { () throws(SparrowError) in
            try TransportSetup.sparseKernel(source, options: options, communicator: comm)
        }
        try TransportProblem.checkScale(largest: sparse.largestCost, eta: parameters.eta, source: sourcePoints ?? "")
        let progress = comm.isRoot && !common.quiet
        let solveStart = System.now()
        let solver = try sparse.solve(parameters, communicator: comm) { (record: TransportRecord, _: Bool) throws(SparrowError) in
            if progress { System.printError(TransportReporting.describe(record)) }
        }
        report.time("solve", System.now() - solveStart)
        let figures = solver.figures(communicator: comm)
        if solver.converged { try writeResults(solver, &report, comm) }
        for (name, value) in TransportReporting.metrics(solver, figures, costScale: sparse.costScale) where name != "iterations" { report.metric(name, value) }
        report.metric("iterations", sparse.iterations)
        report.metric("kernel", .string("sparse"))
        report.metric("truncation", .number(truncation))
        // Collective on every rank, also on a rank that holds no source point.
        report.metric("kernel_entries", comm.allreduce(solver.problem.cost.entries, .sum))
        report.metric("stages", .array(sparse.stages.map { .object([("eta", .number($0.eta)), ("entries", .integer($0.entries)),
                                                                    ("iterations", .integer($0.iterations)), ("error", .number($0.error))]) }))
        report.metric("peak_resident_bytes", System.peakResidentBytes())
        report.history = sparse.history.map(TransportReporting.historyEntry)
        report.perRank = comm.perRankReport([("rows", Double(solver.problem.cost.rows)), ("entries", Double(solver.problem.cost.entries)),
                                             ("peak_resident_bytes", Double(System.peakResidentBytes()))])
        report.time("communication", comm.communicationSeconds)
        report.time("total", System.now() - start)
        common.printWarnings(report, comm)
        try common.write(report, comm)
        if !solver.converged { throw Self.notConverged(parameters, figures, written: duals != nil || plan != nil) }
    }
}
