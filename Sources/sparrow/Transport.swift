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

    @Option(help: "Dense cost matrix (n × m array).") var cost: String?
    @Option(name: .customLong("source-points"), help: "Source points (n × d array).") var sourcePoints: String?
    @Option(name: .customLong("target-points"), help: "Target points (m × d array).") var targetPoints: String?
    @Option(name: .customLong("ground-cost"), help: "sqeuclidean or l1 (with point clouds).") var groundCost: String = "sqeuclidean"
    @Flag(help: "Divide the costs by their largest value, so they lie in [0, 1].") var normalize = false
    @Option(name: .customLong("r"), help: "Row marginal (n × 1; default uniform).") var rowMarginal: String?
    @Option(name: .customLong("c"), help: "Column marginal (m × 1; default uniform).") var columnMarginal: String?
    @Option(help: "Inverse regularization η.") var eta: Double = 1200
    @Option(help: "sinkhorn or sns.") var method: String = "sns"
    @Option(help: "Marginal L1 error to stop at.") var tol: Double = 1e-9
    @Option(name: .customLong("max-iterations"), help: "Sinkhorn sweeps plus Newton steps.") var maxIterations: Int = 100_000
    @Option(help: "SNS: Sinkhorn sweeps before the first Newton step.") var warmup: Int = TransportParameters().warmupSweeps
    @Option(help: "SNS: plan mass the sparsified Hessian may drop, as a fraction of the total.") var drop: Double = TransportParameters().dropFraction
    @Option(help: "Write the duals (x, then y) to this array file.") var duals: String?
    @Option(help: "Write the plan's entries ≥ --plan-threshold to this coordinate file.") var plan: String?
    @Option(name: .customLong("plan-threshold"), help: "Smallest plan entry written by --plan.") var planThreshold: Double = 1e-12
    @Option(help: "dense (all n·m entries) or sparse (point clouds: only entries within e^(−θ) of their row\'s largest, θ = --truncation, found by ε-scaling).") var kernel: String = "dense"
    @Option(help: "Sparse kernel: θ; entries below e^(−θ) times their row's largest are left out.") var truncation: Double = SparseKernelOptions().truncation
    @Option(help: "Directory for checkpoints of the duals.") var checkpoint: String?
    @Option(help: "Iterations between checkpoints.") var every: Int = 10
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
        do throws(SparrowError) { try p.validate() } catch {
            if case let .field(name, message) = error { throw .field(name: "--" + name.replacingUnderscores(), message: message) }
            throw error
        }
        guard every >= 1 else { throw .field(name: "--every", message: "must be ≥ 1, got \(every)") }
        guard planThreshold >= 0 else { throw .field(name: "--plan-threshold", message: "must be ≥ 0, got \(planThreshold)") }
        if resume, checkpoint == nil { throw .usage("--resume needs --checkpoint DIR") }
        guard kernel == "dense" || kernel == "sparse" else { throw .field(name: "--kernel", message: "expected dense or sparse, got '\(kernel)'") }
        if kernel == "sparse" {
            if checkpoint != nil { throw .usage("--checkpoint applies to --kernel dense (a sparse-kernel solve restarts its ε-scaling)") }
            guard truncation.isFinite, truncation >= 5 else { throw .field(name: "--truncation", message: "must be ≥ 5, got \(truncation)") }
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
        report.inputs = [cost.map { ("cost", JSONValue.string($0)) }, sourcePoints.map { ("source_points", .string($0)) },
                         targetPoints.map { ("target_points", .string($0)) }, rowMarginal.map { ("r", .string($0)) },
                         columnMarginal.map { ("c", .string($0)) }].compactMap { $0 }
        if kernel == "sparse" { return try runSparse(source, parameters, start, &report, comm) }
        let loaded = try report.measure("read") { () throws(SparrowError) in
            try TransportSetup.load(source, threads: common.threadCount, communicator: comm)
        }
        let solver = EntropicTransport(problem: loaded.problem, parameters: parameters, communicator: comm)
        let store = try checkpoint.map { (directory: String) throws(SparrowError) -> TransportCheckpoint in
            _ = try comm.onRoot { () throws(SparrowError) in
                if !System.isDirectory(directory) { try System.makeDirectories(directory) }
            }
            return TransportCheckpoint(directory: directory)
        }
        var resumedAt = 0
        if resume, let store {
            try store.restore(solver, communicator: comm)
            resumedAt = solver.iterations
        } else {
            solver.initialize()
        }
        let progress = comm.isRoot && !common.quiet
        try solver.run(communicator: comm) { (record: TransportRecord, resumable: Bool) throws(SparrowError) in
            if progress { System.printError(TransportReporting.describe(record)) }
            if let store, resumable, record.iteration % every == 0 { try store.record(solver, communicator: comm) }
        }
        let figures = solver.figures(communicator: comm)
        let stats = solver.statistics
        report.time("sinkhorn", stats.sinkhornSeconds)
        report.time("newton", stats.newtonSeconds)
        report.time("solve", stats.solveSeconds)
        let writeStart = System.now()
        if let duals { try TransportOutput.writeDuals(solver, to: duals, communicator: comm) }
        if let plan { try TransportOutput.writePlan(solver, threshold: planThreshold, to: plan, threads: common.threadCount, communicator: comm) }
        report.time("write", System.now() - writeStart)
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
        if !solver.converged {
            throw SparrowError.computation("did not reach marginal error \(parameters.tolerance) in \(parameters.maxIterations) iterations (error \(figures.marginalError))")
        }
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
        let progress = comm.isRoot && !common.quiet
        let solveStart = System.now()
        let solver = try sparse.solve(parameters, communicator: comm) { (record: TransportRecord, _: Bool) throws(SparrowError) in
            if progress { System.printError(TransportReporting.describe(record)) }
        }
        report.time("solve", System.now() - solveStart)
        let figures = solver.figures(communicator: comm)
        let writeStart = System.now()
        if let duals { try TransportOutput.writeDuals(solver, to: duals, communicator: comm) }
        if let plan { try TransportOutput.writePlan(solver, threshold: planThreshold, to: plan, threads: common.threadCount, communicator: comm) }
        report.time("write", System.now() - writeStart)
        for (name, value) in TransportReporting.metrics(solver, figures, costScale: sparse.costScale) where name != "iterations" { report.metric(name, value) }
        report.metric("iterations", sparse.iterations)
        report.metric("kernel", .string("sparse"))
        report.metric("truncation", .number(truncation))
        report.metric("kernel_entries", solver.problem.cost.entries == 0 ? 0 : comm.allreduce(solver.problem.cost.entries, .sum))
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
        if !solver.converged {
            throw SparrowError.computation("did not reach marginal error \(parameters.tolerance) in \(parameters.maxIterations) iterations (error \(figures.marginalError))")
        }
    }
}

private extension String {
    func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}
