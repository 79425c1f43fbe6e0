import ArgumentParser
import SparrowCore
import SparrowFactor
import SparrowMPI
import SparrowSparsify

struct Solve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Solve A X = B by Cholesky (CHOLMOD), LU (UMFPACK), QR least squares (SPQR) or PCG; batches over ranks.",
        discussion: """
        Examples:
          sparrow solve bcsstk13.mtx --rhs random:64 --method cholesky -o X.mtx --report r.json
          mpirun -n 3 sparrow solve bayer10.mtx --rhs ones --method auto -o x.mtx
          sparrow solve ash219.mtx --rhs ones --method qr -o x.mtx
          sparrow solve lap.mtx --method pcg --preconditioner band:40 --tol 1e-10 -o x.mtx
          sparrow solve L.mtx --method pcg --preconditioner sparsifier:1.1 --rhs random:1 --tol 1e-8 -o x.mtx
          sparrow solve L.mtx --method pcg --checkpoint ckpt --every 50 -o x.mtx   # after SIGTERM or a crash: add --resume
          mpirun -n 2 sparrow solve --many A1.mtx A2.mtx A3.mtx --rhs ones --method auto -o results/
        """)

    @Argument(help: "Matrix A (or, with --many, several matrices).") var matrices: [String]
    @Flag(help: "Solve each matrix given (a batch), writing DIR/NAME.x.mtx for each.") var many = false
    @Option(parsing: .unconditional, help: "Right-hand sides: ones, rowsums (A·1, so x = 1), random:K, or an array .mtx file.") var rhs: String = "ones"
    @Option(parsing: .unconditional, help: "cholesky, lu, qr, auto or pcg.") var method: String = "auto"
    @Option(parsing: .unconditional, help: "Fill-reducing ordering: amd, metis or natural (direct solves and factor preconditioners).") var ordering: String?
    @Option(name: .customLong("preconditioner"), parsing: .unconditional,
            help: "PCG preconditioner: none, jacobi (default), cholesky, sampled:KEEP (Cholesky of a copy keeping a uniformly sampled fraction KEEP of the off-diagonals), band:WIDTH, or sparsifier[:DENSITY] (graph Laplacians and SDDM matrices: CHOLMOD factor of a spectral sparsifier).")
    var preconditionerOption: String?
    var preconditioner: String { preconditionerOption ?? "jacobi" }
    var preconditionerGiven: Bool { preconditionerOption != nil }
    @Option(name: .customLong("tol"), parsing: .unconditional, help: "PCG relative residual tolerance (default 1e-10).") var tolOption: Double?
    @Option(name: .customLong("max-iterations"), parsing: .unconditional, help: "PCG iteration limit (default 1000).") var maxIterationsOption: Int?
    var tol: Double { tolOption ?? 1e-10 }
    var maxIterations: Int { maxIterationsOption ?? 1000 }
    @Option(name: .short, parsing: .unconditional, help: "Output X (array .mtx, or PETSc binary .petsc), or a directory with --many.") var output: String?
    @Option(name: .customLong("format"), parsing: .unconditional, help: "With --many: format of DIR/NAME.x.* (mtx or petsc).") var outputFormat: String = "mtx"
    @Option(parsing: .unconditional, help: "PCG: directory for a checkpoint of the iterate (one right-hand side).") var checkpoint: String?
    @Option(parsing: .unconditional, help: "PCG: iterations between checkpoints.") var every: Int = 10
    @Flag(help: "PCG: continue from the iterate in --checkpoint DIR (at any rank count).") var resume = false
    @OptionGroup var common: CommonOptions

    func run() throws {
        let comm = Runtime.communicator!
        try common.validateThreads()
        guard let order = CholeskyFactorization.Ordering(rawValue: ordering ?? "amd") else {
            throw SparrowError.field(name: "--ordering", message: "expected amd, metis or natural, got '\(ordering ?? "")'")
        }
        // Options either act or are refused: the PCG ones mean nothing to a direct solve.
        for (flag, given) in [("--preconditioner", preconditionerGiven), ("--tol", tolOption != nil), ("--max-iterations", maxIterationsOption != nil)]
        where given && method != "pcg" {
            throw SparrowError.field(name: flag, message: "applies to --method pcg only")
        }
        if method == "pcg", ordering != nil, preconditioner == "none" || preconditioner == "jacobi" {
            throw SparrowError.field(name: "--ordering", message: "has no effect with --method pcg and the \(preconditioner) preconditioner (it orders factorizations)")
        }
        if method == "pcg" { try pcgSettings(columns: 1).validate(.flags) }
        for (flag, given) in [("--checkpoint", checkpoint != nil), ("--every", every != 10), ("--resume", resume)] where given && method != "pcg" {
            throw SparrowError.field(name: flag, message: "applies to --method pcg only")
        }
        _ = try NumericOption.every.checked(every, .flags)
        if resume, checkpoint == nil { throw SparrowError.usage("--resume needs --checkpoint DIR") }
        if many {
            guard let method = SolveMethod(rawValue: method) else {
                throw SparrowError.field(name: "--method", message: "with --many: expected cholesky, lu, qr or auto, got '\(self.method)'")
            }
            try solveMany(comm, method: method, ordering: order)
            return
        }
        guard matrices.count == 1 else {
            throw SparrowError.usage("give one matrix, or --many for a batch (got \(matrices.count))")
        }
        if method == "pcg" {
            try solvePCG(comm, ordering: order)
            return
        }
        guard let method = SolveMethod(rawValue: method) else {
            throw SparrowError.field(name: "--method", message: "expected cholesky, lu, qr, auto or pcg, got '\(self.method)'")
        }
        let start = System.now()
        var report = newReport("solve", common, comm)
        report.inputFiles([("a", matrices[0]), ("rhs", rhs)])
        let (a, b) = try readProblem(comm, &report)
        let solved = try BatchSolve.manyRightHandSides(a, b, method: method, ordering: order, communicator: comm, report: &report)
        let (used, residual) = (solved.method, solved.residual)
        if let output {
            try report.measure("write") { () throws(SparrowError) in
                _ = try comm.onRoot { () throws(SparrowError) in try MatrixMarket.write(solved.solution!, to: output) }
            }
        }
        report.metric("method", .string(used.rawValue))
        report.metric("relative_residual", residual)
        report.metric("right_hand_sides", b.columns)
        report.metric("factor_nnz", solved.factorNonzeros)
        report.metric("reciprocal_condition", solved.reciprocalCondition.map { JSONValue.number($0) } ?? .null)
        report.perRank = comm.perRankReport([("columns", Double(BatchSolve.columnShare(columns: b.columns, ranks: comm.size, rank: comm.rank).count)),
                                             ("bytes_received", Double(comm.bytesReceived))])
        report.time("total", System.now() - start)
        common.printWarnings(report, comm)
        if comm.isRoot, !common.quiet {
            System.printError("sparrow: solved \(b.columns) right-hand side(s) by \(used.rawValue): relative residual \(residual)")
        }
        try common.write(report, comm)
    }

    /// A and B, read on every rank (each rank needs the whole matrix to factor it).
    private func readProblem(_ comm: Communicator, _ report: inout Report) throws(SparrowError) -> (CSRMatrix, DenseMatrix) {
        try comm.everywhere { () throws(SparrowError) in
            try report.measure("read") { () throws(SparrowError) in
                let a = try MatrixMarket.readCSR(path: matrices[0], threads: common.threadCount)
                return (a, try DenseSpec.parse(rhs, for: a, field: "--rhs", threads: common.threadCount))
            }
        }
    }

    /// The PCG driver as the flags set it (checked by `validate` before anything is read).
    private func pcgSettings(columns: Int) -> DistributedPCG {
        var pcg = DistributedPCG()
        pcg.tolerance = tol
        pcg.maximumIterations = maxIterations
        // Several right-hand sides amortize a denser sparsifier: fewer iterations for each of them.
        pcg.preconditioner = preconditioner == "sparsifier" && columns > 1
            ? "sparsifier:\(SparsifierPreconditioner.defaultDensityForSeveralRightHandSides)" : preconditioner
        pcg.plugins = [SparsifierPreconditioner.plugin]
        return pcg
    }

    private func solvePCG(_ comm: Communicator, ordering: CholeskyFactorization.Ordering) throws {
        let start = System.now()
        var report = newReport("solve", common, comm)
        report.inputFiles([("a", matrices[0]), ("rhs", rhs)])
        // PCG runs distributed: A by rows, vectors by the same partition.
        let distributed = try report.measure("read") { () throws(SparrowError) in
            try DistributedLoader.load(path: matrices[0], options: { var o = DistributedLoader.Options(); o.threads = common.threadCount; return o }(),
                                       communicator: comm)
        }
        // Several columns (random:K or a K-column file) reuse one preconditioner, solved one after another.
        let columns = try DistributedPCG.ownedRightHandSides(rhs, for: distributed, field: "--rhs", communicator: comm)
        var pcg = pcgSettings(columns: columns.count)
        pcg.ordering = ordering
        let progress = common.progress("pcg", comm)
        var history: [[(String, JSONValue)]] = []
        let (store, resumed) = try pcgCheckpoint(distributed, columns, comm)
        let startIteration = resumed?.iteration ?? 0
        let solveStart = System.now()
        // With a checkpoint, SIGTERM/SIGINT end the solve at the next iteration, recorded.
        let results = try ProcessSignals.deferringStops(if: store != nil) { () throws(SparrowError) in
            try pcg.solve(distributed, rightHandSides: columns, initialGuess: resumed?.x, communicator: comm) {
                (column, k, relative, x) throws(SparrowError) in
                history.append((columns.count > 1 ? [("column", JSONValue.integer(column + 1))] : [])
                               + [("iteration", .integer(startIteration + k)), ("relative_residual", .number(relative))])
                progress.update(startIteration + k, of: 0, detail: (columns.count > 1 ? "column \(column + 1), " : "") + "residual \(relative)")
                guard let store, k > 0 else { return }
                let stop = comm.agreedStop()
                if stop != 0 || (startIteration + k) % every == 0 {
                    let iterate = DistributedDense(local: DenseMatrix(rows: x.count, columns: 1, values: x), partition: distributed.partition, rank: comm.rank)
                    try store.record(iteration: startIteration + k, x: iterate, communicator: comm)
                }
                if stop != 0 { throw .stopped(by: stop, "at iteration \(startIteration + k); checkpoint \(store.path) (continue with --resume)") }
            }
        }
        let setup = results.first?.setupSeconds ?? 0
        report.time("preconditioner", setup)
        report.time("solve", System.now() - solveStart - setup)
        progress.finish()
        let converged = results.allSatisfy(\.converged)
        let worst = results.map(\.finalRelativeResidual).max() ?? 0
        // A solve that did not converge writes its report (with the history) but no solution.
        if let output, converged {
            // The solution stays distributed: each rank writes its rows of every column.
            try report.measure("write") { () throws(SparrowError) in
                try ParallelOutput.writeArray(owned: results.flatMap(\.solution), ownedRows: distributed.local.rows,
                                              globalRows: distributed.globalRows, columns: columns.count,
                                              path: output, communicator: comm)
            }
        }
        report.history = history
        for result in results { for warning in result.warnings { report.warn(warning) } }
        common.printWarnings(report, comm)
        report.metric("method", .string("pcg"))
        report.metric("preconditioner", .string(pcg.preconditioner))
        report.metric("iterations", results.map(\.iterations).reduce(0, +))
        if results.count > 1 {
            report.metric("right_hand_sides", results.count)
            report.metric("iterations_per_column", .array(results.map { .integer($0.iterations) }))
        }
        report.metric("converged", .bool(converged))
        if checkpoint != nil { report.metric("resumed_at_iteration", startIteration) }
        report.metric("relative_residual", worst)
        report.time("communication", comm.communicationSeconds)
        report.time("total", System.now() - start)
        report.perRank = comm.perRankReport([("rows", Double(distributed.local.rows)), ("nnz", Double(distributed.local.nonzeros)),
                                             ("bytes_received", Double(comm.bytesReceived))])
        try common.write(report, comm)
        if !converged {
            throw SparrowError.computation("PCG did not converge in \(maxIterations) iterations (relative residual \(worst), tolerance \(tol))")
        }
        if comm.isRoot, !common.quiet {
            System.printError("sparrow: PCG converged in \(results.map(\.iterations).reduce(0, +)) iterations\(results.count > 1 ? " over \(results.count) right-hand sides" : ""): relative residual \(worst)")
        }
    }

    /// The PCG checkpoint of --checkpoint and, with --resume, the iterate it holds (collective).
    private func pcgCheckpoint(_ a: DistributedCSR, _ columns: [[Double]],
                               _ comm: Communicator) throws(SparrowError) -> (PCGCheckpoint?, (iteration: Int, x: [Double])?) {
        guard let checkpoint else { return (nil, nil) }
        guard columns.count == 1 else { throw SparrowError.field(name: "--checkpoint", message: "applies to one right-hand side (--rhs gives \(columns.count))") }
        _ = try comm.onRoot { () throws(SparrowError) in
            if !System.isDirectory(checkpoint) { try System.makeDirectories(checkpoint) }
        }
        var store = PCGCheckpoint(path: checkpoint + "/pcg.x.mtx")
        store.prepare(a, rightHandSide: columns[0], communicator: comm)
        guard resume else { return (store, nil) }
        switch store.read(rows: a.globalRows, owned: a.ownedRows, communicator: comm) {
        case .absent: throw SparrowError.input(file: store.path, line: nil, message: "no checkpoint to resume from (run without --resume first)")
        case let .unusable(error): throw error
        case let .found(iteration, x): return (store, (iteration, x))
        }
    }

    private func solveMany(_ comm: Communicator, method: SolveMethod, ordering: CholeskyFactorization.Ordering) throws {
        guard !matrices.isEmpty else { throw SparrowError.usage("--many needs at least one matrix") }
        guard let output else { throw SparrowError.usage("--many needs -o DIRECTORY for the solutions") }
        let ext = try MatrixOutputFormat.parse(outputFormat).suffix
        // Only rank 0 writes, so only rank 0 looks at (or makes) the directory; a trailing '/' asks for it to be made.
        _ = try comm.onRoot { () throws(SparrowError) in
            if output.hasSuffix("/"), !System.isDirectory(output) { try System.makeDirectories(output) }
            guard System.isDirectory(output) else {
                throw SparrowError.output(path: output, message: "is not a directory (end it with '/' to have it created)")
            }
        }
        let start = System.now()
        var report = newReport("solve", common, comm)
        report.inputFiles(matrices.enumerated().map { ("a\($0.offset + 1)", $0.element) } + [("rhs", rhs)])
        let names = BatchNames.unique(matrices)
        let progress = common.progress("solve --many", comm)
        // Each solution is written by the rank that solved it (the directory is
        // shared, as for every parallel output), so no rank holds them all.
        // All or nothing: when any item fails, every rank removes what it wrote.
        var written: [String] = []
        let results: [BatchSolve.ItemResult]?
        do {
            results = try BatchSolve.manyMatrices(
                count: matrices.count, names: names,
                load: { (k) throws(SparrowError) in try MatrixMarket.readCSR(path: matrices[k]) },
                rightHandSide: { (a) throws(SparrowError) in try DenseSpec.parse(rhs, for: a, field: "--rhs") },
                method: method, ordering: ordering, communicator: comm, report: &report, progress: progress, gatherSolutions: false,
                completed: { (item) throws(SparrowError) in
                    let path = output + (output.hasSuffix("/") ? "" : "/") + item.name + ".x" + ext
                    try MatrixMarket.write(item.solution, to: path)
                    written.append(path)
                })
        } catch {
            for path in written { System.removeFile(path) }
            throw error
        }
        progress.finish()
        if let results {
            report.history = results.map { item in
                [("item", .string(item.name)), ("method", .string(item.method.rawValue)), ("relative_residual", .number(item.residual)),
                 ("seconds", .number(item.seconds)), ("rank", .integer(item.rank)), ("factor_nnz", .integer(item.factorNonzeros))]
            }
            report.metric("items", results.count)
            report.metric("max_relative_residual", results.map(\.residual).max() ?? 0)
            for item in results { for warning in item.warnings { report.warn(warning) } }
        }
        common.printWarnings(report, comm)
        report.time("total", System.now() - start)
        try common.write(report, comm)
    }
}

/// Output names for a batch: file stems, made unique with a counter when two collide.
enum BatchNames {
    static func unique(_ paths: [String]) -> [String] {
        var seen: [String: Int] = [:]
        return paths.map { path in
            var stem = String(path.split(separator: "/").last ?? Substring(path))
            for ext in [".mtx", ".petsc"] where stem.hasSuffix(ext) { stem.removeLast(ext.count) }
            let n = seen[stem, default: 0]
            seen[stem] = n + 1
            return n == 0 ? stem : "\(stem)-\(n + 1)"
        }
    }
}
