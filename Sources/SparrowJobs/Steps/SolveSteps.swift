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
        // X is whole on rank 0; each rank keeps only its rows of it.
        let solution = try DistributedDense.assemble(blocks: solved.solution.map { [(0, $0)] } ?? [], globalRows: a.columns,
                                                     columns: b.columns, communicator: communicator)
        return (.dense(solution), [("method", .string(solved.method.rawValue)), ("relative_residual", .number(solved.residual)),
                                   ("right_hand_sides", .integer(b.columns)), ("factor_nnz", .integer(solved.factorNonzeros)),
                                   ("reciprocal_condition", solved.reciprocalCondition.map { .number($0) } ?? .null)])
    }

    static func solveMany(_ names: [String], rhs: String, method: String, ordering: String, step: String,
                          _ context: StepContext) throws(SparrowError) -> StepResult {
        let communicator = context.communicator
        let matrices = try names.map { (name) throws(SparrowError) in try context.values.sparse(name) }
        // Each matrix goes only to the ranks that estimate and solve it; the
        // right-hand side is made whole on every rank before the per-item loop.
        let delivery = MatrixDelivery(matrices, communicator: communicator)
        let resolved = try context.values.resolveRightHandSide(rhs)
        let (recorded, skip) = recordedItems(step: step, matrices: matrices, context)
        var inner = Report(command: "solve", ranks: communicator.size, threads: context.threads)
        let progress = Progress(step, enabled: context.showProgress)
        let checkpoint = context.checkpoint, limits = context.limits
        // The stacked solution's row blocks [x_1; x_2; …]: recorded ones (on rank 0) and those solved here.
        var offsets = [0]
        for m in matrices { offsets.append(offsets.last! + m.globalColumns) }
        var blocks: [(firstRow: Int, block: DenseMatrix)] = recorded.map { (offsets[$0.key], $0.value.solution) }
        let results = try BatchSolve.manyMatrices(
            count: names.count, names: names.enumerated().map { "\($0.offset)-\($0.element)" },
            deliver: { (pairs) throws(SparrowError) in try delivery.deliver(pairs) },
            load: { (k) throws(SparrowError) in try delivery.matrix(k) },
            rightHandSide: { (a) throws(SparrowError) in try JobValueStore.rightHandSide(resolved, for: a) },
            method: try solveMethod(method), ordering: try choleskyOrdering(ordering),
            communicator: communicator, report: &inner, progress: progress, skip: skip, gatherSolutions: false,
            beforeItem: { () throws(SparrowError) in try limits.checkHere("before an item of step \(step)") },
            completed: { (item) throws(SparrowError) in
                try checkpoint?.recordSolvedItem(step: step, item: item)
                guard let k = Int(item.name.prefix { $0 != "-" }), offsets.indices.contains(k + 1) else { return }
                blocks.append((offsets[k], item.solution))
            })
        delivery.release()
        progress.finish()
        // Rank 0 holds every item's figures; merge with those recorded before an interruption.
        var residuals = [Double](repeating: 0, count: names.count)
        var present = [Bool](repeating: false, count: names.count)
        for (k, item) in recorded { residuals[k] = item.residual; present[k] = true }
        for item in results ?? [] {
            guard let k = Int(item.name.prefix { $0 != "-" }), residuals.indices.contains(k) else { continue }
            residuals[k] = item.residual
            present[k] = true
            for warning in item.warnings { context.warn("step \(step): \(warning)") }
        }
        // Every item is in the output, or the step fails naming the missing ones.
        _ = try communicator.onRoot { () throws(SparrowError) in
            let absent = present.indices.filter { !present[$0] }.map { names[$0] }
            if !absent.isEmpty { throw .computation("step \(step): no solution for item(s) \(absent.joined(separator: ", "))") }
        }
        let columns = communicator.allreduce(blocks.map(\.block.columns).max() ?? 0, .max)
        let stacked = try DistributedDense.assemble(blocks: blocks, globalRows: offsets.last!, columns: columns, communicator: communicator)
        let allResiduals = communicator.broadcast(residuals)
        return (.dense(stacked),
                [("items", .integer(names.count)), ("resumed_items", .integer(skip.count)),
                 ("solved_items", .integer(names.count - skip.count)),
                 ("max_relative_residual", .number(allResiduals.max() ?? 0)),
                 ("relative_residuals", .array(allResiduals.map { .number($0) }))])
    }

    /// Collective: the items recorded as solved, read on rank 0 (their solutions
    /// and residuals stay there), and the set every rank skips. A recorded item
    /// counts only if its solution fits its matrix (never trust a stale checkpoint).
    private static func recordedItems(step: String, matrices: [DistributedCSR], _ context: StepContext)
        -> (recorded: [Int: (residual: Double, solution: DenseMatrix)], skip: Set<Int>) {
        let recorded = context.communicator.isRoot
            ? (context.checkpoint?.solvedItems(step: step, count: matrices.count) ?? [:]).filter { $0.value.solution.rows == matrices[$0.key].globalColumns }
            : [:]
        return (recorded, Set(context.communicator.broadcast(recorded.keys.sorted())))
    }
}

/// solve_many's matrices, each gathered whole only onto the rank that will
/// next load it (BatchSolve's estimating rank, then its solving rank), and
/// released when the next delivery begins.
final class MatrixDelivery {
    private let matrices: [DistributedCSR]
    private let communicator: Communicator
    private var here: [Int: CSRMatrix] = [:]

    init(_ matrices: [DistributedCSR], communicator: Communicator) {
        self.matrices = matrices
        self.communicator = communicator
    }

    /// Collective: every rank passes the same pairs.
    func deliver(_ pairs: [(item: Int, rank: Int)]) throws(SparrowError) {
        here = [:]
        for (item, rank) in pairs {
            if let whole = try matrices[item].gather(to: rank, communicator) { here[item] = whole }
        }
    }

    /// Rank-local: an item delivered here.
    func matrix(_ item: Int) throws(SparrowError) -> CSRMatrix {
        guard let whole = here[item] else { throw .computation("internal: item \(item) was not delivered to rank \(communicator.rank)") }
        return whole
    }

    func release() { here = [:] }
}

extension SolveSteps {
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
