import SparrowCore
import SparrowMPI

/// Distributed batch solves.
///
/// One matrix, many right-hand sides: every rank factors A once (the factor
/// is needed whole by each solve) and solves its contiguous block of columns;
/// X is gathered in column order, so it is identical for any rank count.
///
/// Many matrices: each matrix's cost is estimated by the nonzeros of its
/// Cholesky factor from a symbolic analysis of A + Aᵀ (or nnz(A)·n for
/// rectangular matrices), estimated in parallel, then items are dealt by
/// longest-processing-time-first to the least-loaded rank. Every item is
/// solved exactly as on one rank, so results do not depend on P.
public enum BatchSolve {
    public struct ItemResult: Sendable {
        public var name: String
        public var method: SolveMethod
        public var note: String
        public var residual: Double
        public var seconds: Double
        public var rank: Int
        public var factorNonzeros: Int
        /// The factorization's reciprocal condition estimate (NaN where it gives none: QR).
        public var reciprocalCondition: Double
        public var solution: DenseMatrix

        public var warnings: [String] {
            DirectSolver.warnings(method: method, reciprocalCondition: reciprocalCondition.isNaN ? nil : reciprocalCondition,
                                  residual: residual, note: note, item: name)
        }
    }

    /// X for one matrix and many right-hand sides, with what the user must know about it.
    public struct ManyRightHandSidesResult {
        /// X on rank 0 (nil elsewhere).
        public var solution: DenseMatrix?
        public var method: SolveMethod
        public var residual: Double
        public var factorNonzeros: Int
        public var reciprocalCondition: Double?
        public var warnings: [String]
    }

    /// Collective. Returns X on rank 0 (nil elsewhere) and the largest residual over all columns;
    /// warnings (ill conditioning, a loose residual, a fallback) are also added to `report`.
    public static func manyRightHandSides(_ a: CSRMatrix, _ b: DenseMatrix, method: SolveMethod,
                                          ordering: CholeskyFactorization.Ordering,
                                          communicator: Communicator,
                                          report: inout Report) throws(SparrowError) -> ManyRightHandSidesResult {
        let solver = try communicator.everywhere { () throws(SparrowError) in
            try report.measure("factorize") { () throws(SparrowError) in try DirectSolver(a, method: method, ordering: ordering) }
        }
        let mine = columnShare(columns: b.columns, ranks: communicator.size, rank: communicator.rank)
        let x = try communicator.everywhere { () throws(SparrowError) in
            try report.measure("solve") { () throws(SparrowError) in
                // Solve in blocks fixed by global column index, so each column is
                // computed by the same BLAS calls whatever the rank count.
                var out = DenseMatrix(rows: solver.matrix.columns, columns: 0)
                var values: [Double] = []
                for start in stride(from: mine.lowerBound, to: mine.upperBound, by: solveBlock) {
                    values += try solver.solve(b.columns(start..<min(start + solveBlock, mine.upperBound))).values
                }
                out = DenseMatrix(rows: solver.matrix.columns, columns: mine.count, values: values)
                return out
            }
        }
        let residual = communicator.allreduce(mine.isEmpty ? 0 : solver.relativeResidual(x, b.columns(mine)), .max)
        let gathered = try communicator.gatherv(x.values)
        let whole = gathered.map { DenseMatrix(rows: solver.matrix.columns, columns: b.columns, values: $0.flatMap { $0 }) }
        let warnings = solver.warnings(residual: residual)
        for warning in warnings { report.warn(warning) }
        return ManyRightHandSidesResult(solution: whole, method: solver.method, residual: residual, factorNonzeros: solver.factorNonzeros,
                                        reciprocalCondition: solver.reciprocalCondition, warnings: warnings)
    }

    /// Right-hand sides solved per call: blocks start at multiples of this.
    public static let solveBlock = 8

    /// This rank's contiguous columns: whole blocks of `solveBlock`, spread evenly.
    public static func columnShare(columns: Int, ranks: Int, rank: Int) -> Range<Int> {
        let blocks = (columns + solveBlock - 1) / solveBlock
        let share = evenRanges(count: blocks, parts: ranks)[rank]
        return min(columns, share.lowerBound * solveBlock)..<min(columns, share.upperBound * solveBlock)
    }

    /// Longest-processing-time-first assignment of items with `costs` to `ranks`.
    public static func assign(costs: [Double], ranks: Int) -> [Int] {
        var load = [Double](repeating: 0, count: ranks)
        var owner = [Int](repeating: 0, count: costs.count)
        for item in costs.indices.sorted(by: { costs[$0] > costs[$1] || (costs[$0] == costs[$1] && $0 < $1) }) {
            let r = load.indices.min(by: { load[$0] < load[$1] || (load[$0] == load[$1] && $0 < $1) })!
            owner[item] = r
            load[r] += costs[item]
        }
        return owner
    }

    /// Estimated factorization cost of one matrix.
    public static func estimatedCost(_ a: CSRMatrix) -> Double {
        guard a.rows == a.columns, a.rows > 0 else { return Double(a.nonzeros) * Double(max(1, a.columns)) }
        // Symbolic Cholesky of the symmetrized pattern: nnz(L) drives LU and Cholesky alike.
        var t = TripletBuilder(rows: a.rows, columns: a.columns, reservingCapacity: 2 * a.nonzeros + a.rows)
        for i in 0..<a.rows {
            t.append(row: i, column: i, value: 1)
            for p in a.rowRange(i) where Int(a.columnIndices[p]) != i {
                t.append(row: i, column: Int(a.columnIndices[p]), value: 1)
                t.append(row: Int(a.columnIndices[p]), column: i, value: 1)
            }
        }
        // Analysis only (cholmod_analyze's nnz(L)): the item is factored once, when it is solved.
        if let nonzeros = try? CholeskyFactorization.predictedFactorNonzeros(t.csr()) { return Double(nonzeros) }
        return Double(a.nonzeros)
    }

    /// Collective. `load(k)` reads item k on the rank that estimates or solves
    /// it; `deliver(pairs)` runs on every rank first, with each (item, rank)
    /// that will next `load` it: a source whose matrices are distributed moves
    /// each one to that rank only (one that reads files needs nothing).
    /// `rightHandSide(matrix)` builds its B. Returns every item's result on
    /// rank 0; without `gatherSolutions` they come without solutions (each is
    /// in `completed` on the rank that solved it).
    public static func manyMatrices(count: Int, names: [String],
                                    deliver: ([(item: Int, rank: Int)]) throws(SparrowError) -> Void = { _ throws(SparrowError) in },
                                    load: (Int) throws(SparrowError) -> CSRMatrix,
                                    rightHandSide: (CSRMatrix) throws(SparrowError) -> DenseMatrix,
                                    method: SolveMethod, ordering: CholeskyFactorization.Ordering,
                                    communicator: Communicator, report: inout Report,
                                    progress: Progress, skip: Set<Int> = [], gatherSolutions: Bool = true,
                                    beforeItem: () throws(SparrowError) -> Void = { () throws(SparrowError) in },
                                    completed: (ItemResult) throws(SparrowError) -> Void = { _ throws(SparrowError) in }) throws(SparrowError) -> [ItemResult]? {
        // Cost estimates: item k on rank k mod P, in rounds of one item per rank
        // (a rank holds one delivered matrix at a time), then shared.
        let ranks = communicator.size
        var estimates = [Double](repeating: 0, count: count)
        var estimateFailure: SparrowError?
        let analyzeStart = System.now()
        for round in stride(from: 0, to: count, by: ranks) {
            try deliver((round..<min(count, round + ranks)).filter { !skip.contains($0) }.map { (item: $0, rank: $0 % ranks) })
            let k = round + communicator.rank
            guard k < count, !skip.contains(k), estimateFailure == nil else { continue }
            // Rank-local: the failure is agreed on after the rounds, which every rank runs alike.
            switch communicator.local({ () throws(SparrowError) in estimatedCost(try load(k)) }) {
            case let .success(cost): estimates[k] = cost
            case let .failure(error): estimateFailure = error
            }
        }
        _ = try communicator.agree(estimateFailure.map { Result<Int, SparrowError>.failure($0) } ?? .success(0))
        report.time("analyze", System.now() - analyzeStart)
        var costs = estimates
        communicator.allreduceSumInPlace(&costs)
        let owner = assign(costs: costs, ranks: communicator.size)
        try deliver((0..<count).filter { !skip.contains($0) }.map { (item: $0, rank: owner[$0]) })
        var results: [ItemResult] = []
        var done = 0
        for k in 0..<count where owner[k] == communicator.rank && !skip.contains(k) {
            // Rank-local: ranks own different numbers of items, so nothing in here may be a collective.
            let outcome = communicator.local { () throws(SparrowError) -> ItemResult in
                try beforeItem() // a time limit, checked between items on this rank alone
                let start = System.now()
                let a = try load(k)
                let b = try rightHandSide(a)
                let solver = try DirectSolver(a, method: method, ordering: ordering)
                let x = try solver.solve(b)
                let item = ItemResult(name: names[k], method: solver.method, note: solver.note,
                                      residual: solver.relativeResidual(x, b), seconds: System.now() - start,
                                      rank: communicator.rank, factorNonzeros: solver.factorNonzeros,
                                      reciprocalCondition: solver.reciprocalCondition ?? .nan, solution: x)
                try completed(item)
                return item
            }
            switch outcome {
            case let .success(item): results.append(item)
            case let .failure(error):
                // Remember the first failure; the agreement below makes every rank stop alike.
                return try communicator.agree(Result<[ItemResult]?, SparrowError>.failure(prefixed(error, names[k])))
            }
            done += 1
            progress.update(done, of: owner.filter { $0 == communicator.rank }.count)
        }
        _ = try communicator.agree(Result<Int, SparrowError>.success(0))
        if !gatherSolutions { for k in results.indices { results[k].solution = DenseMatrix(rows: 0, columns: 0) } }
        return try gatherResults(results, communicator: communicator)
    }

    private static func prefixed(_ error: SparrowError, _ name: String) -> SparrowError {
        switch error {
        case let .computation(message): return .computation("\(name): \(message)")
        case let .usage(message): return .usage("\(name): \(message)")
        default: return error
        }
    }

    /// Moves item results to rank 0 as flat arrays (MPI moves numbers, not structs).
    private static func gatherResults(_ results: [ItemResult], communicator: Communicator) throws(SparrowError) -> [ItemResult]? {
        let methods = SolveMethod.allCases
        var numbers: [Double] = []
        var values: [Double] = []
        var text: [UInt8] = []
        // Names and notes travel as bytes with their lengths among the numbers,
        // so any character in a name (separators included) arrives intact.
        for r in results {
            let name = Array(r.name.utf8), note = Array(r.note.utf8)
            numbers += [Double(methods.firstIndex(of: r.method) ?? 0), r.residual, r.seconds, Double(r.rank), Double(r.factorNonzeros),
                        Double(r.solution.rows), Double(r.solution.columns), Double(name.count), Double(note.count), r.reciprocalCondition]
            values += r.solution.values
            text += name + note
        }
        let allNumbers = try communicator.gatherv(numbers)
        let allValues = try communicator.gatherv(values)
        let allText = try communicator.gatherv(text)
        guard let allNumbers, let allValues, let allText else { return nil }
        var gathered: [ItemResult] = []
        let fieldsPerItem = 10
        for r in 0..<communicator.size {
            var offset = 0, textOffset = 0
            for k in 0..<(allNumbers[r].count / fieldsPerItem) {
                let n = Array(allNumbers[r][(fieldsPerItem * k)..<(fieldsPerItem * k + fieldsPerItem)])
                let count = Int(n[5]) * Int(n[6])
                let nameEnd = textOffset + Int(n[7]), noteEnd = nameEnd + Int(n[8])
                gathered.append(ItemResult(name: String(decoding: allText[r][textOffset..<nameEnd], as: UTF8.self), method: methods[Int(n[0])],
                                           note: String(decoding: allText[r][nameEnd..<noteEnd], as: UTF8.self),
                                           residual: n[1], seconds: n[2], rank: Int(n[3]), factorNonzeros: Int(n[4]),
                                           reciprocalCondition: n[9], solution: DenseMatrix(rows: Int(n[5]), columns: Int(n[6]),
                                                                 values: Array(allValues[r][offset..<(offset + count)]))))
                offset += count
                textOffset = noteEnd
            }
        }
        return gathered
    }
}
