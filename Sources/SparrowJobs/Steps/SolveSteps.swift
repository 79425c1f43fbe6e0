import SparrowCore
import SparrowFactor
import SparrowMPI

/// The direct-solve steps, on SparrowFactor's batch solvers: `solve` (one
/// matrix, many right-hand sides) and `solve_many` (many matrices dealt over
/// ranks, each solved item recorded in the checkpoint store).
enum SolveSteps {
    static func solve(_ name: String, rhs: String, method: String, ordering: String, step: String,
                      _ context: StepContext) throws(SparrowError) -> StepResult {
        let communicator = context.communicator
        let a = try context.values.replicated(name)
        let resolved = try context.values.resolveRightHandSide(rhs)
        let b = try communicator.everywhere { () throws(SparrowError) in try JobValueStore.rightHandSide(resolved, for: a) }
        var inner = Report(command: "solve", ranks: communicator.size, threads: context.threads)
        let solved = try BatchSolve.manyRightHandSides(a, b, method: try solveMethod(method), ordering: try choleskyOrdering(ordering),
                                                       communicator: communicator, report: &inner)
        for warning in solved.warnings { context.warn("step \(step): \(warning)") }
        let whole = communicator.broadcast(solved.solution?.values ?? [])
        let solution = DenseMatrix(rows: a.columns, columns: b.columns, values: whole)
        return (.dense(solution), [("method", .string(solved.method.rawValue)), ("relative_residual", .number(solved.residual)),
                                   ("right_hand_sides", .integer(b.columns)), ("factor_nnz", .integer(solved.factorNonzeros)),
                                   ("reciprocal_condition", solved.reciprocalCondition.map { .number($0) } ?? .null)])
    }

    static func solveMany(_ names: [String], rhs: String, method: String, ordering: String, step: String,
                          _ context: StepContext) throws(SparrowError) -> StepResult {
        let communicator = context.communicator
        // Collectives first, on every rank: the matrices and the right-hand side are replicated
        // before the per-item loop, which each rank runs for its own items only.
        var matrices: [CSRMatrix] = []
        for name in names { matrices.append(try context.values.replicated(name)) }
        let resolved = try context.values.resolveRightHandSide(rhs)
        // A recorded item counts only if its solution fits its matrix (never trust a stale checkpoint).
        let done = (context.checkpoint?.solvedItems(step: step, count: names.count) ?? [:])
            .filter { $0.value.solution.rows == matrices[$0.key].columns }
        let skip = Set(done.keys)
        var inner = Report(command: "solve", ranks: communicator.size, threads: context.threads)
        let progress = Progress(step, enabled: context.showProgress)
        let checkpoint = context.checkpoint, limits = context.limits
        let results = try BatchSolve.manyMatrices(
            count: names.count, names: names.enumerated().map { "\($0.offset)-\($0.element)" },
            load: { (k) throws(SparrowError) in matrices[k] },
            rightHandSide: { (a) throws(SparrowError) in try JobValueStore.rightHandSide(resolved, for: a) },
            method: try solveMethod(method), ordering: try choleskyOrdering(ordering),
            communicator: communicator, report: &inner, progress: progress, skip: skip,
            beforeItem: { () throws(SparrowError) in try limits.checkHere("before an item of step \(step)") },
            completed: { (item) throws(SparrowError) in try checkpoint?.recordSolvedItem(step: step, item: item) })
        progress.finish()
        // Rank 0 holds the fresh results; merge with those recorded before an interruption.
        var residuals = [Double](repeating: 0, count: names.count)
        var solutions = [DenseMatrix?](repeating: nil, count: names.count)
        for (k, item) in done { residuals[k] = item.residual; solutions[k] = item.solution }
        for item in results ?? [] {
            guard let k = Int(item.name.prefix { $0 != "-" }), solutions.indices.contains(k) else { continue }
            residuals[k] = item.residual
            solutions[k] = item.solution
            for warning in item.warnings { context.warn("step \(step): \(warning)") }
        }
        // Every item is in the output, or the step fails naming the missing ones.
        _ = try communicator.onRoot { () throws(SparrowError) in
            let absent = solutions.indices.filter { solutions[$0] == nil }.map { names[$0] }
            if !absent.isEmpty { throw .computation("step \(step): no solution for item(s) \(absent.joined(separator: ", "))") }
        }
        // Every rank gets the stacked solutions [x_1; x_2; …] (one column per right-hand side).
        let stacked = communicator.isRoot ? stack(solutions.compactMap { $0 }) : DenseMatrix(rows: 0, columns: 0)
        let shape = communicator.broadcast([stacked.rows, stacked.columns])
        let all = communicator.broadcast(stacked.values)
        let allResiduals = communicator.broadcast(residuals)
        return (.dense(DenseMatrix(rows: shape[0], columns: shape[1], values: all)),
                [("items", .integer(names.count)), ("resumed_items", .integer(skip.count)),
                 ("solved_items", .integer(names.count - skip.count)),
                 ("max_relative_residual", .number(allResiduals.max() ?? 0)),
                 ("relative_residuals", .array(allResiduals.map { .number($0) }))])
    }

    /// [x_1; x_2; …]: solutions one above the other.
    private static func stack(_ solutions: [DenseMatrix]) -> DenseMatrix {
        let columns = solutions.first?.columns ?? 1
        var stacked = DenseMatrix(rows: solutions.reduce(0) { $0 + $1.rows }, columns: columns)
        var offset = 0
        for s in solutions {
            for j in 0..<min(columns, s.columns) { for i in 0..<s.rows { stacked[offset + i, j] = s[i, j] } }
            offset += s.rows
        }
        return stacked
    }

    /// The parser has validated these spellings; a mismatch is an internal error, not a trap.
    static func solveMethod(_ spelling: String) throws(SparrowError) -> SolveMethod {
        guard let method = SolveMethod(rawValue: spelling) else { throw .field(name: "method", message: "unknown method '\(spelling)'") }
        return method
    }

    static func choleskyOrdering(_ spelling: String) throws(SparrowError) -> CholeskyFactorization.Ordering {
        guard let ordering = CholeskyFactorization.Ordering(rawValue: spelling) else {
            throw .field(name: "ordering", message: "unknown ordering '\(spelling)'")
        }
        return ordering
    }
}

extension SolveSteps {
    /// The keys of solve and solve_many (they mirror `sparrow solve`'s flags).
    static let schemas: [StepSchema] = [
        StepSchema(op: "solve", keys: ["matrix", "rhs", "method", "ordering"], required: ["matrix"]) { keys, parser in
            guard let (rhs, method, ordering) = common(keys, &parser), let m = keys.text("matrix", "", &parser) else { return nil }
            return .solve(matrix: m, rhs: rhs, method: method, ordering: ordering)
        },
        StepSchema(op: "solve_many", keys: ["matrices", "rhs", "method", "ordering"], required: ["matrices"]) { keys, parser in
            guard let (rhs, method, ordering) = common(keys, &parser) else { return nil }
            guard let list = keys.byKey["matrices"]?.sequence, !list.isEmpty else {
                parser.problem(keys.byKey["matrices"], "\(keys.field).matrices", "expected a non-empty list of matrix names")
                return nil
            }
            let names = list.enumerated().compactMap { parser.string($0.element, "\(keys.field).matrices[\($0.offset)]") }
            return names.count == list.count ? .solveMany(matrices: names, rhs: rhs, method: method, ordering: ordering) : nil
        },
    ]

    /// rhs, method and ordering, shared by both steps.
    private static func common(_ keys: StepKeys, _ parser: inout JobParser) -> (String, String, String)? {
        let method = keys.byKey["method"].map { parser.choice($0, "\(keys.field).method", ["cholesky", "lu", "qr", "auto"]) } ?? "auto"
        let ordering = keys.byKey["ordering"].map { parser.choice($0, "\(keys.field).ordering", ["amd", "metis", "natural"]) } ?? "amd"
        let rhs = keys.text("rhs", "ones", &parser)
        if let rhs, rhs.hasPrefix("random:"), Int(rhs.dropFirst(7)).map({ (1...100_000).contains($0) }) != true {
            parser.problem(keys.byKey["rhs"], "\(keys.field).rhs", "expected random:K with K in 1...100000, got '\(rhs)'")
            return nil
        }
        guard let rhs, let method, let ordering else { return nil }
        return (rhs, method, ordering)
    }
}
