import SparrowCore
import SparrowFactor
import SparrowMPI
import SparrowSpGEMM

/// A value a job step produces or consumes.
enum JobValue {
    case sparse(DistributedCSR)
    case dense(DenseMatrix)
    case metrics([(String, JSONValue)])
}

/// Runs a validated plan on every rank: inputs are loaded or generated
/// distributed, each step runs on the distributed implementation, and each
/// named output is written (temporary name, then rename) as soon as its value
/// exists. Long steps record progress in a `JobCheckpoint` and skip work
/// already recorded there when resumed.
public final class JobRunner {
    public let plan: JobPlan
    private let communicator: Communicator
    private let threads: Int
    private let showProgress: Bool
    private let checkpoint: JobCheckpoint?
    private let stopRequested: () -> Bool
    private var values: [String: JobValue] = [:]
    private var started = 0.0
    public private(set) var report: Report

    public init(plan: JobPlan, communicator: Communicator, threads: Int, showProgress: Bool,
                checkpoint: JobCheckpoint? = nil, stopRequested: @escaping () -> Bool = { false }) {
        self.plan = plan
        self.communicator = communicator
        self.threads = plan.defaults.threads ?? threads
        self.showProgress = showProgress && communicator.isRoot
        self.checkpoint = checkpoint
        self.stopRequested = stopRequested
        report = Report(command: "run", ranks: communicator.size, threads: plan.defaults.threads ?? threads)
        report.inputs = [("job", .string(plan.file))]
    }

    /// Thrown between steps when a stop was requested (SIGTERM): the job can be resumed.
    public static let interrupted = SparrowError.computation("interrupted by a stop request; the job can resume from its checkpoint")

    public func run() throws(SparrowError) {
        started = System.now()
        try communicator.everywhere { () throws(SparrowError) in try makeOutputDirectory() }
        for input in plan.inputs {
            try timeCheck(input.name)
            let value: DistributedCSR = try report.measure("input:\(input.name)") { () throws(SparrowError) in
                switch input.source {
                case let .file(path):
                    var options = DistributedLoader.Options()
                    options.threads = threads
                    return try DistributedLoader.load(path: path, options: options, communicator: communicator)
                case let .generator(spec):
                    return try DistributedGenerator.generate(spec, communicator: communicator)
                }
            }
            try store(input.name, .sparse(value))
        }
        for (index, step) in plan.steps.enumerated() {
            if communicator.allreduce(stopRequested() ? 1 : 0, .max) == 1 { throw Self.interrupted }
            try timeCheck(step.name)
            if showProgress {
                System.printError("[\(index + 1)/\(plan.steps.count)] \(step.name) (\(step.operation.kind)) \(elapsedText)")
            }
            let start = System.now()
            let (value, metrics) = try execute(step)
            let seconds = communicator.allreduce(System.now() - start, .max)
            report.time("step:\(step.name)", seconds)
            report.history.append([("step", .string(step.name)), ("op", .string(step.operation.kind)), ("seconds", .number(seconds))] + metrics)
            try store(step.name, value)
        }
        report.metric("steps", plan.steps.count)
        report.metric("outputs", plan.outputs.count)
        report.time("total", System.now() - started)
    }

    /// A warning for the job's report, printed on rank 0 as it happens.
    private func warn(_ message: String) {
        report.warn(message)
        if communicator.isRoot { System.printError("sparrow: warning: \(message)") }
    }

    private var elapsedText: String {
        let tenths = Int((System.now() - started) * 10)
        return "\(tenths / 10).\(tenths % 10)s"
    }

    private func makeOutputDirectory() throws(SparrowError) {
        if communicator.isRoot, !System.isDirectory(plan.defaults.outputDirectory) {
            try System.makeDirectories(plan.defaults.outputDirectory)
        }
        for output in plan.outputs {
            let slash = output.path.lastIndex(of: "/").map { String(output.path[..<$0]) } ?? "."
            if communicator.isRoot, !System.isDirectory(slash) { try System.makeDirectories(slash) }
        }
    }

    /// The time limit on this rank alone (no collective): for loops that only some ranks run.
    private func localTimeCheck(_ what: String) throws(SparrowError) {
        guard let limit = plan.defaults.timeLimitSeconds else { return }
        let elapsed = System.now() - started
        if elapsed > limit { throw .computation("time limit of \(limit) s exceeded before \(what) (elapsed \(Int(elapsed)) s)") }
    }

    private func timeCheck(_ what: String) throws(SparrowError) {
        guard let limit = plan.defaults.timeLimitSeconds else { return }
        let elapsed = communicator.allreduce(System.now() - started, .max)
        if elapsed > limit {
            throw .computation("time limit of \(limit) s exceeded before \(what) (elapsed \(Int(elapsed)) s)")
        }
    }

    /// Keeps a value and writes every output that names it.
    private func store(_ name: String, _ value: JobValue) throws(SparrowError) {
        values[name] = value
        for output in plan.outputs where output.name == name {
            let start = System.now()
            switch (value, output.format) {
            case let (.sparse(matrix), .mtx):
                let whole = try matrix.gather(communicator)
                _ = try communicator.onRoot { () throws(SparrowError) in try MatrixMarket.write(whole!, to: output.path, threads: threads) }
            case let (.dense(matrix), .mtx):
                _ = try communicator.onRoot { () throws(SparrowError) in try MatrixMarket.write(matrix, to: output.path) }
            case let (.metrics(fields), _):
                if output.format == .mtx { throw .usage("output \(name): the step makes figures, not a matrix; use a .json path") }
                _ = try communicator.onRoot { () throws(SparrowError) in
                    try AtomicFileWriter.write(JSONValue.object(fields).serialized(indent: 2) + "\n", to: output.path)
                }
            case let (.sparse(matrix), .json):
                let fields: [(String, JSONValue)] = [("rows", .integer(matrix.globalRows)), ("columns", .integer(matrix.globalColumns)),
                                                     ("nnz", .integer(matrix.globalNonzeros(communicator)))]
                _ = try communicator.onRoot { () throws(SparrowError) in
                    try AtomicFileWriter.write(JSONValue.object(fields).serialized(indent: 2) + "\n", to: output.path)
                }
            case let (.dense(matrix), .json):
                let fields: [(String, JSONValue)] = [("rows", .integer(matrix.rows)), ("columns", .integer(matrix.columns)),
                                                     ("values", .array(matrix.values.map { .number($0) }))]
                _ = try communicator.onRoot { () throws(SparrowError) in
                    try AtomicFileWriter.write(JSONValue.object(fields).serialized(indent: 2) + "\n", to: output.path)
                }
            }
            report.time("write", System.now() - start)
        }
    }

    private func sparse(_ name: String) throws(SparrowError) -> DistributedCSR {
        guard case let .sparse(m)? = values[name] else { throw .usage("'\(name)' is not a sparse matrix") }
        return m
    }

    /// The whole matrix on every rank (direct solvers need all of it).
    private func replicated(_ name: String) throws(SparrowError) -> CSRMatrix {
        try sparse(name).replicated(communicator)
    }

    /// A step's `rhs` made ready on every rank before any rank-local work: a
    /// named sparse value is replicated and densified here (a collective, so it
    /// must not happen inside the per-item solves that only some ranks run).
    enum ResolvedRightHandSide {
        case builtIn(String)
        case matrix(name: String, DenseMatrix)
    }

    private func resolveRightHandSide(_ spelling: String) throws(SparrowError) -> ResolvedRightHandSide {
        if DenseRightHandSide.isBuiltIn(spelling) { return .builtIn(spelling) }
        switch values[spelling] {
        case let .dense(b)?:
            return .matrix(name: spelling, b)
        case let .sparse(m)?:
            let nonzeros = m.globalNonzeros(communicator)
            try communicator.everywhere { () throws(SparrowError) in
                try MemoryBudget.check(Double(m.globalRows) * Double(m.globalColumns) * 8 + Double(nonzeros) * 12,
                                       for: "right-hand side '\(spelling)' as a dense \(m.globalRows) × \(m.globalColumns) array") {
                    .field(name: "rhs", message: $0)
                }
            }
            let whole = try m.replicated(communicator)
            var dense = DenseMatrix(rows: whole.rows, columns: whole.columns)
            for i in 0..<whole.rows { for p in whole.rowRange(i) { dense[i, Int(whole.columnIndices[p])] += whole.values[p] } }
            return .matrix(name: spelling, dense)
        default:
            throw .usage("'\(spelling)' is not a matrix")
        }
    }

    /// B for one matrix (rank-local: no collectives).
    private func rightHandSide(_ resolved: ResolvedRightHandSide, for a: CSRMatrix) throws(SparrowError) -> DenseMatrix {
        switch resolved {
        case .builtIn("rowsums"):
            return DenseMatrix(rows: a.rows, columns: 1, values: a.multiply([Double](repeating: 1, count: a.columns)))
        case let .builtIn(spelling):
            return try DenseSpec.parse(spelling, rows: a.rows, field: "rhs")
        case let .matrix(name, b):
            guard b.rows == a.rows else { throw .usage("shape mismatch: right-hand side '\(name)' has \(b.rows) rows, the matrix \(a.rows)") }
            return b
        }
    }

    private func transposed(_ m: DistributedCSR) throws(SparrowError) -> DistributedCSR {
        let t = m.local.triplets
        let offset = m.ownedRows.lowerBound
        return try DistributedCSR.assemble(rows: m.globalColumns, columns: m.globalRows,
                                           rowIndices: t.columnIndices, columnIndices: t.rowIndices.map { Int32($0 + offset) },
                                           values: t.values, balance: .nnz, communicator: communicator)
    }

    // MARK: steps

    private func execute(_ step: JobPlan.Step) throws(SparrowError) -> (JobValue, [(String, JSONValue)]) {
        switch step.operation {
        case let .generate(spec):
            let m = try DistributedGenerator.generate(spec, communicator: communicator)
            return (.sparse(m), [("rows", .integer(m.globalRows)), ("nnz", .integer(m.globalNonzeros(communicator)))])
        case let .info(name):
            let m = try sparse(name)
            let fields: [(String, JSONValue)] = [("rows", .integer(m.globalRows)), ("columns", .integer(m.globalColumns)),
                                                 ("nnz", .integer(m.globalNonzeros(communicator))),
                                                 ("frobenius_norm", .number(communicator.allreduce(m.local.values.reduce(0) { $0 + $1 * $1 }, .sum).squareRoot()))]
            return (.metrics(fields), fields)
        case let .transpose(name):
            let t = try transposed(try sparse(name))
            return (.sparse(t), [("nnz", .integer(t.globalNonzeros(communicator)))])
        case let .scale(name, alpha):
            var m = try sparse(name)
            m.local.values = m.local.values.map { $0 * alpha }
            return (.sparse(m), [("alpha", .number(alpha))])
        case let .add(aName, bName, alpha, beta):
            let a = try sparse(aName), b0 = try sparse(bName)
            guard a.globalRows == b0.globalRows, a.globalColumns == b0.globalColumns else {
                throw .usage("shape mismatch in step \(step.name): \(aName) is \(a.globalRows) × \(a.globalColumns), \(bName) is \(b0.globalRows) × \(b0.globalColumns)")
            }
            let b = try DistributedSpGEMM.redistribute(b0, to: a.partition, communicator: communicator)
            var t = TripletBuilder(rows: a.local.rows, columns: a.globalColumns, reservingCapacity: a.local.nonzeros + b.local.nonzeros)
            for i in 0..<a.local.rows {
                for p in a.local.rowRange(i) { t.append(row: i, column: Int(a.local.columnIndices[p]), value: alpha * a.local.values[p]) }
                for p in b.local.rowRange(i) { t.append(row: i, column: Int(b.local.columnIndices[p]), value: beta * b.local.values[p]) }
            }
            let sum = DistributedCSR(local: t.csr(), partition: a.partition, globalColumns: a.globalColumns, rank: communicator.rank)
            return (.sparse(sum), [("nnz", .integer(sum.globalNonzeros(communicator)))])
        case let .spgemm(aName, bName, transposeA, transposeB, sorted, heavy, balance):
            var a = try sparse(aName), b = try sparse(bName)
            if transposeA { a = try transposed(a) }
            if transposeB { b = try transposed(b) }
            if let rule = BalanceRule(rawValue: balance) { a = try DistributedSpGEMM.balanced(a, by: rule, for: b, communicator: communicator) }
            var options = SpGEMMOptions()
            options.threads = threads
            options.sortedOutput = sorted
            options.heavyRowThreshold = heavy
            var stats = DistributedSpGEMM.RankStatistics()
            let c = try DistributedSpGEMM.multiply(a, b, options: options, workspace: SpGEMMWorkspace(), communicator: communicator,
                                                   statistics: &stats)
            let multiplyAdds = communicator.allreduce(stats.local.multiplyAdds, .sum)
            return (.sparse(c), [("nnz_c", .integer(c.globalNonzeros(communicator))), ("flops", .integer(2 * multiplyAdds))])
        case let .solve(name, rhs, method, ordering):
            let a = try replicated(name)
            let resolved = try resolveRightHandSide(rhs)
            let b = try communicator.everywhere { () throws(SparrowError) in try rightHandSide(resolved, for: a) }
            var inner = Report(command: "solve", ranks: communicator.size, threads: threads)
            let solved = try BatchSolve.manyRightHandSides(
                a, b, method: SolveMethod(rawValue: method)!, ordering: CholeskyFactorization.Ordering(rawValue: ordering)!,
                communicator: communicator, report: &inner)
            for warning in solved.warnings { warn("step \(step.name): \(warning)") }
            let whole = communicator.broadcast(solved.solution?.values ?? [])
            let solution = DenseMatrix(rows: a.columns, columns: b.columns, values: whole)
            return (.dense(solution), [("method", .string(solved.method.rawValue)), ("relative_residual", .number(solved.residual)),
                                       ("right_hand_sides", .integer(b.columns)), ("factor_nnz", .integer(solved.factorNonzeros)),
                                       ("reciprocal_condition", solved.reciprocalCondition.map { .number($0) } ?? .null)])
        case let .solveMany(names, rhs, method, ordering):
            return try solveMany(step, names, rhs, method, ordering)
        case let .pcg(name, rhs, preconditioner, tolerance, maximumIterations):
            return try pcg(step, name, rhs, preconditioner, tolerance, maximumIterations)
        }
    }

    private func solveMany(_ step: JobPlan.Step, _ names: [String], _ rhs: String, _ method: String,
                           _ ordering: String) throws(SparrowError) -> (JobValue, [(String, JSONValue)]) {
        var matrices: [CSRMatrix] = []
        for name in names { matrices.append(try replicated(name)) }
        // A recorded item counts only if its solution fits its matrix (never trust a stale checkpoint).
        let done = (checkpoint?.solvedItems(step: step.name, count: names.count) ?? [:])
            .filter { $0.value.solution.rows == matrices[$0.key].columns }
        let skip = Set(done.keys)
        var inner = Report(command: "solve", ranks: communicator.size, threads: threads)
        let resolved = try resolveRightHandSide(rhs)
        let progress = Progress("\(step.name)", enabled: showProgress)
        let checkpoint = self.checkpoint
        let results = try BatchSolve.manyMatrices(
            count: names.count, names: names.enumerated().map { "\($0.offset)-\($0.element)" },
            load: { (k) throws(SparrowError) in matrices[k] },
            rightHandSide: { (a) throws(SparrowError) in try rightHandSide(resolved, for: a) },
            method: SolveMethod(rawValue: method)!, ordering: CholeskyFactorization.Ordering(rawValue: ordering)!,
            communicator: communicator, report: &inner, progress: progress, skip: skip,
            beforeItem: { () throws(SparrowError) in try self.localTimeCheck("an item of step \(step.name)") },
            completed: { (item) throws(SparrowError) in try checkpoint?.recordSolvedItem(step: step.name, item: item) })
        progress.finish()
        // Rank 0 holds the fresh results; merge with those recorded before an interruption.
        var residuals = [Double](repeating: 0, count: names.count)
        var solutions = [DenseMatrix?](repeating: nil, count: names.count)
        for (k, item) in done { residuals[k] = item.residual; solutions[k] = item.solution }
        for item in results ?? [] {
            let k = Int(item.name.split(separator: "-").first!)!
            residuals[k] = item.residual
            solutions[k] = item.solution
        }
        // Every item is in the output, or the step fails naming the missing ones.
        _ = try communicator.onRoot { () throws(SparrowError) in
            let absent = solutions.indices.filter { solutions[$0] == nil }.map { names[$0] }
            if !absent.isEmpty { throw .computation("step \(step.name): no solution for item(s) \(absent.joined(separator: ", "))") }
        }
        for item in results ?? [] { for warning in item.warnings { warn("step \(step.name): \(warning)") } }
        // Every rank gets the stacked solutions [x_1; x_2; …] (one column per right-hand side).
        let stackedValues: [Double]
        var rows = 0, columns = 0
        if communicator.isRoot {
            columns = solutions.first??.columns ?? 1
            rows = solutions.reduce(0) { $0 + ($1?.rows ?? 0) }
            var stacked = DenseMatrix(rows: rows, columns: columns)
            var offset = 0
            for s in solutions.compactMap({ $0 }) {
                for j in 0..<min(columns, s.columns) { for i in 0..<s.rows { stacked[offset + i, j] = s[i, j] } }
                offset += s.rows
            }
            stackedValues = stacked.values
        } else {
            stackedValues = []
        }
        let shape = communicator.broadcast([rows, columns])
        let all = communicator.broadcast(stackedValues)
        let allResiduals = communicator.broadcast(residuals)
        return (.dense(DenseMatrix(rows: shape[0], columns: shape[1], values: all)),
                [("items", .integer(names.count)), ("resumed_items", .integer(skip.count)),
                 ("solved_items", .integer(names.count - skip.count)),
                 ("max_relative_residual", .number(allResiduals.max() ?? 0)),
                 ("relative_residuals", .array(allResiduals.map { .number($0) }))])
    }

    private func makePreconditioner(_ spelling: String, _ a: DistributedCSR) throws(SparrowError) -> DistributedPreconditioner {
        try DistributedPreconditioner(spelling, a, communicator: communicator)
    }

    private func agreedRightHandSide(_ spelling: String, for a: CSRMatrix) throws(SparrowError) -> DenseMatrix {
        let resolved = try resolveRightHandSide(spelling)
        return try communicator.everywhere { () throws(SparrowError) in try rightHandSide(resolved, for: a) }
    }

    private func pcg(_ step: JobPlan.Step, _ name: String, _ rhs: String, _ preconditioner: String, _ tolerance: Double,
                     _ maximumIterations: Int) throws(SparrowError) -> (JobValue, [(String, JSONValue)]) {
        let a = try sparse(name)
        guard a.globalRows == a.globalColumns else { throw .usage("pcg needs a square matrix, '\(name)' is \(a.globalRows) × \(a.globalColumns)") }
        let whole = try replicated(name)
        let b = try agreedRightHandSide(rhs, for: whole)
        guard b.columns == 1 else { throw .usage("pcg solves one right-hand side, '\(rhs)' has \(b.columns)") }
        let product = try DistributedSpMV(matrix: a, columnPartition: a.partition, communicator: communicator)
        let inverse = try makePreconditioner(preconditioner, a)
        let owned = a.ownedRows
        // Resume from the last recorded iterate (whole vector, so any P can resume it).
        let resumed = checkpoint?.iterate(step: step.name, rows: a.globalRows)
        var solver = ConjugateGradient()
        solver.tolerance = tolerance
        solver.maximumIterations = maximumIterations
        let monitor = PCGMonitor(step: step.name, startIteration: resumed?.iteration ?? 0, communicator: communicator,
                                 checkpoint: checkpoint, stopRequested: stopRequested, started: started,
                                 timeLimit: plan.defaults.timeLimitSeconds, progress: Progress("\(step.name)", enabled: showProgress))
        let communicator = self.communicator
        let apply: ([Double]) throws(SparrowError) -> [Double] = { (v) throws(SparrowError) in try product.apply(v, communicator: communicator) }
        let precondition: ([Double]) throws(SparrowError) -> [Double] = { (r) throws(SparrowError) in try inverse.apply(r, communicator: communicator) }
        let observe: (Int, Double, [Double]) throws(SparrowError) -> Void = { (k, relative, x) throws(SparrowError) in
            try monitor.observe(k, relative, x)
        }
        let result = try solver.solve(Array(b.values[owned]), initialGuess: resumed.map { Array($0.x[owned]) },
                                      apply: apply, precondition: precondition,
                                      dotProduct: { communicator.allreduce(dot($0, $1), .sum) }, monitor: observe)
        let progress = monitor.progress
        let startIteration = monitor.startIteration
        let lastIteration = monitor.lastIteration
        progress.finish()
        guard result.converged else {
            throw .computation("step \(step.name): PCG did not converge in \(maximumIterations) iterations (relative residual \(result.relativeResiduals.last ?? Double.nan))")
        }
        let x = try communicator.allgatherv(result.solution)
        return (.dense(DenseMatrix(rows: x.count, columns: 1, values: x)),
                [("iterations", .integer(lastIteration)), ("resumed_at_iteration", .integer(startIteration)),
                 ("relative_residual", .number(result.relativeResiduals.last ?? 0)), ("preconditioner", .string(preconditioner))])
    }
}

/// Watches PCG iterations: progress, time limit, checkpoint of the iterate
/// every 10 iterations, and stop requests (which end the step resumable).
final class PCGMonitor {
    let step: String
    let startIteration: Int
    private(set) var lastIteration: Int
    let progress: Progress
    private let communicator: Communicator
    private let checkpoint: JobCheckpoint?
    private let stopRequested: () -> Bool
    private let started: Double
    private let timeLimit: Double?

    init(step: String, startIteration: Int, communicator: Communicator, checkpoint: JobCheckpoint?,
         stopRequested: @escaping () -> Bool, started: Double, timeLimit: Double?, progress: Progress) {
        self.step = step
        self.startIteration = startIteration
        lastIteration = startIteration
        self.communicator = communicator
        self.checkpoint = checkpoint
        self.stopRequested = stopRequested
        self.started = started
        self.timeLimit = timeLimit
        self.progress = progress
    }

    func observe(_ k: Int, _ relative: Double, _ x: [Double]) throws(SparrowError) {
        lastIteration = startIteration + k
        progress.update(lastIteration, of: 0, detail: "residual \(relative)")
        if let timeLimit, communicator.allreduce(System.now() - started, .max) > timeLimit {
            throw .computation("time limit of \(timeLimit) s exceeded in step \(step) at iteration \(lastIteration)")
        }
        guard k % 10 == 0, let checkpoint else { return }
        let all = try communicator.allgatherv(x)
        _ = try communicator.onRoot { () throws(SparrowError) in try checkpoint.recordIterate(step: step, iteration: lastIteration, x: all) }
        if communicator.allreduce(stopRequested() ? 1 : 0, .max) == 1 { throw JobRunner.interrupted }
    }
}
