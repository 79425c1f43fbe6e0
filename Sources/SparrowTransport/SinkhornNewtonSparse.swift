import Foundation
import SparrowCore
import SparrowMPI

/// Entropic optimal transport by log-domain Sinkhorn and Sinkhorn-Newton-Sparse.
///
/// X. Tang, M. Shavlovsky, H. Rahmanian, E. Tardini, K. K. Thekumparampil,
/// T. Xiao, L. Ying: "Accelerating Sinkhorn Algorithm with Sparse Newton
/// Iterations", ICLR 2024 (arXiv 2401.12253), Algorithm 1; the safeguards
/// (full diagonal, shift adjusted like a trust region) follow Z. Tang,
/// Y. Qiu: "Safe and Sparse Newton Method for Entropic-Regularized Optimal
/// Transport", NeurIPS 2024 (regot's `sinkhorn_ssns`); log-domain Sinkhorn as in
/// B. Schmitzer, "Stabilized sparse scaling algorithms for entropy
/// regularized transport problems", SIAM J. Sci. Comput. 41 (2019).
///
/// Dual potential, concave, maximized:
///     f(x, y) = −(1/η)·Σ_ij exp(η(x_i + y_j − C_ij) − 1) + rᵀx + cᵀy,
///     ∇f = (r − P1, c − Pᵀ1),  −∇²f = η·[[diag(P1), P], [Pᵀ, diag(Pᵀ1)]].
///
///     x ← row update of (0, 0)                         ▹ rows balanced
///     repeat                                           ▹ Sinkhorn: N₁ sweeps (all, for --method sinkhorn)
///         y_j ← y_j + (log c_j − log Σ_i P_ij)/η
///         x_i ← x_i + (log r_i − log Σ_j P_ij)/η
///     until ‖P1 − r‖₁ + ‖Pᵀ1 − c‖₁ ≤ tol or N₁ sweeps
///     repeat                                           ▹ Newton (SNS)
///         P ← plan(x, y);  g ← ∇f
///         S ← P less its smallest entries (mass ≤ δ)   ▹ SparsifiedHessian
///         solve η·([[D_r, S], [Sᵀ, D_c]] + μI)·d = g   ▹ SchurComplementPCG
///         α ← first of 1, ½, ¼, … with f(z + αd) ≥ f(z) + 10⁻⁴·α·gᵀd
///         if none: a few Sinkhorn sweeps, μ ← 4μ       ▹ fallback
///         else: z ← z + αd;  μ ← μ/2 or 4μ by actual/predicted increase
///     until ‖g‖₁ ≤ tol
public final class EntropicTransport {
    public let problem: TransportProblem
    public let parameters: TransportParameters
    /// Row duals of this rank's rows.
    public private(set) var x: [Double]
    /// Column duals (all columns, the same on every rank).
    public private(set) var y: [Double]
    public private(set) var statistics = TransportStatistics()
    /// Marginal L1 error of the current iterate, when known.
    public private(set) var error = Double.infinity
    /// The shift factor σ (μ = σ·‖g‖₁·mass/n), part of the resumable state.
    public private(set) var shiftFactor = 1.0
    public var iterations: Int { statistics.sinkhornSweeps + statistics.newtonSteps }
    public var converged: Bool { error <= parameters.tolerance }

    private let passes: PlanPasses
    private var plan: [Double] = []
    private let totalMass: Double
    /// Sinkhorn sweeps run after a Newton step fails to increase f.
    static let fallbackSweeps = 5

    public init(problem: TransportProblem, parameters: TransportParameters, communicator: Communicator) {
        self.problem = problem
        self.parameters = parameters
        self.x = [Double](repeating: 0, count: problem.cost.rows)
        self.y = [Double](repeating: 0, count: problem.columns)
        self.passes = PlanPasses(cost: problem.cost, columns: problem.columns, eta: parameters.eta, threads: parameters.threads)
        self.totalMass = problem.columnMarginal.reduce(0, +)
    }

    /// Called after every iteration; `resumable` says the state may be checkpointed there.
    public typealias Observer = (_ record: TransportRecord, _ resumable: Bool) throws(SparrowError) -> Void

    /// Starts from zero duals with balanced rows (not counted as an iteration).
    public func initialize() {
        updateRows()
    }

    /// Continues from recorded duals and counters (a checkpoint).
    public func restore(x: [Double], y: [Double], sinkhornSweeps: Int, newtonSteps: Int, shiftFactor: Double,
                        history: [TransportRecord]) {
        self.x = x
        self.y = y
        statistics.sinkhornSweeps = sinkhornSweeps
        statistics.newtonSteps = newtonSteps
        statistics.history = history
        self.shiftFactor = shiftFactor
        error = history.last?.error ?? .infinity
    }

    /// Runs to the tolerance or the iteration limit (collective).
    public func run(communicator: Communicator, observe: Observer) throws(SparrowError) {
        let start = System.now()
        defer { statistics.solveSeconds += System.now() - start; statistics.stabilizedPasses = passes.stabilizedPasses }
        let inNewtonPhase = statistics.newtonSteps > 0 || statistics.sinkhornSweeps >= parameters.warmupSweeps
        if parameters.method == .sinkhorn || !inNewtonPhase {
            let limit = parameters.method == .sinkhorn ? parameters.maxIterations : parameters.warmupSweeps
            try sinkhorn(until: limit, resumable: true, communicator: communicator, observe: observe)
        }
        if parameters.method == .sns, !converged {
            try newton(communicator: communicator, observe: observe)
        }
    }

    // MARK: Sinkhorn

    private func updateRows() {
        let logSums = passes.rowLogSums(x: x, y: y)
        for i in x.indices { x[i] += (Foundation.log(problem.rowMarginal[i]) - logSums[i]) / parameters.eta }
    }

    /// Sweeps until the error is within tolerance, `limit` sweeps have run in all, or the iteration limit.
    /// Each sweep's error is measured by the next sweep's column pass (after a row
    /// update the rows are exact), so its record is reported one pass later.
    private func sinkhorn(until limit: Int, resumable: Bool, communicator: Communicator, observe: Observer) throws(SparrowError) {
        let began = System.now()
        defer { statistics.sinkhornSeconds += System.now() - began }
        var pending: TransportRecord?
        var sweepStart = System.now()
        while true {
            let logColumns = passes.columnLogSums(x: x, y: y, communicator: communicator)
            var columnError = 0.0
            for j in 0..<problem.columns { columnError += abs(Foundation.exp(logColumns[j]) - problem.columnMarginal[j]) }
            error = columnError
            try checkFinite()
            if var record = pending {
                record.error = columnError
                record.seconds = System.now() - sweepStart
                statistics.history.append(record)
                try observe(record, resumable)
                sweepStart = System.now()
            }
            if converged || statistics.sinkhornSweeps >= limit || iterations >= parameters.maxIterations { return }
            for j in 0..<problem.columns {
                y[j] += (Foundation.log(problem.columnMarginal[j]) - logColumns[j]) / parameters.eta
            }
            updateRows()
            statistics.sinkhornSweeps += 1
            pending = TransportRecord(iteration: iterations, kind: .sinkhorn, error: .nan, objective: .nan, seconds: 0)
        }
    }

    // MARK: Newton

    private struct Evaluation {
        var rowSums: [Double]
        var columnSums: [Double]
        var objective: Double
        var error: Double
    }

    private func evaluate(_ x: [Double], _ y: [Double], communicator: Communicator) -> Evaluation {
        statistics.planEvaluations += 1
        let (rowSums, columnSums, total) = passes.evaluate(x: x, y: y, into: &plan, communicator: communicator)
        var local = [0.0, 0.0]
        for i in x.indices {
            local[0] += problem.rowMarginal[i] * x[i]
            local[1] += abs(problem.rowMarginal[i] - rowSums[i])
        }
        let sums = communicator.allreduce(local, .sum)
        var columnTerm = 0.0, columnError = 0.0
        for j in y.indices {
            columnTerm += problem.columnMarginal[j] * y[j]
            columnError += abs(problem.columnMarginal[j] - columnSums[j])
        }
        let objective = total.isFinite ? -total / parameters.eta + sums[0] + columnTerm : -.infinity
        return Evaluation(rowSums: rowSums, columnSums: columnSums, objective: objective,
                          error: total.isFinite ? sums[1] + columnError : .infinity)
    }

    private func newton(communicator: Communicator, observe: Observer) throws(SparrowError) {
        let began = System.now()
        defer { statistics.newtonSeconds += System.now() - began }
        var current = evaluate(x, y, communicator: communicator)
        error = current.error
        try checkFinite()
        let meanMarginal = totalMass / Double(max(1, problem.columns))
        while !converged, iterations < parameters.maxIterations {
            let stepStart = System.now()
            let eta = parameters.eta
            let gx = x.indices.map { problem.rowMarginal[$0] - current.rowSums[$0] }
            let gy = y.indices.map { problem.columnMarginal[$0] - current.columnSums[$0] }
            let hessian = SparsifiedHessian.build(plan: plan, cost: problem.cost, budget: parameters.dropFraction * min(totalMass, current.error),
                                                  maxKept: parameters.maxKeptEntries, threads: parameters.threads,
                                                  communicator: communicator)
            let shift = shiftFactor * current.error * meanMarginal
            let solver = SchurComplementPCG(hessian: hessian, rowDiagonal: current.rowSums, columnDiagonal: current.columnSums,
                                            threads: parameters.threads)
            let direction = solver.solve(bx: gx.map { $0 / eta }, by: gy.map { $0 / eta }, shift: shift,
                                         relativeTolerance: min(1e-2, max(1e-6, current.error)), maxIterations: 1000,
                                         communicator: communicator)
            statistics.cgIterations += direction.iterations
            var localSlope = 0.0
            for i in gx.indices { localSlope += gx[i] * direction.dx[i] }
            var slope = communicator.allreduce(localSlope, .sum)
            for j in gy.indices { slope += gy[j] * direction.dy[j] }
            // Line search on f: the trial's plan is kept, so an accepted step's gradient costs nothing more.
            var accepted: (step: Double, evaluation: Evaluation)?
            if slope > 0 {
                for step in [1.0, 0.5, 0.25, 0.1, 0.05, 0.01] {
                    let tx = x.indices.map { x[$0] + step * direction.dx[$0] }
                    let ty = y.indices.map { y[$0] + step * direction.dy[$0] }
                    let trial = evaluate(tx, ty, communicator: communicator)
                    let gain = trial.objective - current.objective
                    // Near the optimum the gain is below f's rounding: then a smaller gradient decides.
                    let unmeasurable = slope * step < 1e-13 * (abs(current.objective) + 1)
                    if gain >= 1e-4 * step * slope || unmeasurable && trial.error < current.error {
                        let predicted = step * slope * (1 - step / 2)
                        let ratio = gain / predicted
                        if !unmeasurable { shiftFactor *= ratio < 0.25 ? 4 : ratio > 0.75 ? 0.5 : 1 }
                        shiftFactor = min(max(shiftFactor, 1e-6), 1e6)
                        x = tx
                        y = ty
                        accepted = (step, trial)
                        break
                    }
                }
            }
            guard let (step, next) = accepted else {
                // No increase along d: a few Sinkhorn sweeps, then Newton again with a larger shift.
                statistics.fallbacks += 1
                shiftFactor = min(shiftFactor * 4, 1e6)
                try sinkhorn(until: statistics.sinkhornSweeps + Self.fallbackSweeps, resumable: false,
                             communicator: communicator, observe: observe)
                current = evaluate(x, y, communicator: communicator)
                error = current.error
                try checkFinite()
                continue
            }
            current = next
            error = next.error
            statistics.newtonSteps += 1
            let record = TransportRecord(iteration: iterations, kind: .newton, error: next.error, objective: next.objective,
                                         step: step, cgIterations: direction.iterations, keptEntries: hessian.keptEntries,
                                         seconds: System.now() - stepStart)
            statistics.history.append(record)
            try observe(record, true)
        }
    }

    /// The error is the same on every rank (computed from allreduced sums), so all throw alike.
    private func checkFinite() throws(SparrowError) {
        guard error.isFinite else {
            throw .computation("the plan overflowed at iteration \(iterations) (marginal error \(error)): η times the costs or the duals are too large for double precision")
        }
    }

    // MARK: Results

    /// Frees the plan buffer (the next evaluation allocates it again).
    public func releasePlan() { plan = [] }

    /// Figures of the final iterate from one more pass over the plan (collective):
    /// the marginal error recomputed from the duals, ⟨C, P⟩, the entropic primal
    /// objective ⟨C, P⟩ + (1/η)·Σ P log P, and the dual objective.
    public func figures(communicator: Communicator) -> TransportFigures {
        let evaluation = evaluate(x, y, communicator: communicator)
        var transport = 0.0, entropy = 0.0
        let values = problem.cost.values
        for e in plan.indices where plan[e] > 0 {
            transport += plan[e] * values[e]
            entropy += plan[e] * Foundation.log(plan[e])
        }
        let sums = communicator.allreduce([transport, entropy], .sum)
        error = evaluation.error
        return TransportFigures(marginalError: evaluation.error, transportCost: sums[0],
                                entropicObjective: sums[0] + sums[1] / parameters.eta, dualObjective: evaluation.objective)
    }

    /// The plan entries ≥ `threshold` of this rank's rows (global column indices), from the last `figures` pass.
    public func significantPlan(threshold: Double) -> (rowStart: [Int], columns: [Int32], values: [Double]) {
        var rowStart = [0], columns: [Int32] = [], values: [Double] = []
        let cost = problem.cost
        for i in 0..<cost.rows {
            for e in cost.rowStart[i]..<cost.rowStart[i + 1] where plan[e] >= threshold && plan[e] > 0 {
                columns.append(cost.columnIndices.map { $0[e] } ?? Int32(e - cost.rowStart[i]))
                values.append(plan[e])
            }
            rowStart.append(values.count)
        }
        return (rowStart, columns, values)
    }
}

public struct TransportFigures: Sendable {
    public var marginalError: Double
    public var transportCost: Double
    public var entropicObjective: Double
    public var dualObjective: Double
}
