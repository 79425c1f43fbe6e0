import SparrowCore
import SparrowFactor
import SparrowMPI
import SparrowSparsify

/// The `pcg` step: `DistributedPCG` (the same driver as `sparrow solve
/// --method pcg`), resumed from the last recorded iterate, with a monitor
/// that enforces the time limit, records the iterate every 10 iterations and
/// ends the step resumable on a stop request.
enum PCGStep {
    static func run(_ name: String, rhs: String, preconditioner: String, tolerance: Double, maximumIterations: Int, step: String,
                    _ context: StepContext) throws(SparrowError) -> StepResult {
        let communicator = context.communicator
        let a = try context.values.sparse(name)
        guard a.globalRows == a.globalColumns else { throw .usage("pcg needs a square matrix, '\(name)' is \(a.globalRows) × \(a.globalColumns)") }
        let b = try rightHandSide(rhs, for: a, context)
        // Resume from the last recorded iterate (written by rows, so any P can resume it); one of
        // another system (inputs changed between restarts) or with a bad value is not used.
        var store = context.checkpoint?.iterate(step: step)
        store?.prepare(a, rightHandSide: b, communicator: communicator)
        var resumed: (iteration: Int, x: [Double])?
        if case let .found(iteration, x) = store?.read(rows: a.globalRows, owned: a.ownedRows, communicator: communicator) {
            resumed = (iteration, x)
        }
        var pcg = DistributedPCG()
        pcg.tolerance = tolerance
        pcg.maximumIterations = maximumIterations
        pcg.preconditioner = preconditioner
        pcg.plugins = [SparsifierPreconditioner.plugin]
        let monitor = PCGMonitor(step: step, startIteration: resumed?.iteration ?? 0, partition: a.partition, store: store, context: context)
        let result = try pcg.solve(a, rightHandSide: b, initialGuess: resumed?.x, communicator: communicator) {
            (k, relative, x) throws(SparrowError) in try monitor.observe(k, relative, x)
        }
        monitor.progress.finish()
        for warning in result.warnings { context.warn("step \(step): \(warning)") }
        guard result.converged else {
            throw .computation("step \(step): PCG did not converge in \(maximumIterations) iterations (relative residual \(result.finalRelativeResidual))")
        }
        // x stays distributed like A's rows.
        let x = DenseMatrix(rows: result.solution.count, columns: 1, values: result.solution)
        return (.dense(DistributedDense(local: x, partition: a.partition, rank: communicator.rank)),
                [("iterations", .integer(monitor.lastIteration)), ("resumed_at_iteration", .integer(monitor.startIteration)),
                 ("relative_residual", .number(result.finalRelativeResidual)), ("preconditioner", .string(preconditioner))])
    }

    /// This rank's rows of b: a built-in spelling, or a named job value moved to A's rows (never replicated).
    private static func rightHandSide(_ spelling: String, for a: DistributedCSR, _ context: StepContext) throws(SparrowError) -> [Double] {
        if DenseRightHandSide.isBuiltIn(spelling) {
            return try DistributedPCG.ownedRightHandSide(spelling, for: a, field: "rhs", communicator: context.communicator)
        }
        // The shape first: a wrong one is refused before anything is densified.
        let shape = try context.values.shape(spelling)
        guard shape.rows == a.globalRows else { throw .usage("shape mismatch: right-hand side '\(spelling)' has \(shape.rows) rows, the matrix \(a.globalRows)") }
        guard shape.columns == 1 else { throw .usage("pcg solves one right-hand side, '\(spelling)' has \(shape.columns)") }
        let b = try context.values.distributedDense(spelling)
        return try b.redistributed(to: a.partition, communicator: context.communicator).local.values
    }
}

/// Watches PCG iterations on every rank: progress, time limit, a checkpoint of
/// the iterate every 10 iterations (written by every rank, its own rows), and stop requests (which end the step resumable).
final class PCGMonitor {
    let step: String
    let startIteration: Int
    private(set) var lastIteration: Int
    let progress: Progress
    private let partition: RowPartition
    private let store: PCGCheckpoint?
    private let context: StepContext

    init(step: String, startIteration: Int, partition: RowPartition, store: PCGCheckpoint?, context: StepContext) {
        self.step = step
        self.partition = partition
        self.store = store
        self.startIteration = startIteration
        lastIteration = startIteration
        self.context = context
        progress = Progress(step, enabled: context.showProgress)
    }

    /// Collective: every rank calls it after the same iteration.
    func observe(_ k: Int, _ relative: Double, _ x: [Double]) throws(SparrowError) {
        let communicator = context.communicator
        lastIteration = startIteration + k
        progress.update(lastIteration, of: 0, detail: "residual \(relative)")
        try context.limits.check("in step \(step) at iteration \(lastIteration)", communicator: communicator)
        guard k % 10 == 0, let store else { return }
        let iterate = DistributedDense(local: DenseMatrix(rows: x.count, columns: 1, values: x), partition: partition, rank: communicator.rank)
        try store.record(iteration: lastIteration, x: iterate, communicator: communicator)
        try context.stopIfRequested("in step \(step) at iteration \(lastIteration)")
    }
}

extension PCGStep {
    /// The pcg step's keys (they mirror `sparrow solve --method pcg`'s flags).
    static let schema = StepSchema(op: "pcg", keys: ["matrix", "rhs", "preconditioner", "tol", "max_iterations"],
                                   required: ["matrix"]) { keys, parser in
        let field = keys.field
        let preconditioner = keys.text("preconditioner", "jacobi", &parser)
        let tolerance = keys.number(DistributedPCG.Options.tolerance, &parser)
        let iterations = keys.integer(DistributedPCG.Options.maximumIterations, &parser)
        guard let m = keys.text("matrix", "", &parser), let rhs = keys.text("rhs", "ones", &parser), let p = preconditioner,
              let tolerance, let iterations else { return nil }
        var pcg = DistributedPCG()
        pcg.tolerance = tolerance ?? pcg.tolerance
        pcg.maximumIterations = iterations ?? pcg.maximumIterations
        pcg.preconditioner = p
        pcg.plugins = [SparsifierPreconditioner.plugin]
        do throws(SparrowError) { try pcg.validate(.keys(prefix: field)) } catch {
            keys.problem(error, &parser)
            return nil
        }
        return .pcg(matrix: m, rhs: rhs, preconditioner: p, tolerance: pcg.tolerance, maximumIterations: pcg.maximumIterations)
    }
}
