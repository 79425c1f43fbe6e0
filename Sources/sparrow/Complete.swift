import ArgumentParser
import SparrowCore
import SparrowMPI
import SparrowCompletion

struct Complete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "complete",
        abstract: "Low-rank matrix completion by alternating minimization (ALS-WR, robust sketch-preconditioned or inexact row solves).",
        discussion: """
        Input: observed entries as a coordinate .mtx (row, column, value); duplicates and NaN are refused.
        Outputs with -o PREFIX (.mtx, or .petsc with --format petsc): PREFIX.U.mtx (m × k), PREFIX.V.mtx (n × k), PREFIX.user_bias.mtx and
        PREFIX.item_bias.mtx (--biases), PREFIX.test.mtx (--test: predicted values), PREFIX.predictions.mtx
        (--predict), PREFIX.top.mtx (--top N: each row's N best unobserved columns, valued by prediction).
        A prediction is U_i·V_j, plus the global mean and both biases with --biases (mean in the report).

        Examples:
          sparrow complete R.mtx --rank 10 --lambda 0 --sweeps 30 -o fit
          mpirun -n 3 sparrow complete u1.base.mtx --rank 50 --lambda 0.1 --biases --test u1.test.mtx -o ml --report r.json
          sparrow complete R.mtx --rank 64 --method robust --checkpoint ckpt --every 5 -o fit   # later: add --resume
        """)

    @Argument(help: "Observed entries (coordinate .mtx).") var ratings: String
    @Option(parsing: .unconditional, help: "Rank k of the factorization.") var rank: Int
    @Option(parsing: .unconditional, help: "ALS-WR regularization λ (each row's ridge is λ·its observations).") var lambda: Double = 0.1
    @Option(parsing: .unconditional, help: "Sweeps (each solves every row of U, then of V).") var sweeps: Int = 10
    @Option(parsing: .unconditional, help: "als (exact row solves), robust (sketch-preconditioned CG to --row-accuracy per row) or inexact (--inner-iterations CG steps per row).") var method: String = "als"
    @Flag(help: "Model a global mean and row and column biases.") var biases = false
    @Option(parsing: .unconditional, help: "spectral (top-k SVD of the rescaled observations) or random.") var `init`: String = "spectral"
    @Option(parsing: .unconditional, help: "Random seed (initialization, sketches).") var seed: UInt64 = 1
    @Option(name: .customLong("inner-iterations"), parsing: .unconditional, help: "CG steps per row and half-sweep (inexact; default 3).") var innerIterations: Int?
    @Option(name: .customLong("row-accuracy"), parsing: .unconditional, help: "ε: each row's objective within 1/(1 − ε) of its minimum (robust; default 1e-6).") var rowAccuracy: Double?
    @Option(name: .customLong("sketch-ratio"), parsing: .unconditional, help: "Sketch rows per unknown (robust; default 4).") var sketchRatio: Int?
    @Option(parsing: .unconditional, help: "Held-out entries (coordinate .mtx): RMSE per sweep, predictions to PREFIX.test.mtx.") var test: String?
    @Option(parsing: .unconditional, help: "Pairs to predict (coordinate .mtx; values ignored): PREFIX.predictions.mtx.") var predict: String?
    @Option(parsing: .unconditional, help: "Write each row's N best unobserved columns to PREFIX.top.mtx.") var top: Int?
    @Option(parsing: .unconditional, help: "Directory for checkpoints of U and V.") var checkpoint: String?
    @Option(parsing: .unconditional, help: "Sweeps between checkpoints.") var every: Int = 1
    @Flag(help: "Continue from the checkpoint in --checkpoint DIR.") var resume = false
    @Option(name: .short, parsing: .unconditional, help: "Output prefix.") var output: String?
    @Option(name: .customLong("format"), parsing: .unconditional, help: "Format of the PREFIX.* outputs: mtx (Matrix Market) or petsc (PETSc binary).") var outputFormat: String = "mtx"
    @OptionGroup var common: CommonOptions

    func parameters(threads: Int) throws(SparrowError) -> CompletionParameters {
        var p = CompletionParameters(rank: rank)
        p.lambda = lambda
        p.sweeps = sweeps
        p.biases = biases
        p.seed = seed
        p.threads = threads
        guard let m = CompletionParameters.Method(rawValue: method) else {
            throw .field(name: "--method", message: "expected als, robust or inexact, got '\(method)'")
        }
        p.method = m
        guard let i = CompletionParameters.Initialization(rawValue: `init`) else {
            throw .field(name: "--init", message: "expected spectral or random, got '\(`init`)'")
        }
        p.initialization = i
        if m != .inexact, innerIterations != nil { throw .usage("--inner-iterations applies to --method inexact only") }
        if m != .robust, rowAccuracy != nil || sketchRatio != nil {
            throw .usage("--row-accuracy and --sketch-ratio apply to --method robust only")
        }
        if let innerIterations { p.innerIterations = innerIterations }
        if let rowAccuracy { p.rowAccuracy = rowAccuracy }
        if let sketchRatio { p.sketchRatio = sketchRatio }
        try p.validate(.flags)
        _ = try NumericOption.every.checked(every, .flags)
        if let top { _ = try CompletionParameters.Options.top.checked(top, .flags) }
        if resume, checkpoint == nil { throw .usage("--resume needs --checkpoint DIR") }
        if output == nil, predict != nil || top != nil { throw .usage("--predict and --top write files: give -o PREFIX") }
        _ = try MatrixOutputFormat.parse(outputFormat)
        return p
    }

    func run() throws {
        let comm = Runtime.communicator!
        try common.validateThreads()
        var parameters = try parameters(threads: common.threadCount)
        let start = System.now()
        var report = newReport("complete", common, comm)
        report.inputFiles([("ratings", ratings), ("test", test), ("predict", predict)])
        let data = try report.measure("read") { () throws(SparrowError) in
            try RatingsFile.load(ratings, threads: common.threadCount, communicator: comm)
        }
        // Everything that can be refused is checked before the fit: the rank against the shape,
        // memory, the --top lists and the --predict pairs.
        try comm.everywhere { () throws(SparrowError) in
            try parameters.validate(users: data.users, items: data.items, .flags)
            try MemoryBudget.check(parameters.estimatedBytes(ownedUsers: data.byUser.local.rows, ownedItems: data.byItem.local.rows,
                                                             partnerRows: data.receivedRows, longestRow: data.longestRow),
                                   for: "rank-\(parameters.rank) factors of a \(data.users) × \(data.items) matrix") { .field(name: "--rank", message: $0) }
            if let top { try TopRecommendations.check(count: top, ratings: data, parameters: parameters, naming: .flags) }
        }
        parameters.threads = common.threadCount
        let model = AlternatingMinimization(ratings: data, parameters: parameters)
        if let test {
            let matrix = try report.measure("read") { () throws(SparrowError) in try loadPairs(test, comm) }
            model.test = try PairSet(matrix, source: test, sizeLine: sizeLine(test), ratings: data, communicator: comm)
        }
        let predictions = try predict.map { (path: String) throws(SparrowError) in
            try PairSet(try loadPairs(path, comm), source: path, sizeLine: sizeLine(path), ratings: data, communicator: comm)
        }
        var store = try checkpoint.map { (directory: String) throws(SparrowError) -> CompletionCheckpoint in
            _ = try comm.onRoot { () throws(SparrowError) in
                if !System.isDirectory(directory) { try System.makeDirectories(directory) }
            }
            return CompletionCheckpoint(directory: directory)
        }
        store?.prepare(data, communicator: comm)
        var resumedAt = 0
        if resume, let store {
            try store.restore(model, communicator: comm)
            resumedAt = model.completedSweeps
        } else {
            try model.initialize(communicator: comm)
            report.time("init", model.statistics.initializationSeconds)
        }
        let progress = comm.isRoot && !common.quiet
        let sweepStart = System.now()
        // With a checkpoint, SIGTERM/SIGINT end the run after the current sweep, recorded.
        try ProcessSignals.deferringStops(if: store != nil) { () throws(SparrowError) in
            try model.run(checkpoint: store, every: every, communicator: comm) { (record: SweepRecord) throws(SparrowError) in
                if progress { System.printError(AlternatingMinimization.describe(record, of: parameters.sweeps)) }
            }
        }
        report.time("sweeps", System.now() - sweepStart)
        if let output { try writeOutputs(model, predictions, prefix: output, &report, comm) }
        let stats = model.statistics
        report.metric("users", data.users)
        report.metric("items", data.items)
        report.metric("observed", data.observed)
        report.metric("rank", parameters.rank)
        report.metric("lambda", .number(parameters.lambda))
        report.metric("method", .string(parameters.method.rawValue))
        report.metric("biases", .bool(parameters.biases))
        report.metric("global_mean", .number(model.offset))
        report.metric("sweeps", model.completedSweeps)
        report.metric("resumed_at_sweep", resumedAt)
        if let last = stats.history.last {
            report.metric("train_rmse", .number(last.trainRMSE))
            if let t = last.testRMSE { report.metric("test_rmse", .number(t)) }
        }
        switch parameters.method {
        case .als: break
        case .inexact: report.metric("inner_iterations", parameters.innerIterations)
        case .robust:
            report.metric("row_accuracy", .number(parameters.rowAccuracy))
            report.metric("sketch_rows", parameters.sketchRows)
            report.metric("sketched_rows", stats.sketchedRows)
            report.metric("unconverged_rows", stats.unconvergedRows)
            if stats.unconvergedRows > 0 {
                report.warn("\(stats.unconvergedRows) rows stopped at \(CompletionParameters.robustStepLimit) CG steps before --row-accuracy (last sweep)")
            }
        }
        report.metric("ridged_rows", stats.ridgedRows)
        report.metric("empty_rows", stats.emptyRows)
        if stats.ridgedRows > 0 {
            report.warn("\(stats.ridgedRows) rows had singular normal equations (fewer observations than unknowns with λ = 0); a ridge of 1e-10 of their scale was added")
        }
        report.history = stats.history.map(Self.historyEntry)
        report.time("exchange", stats.exchangeSeconds)
        report.time("solve", stats.solveSeconds)
        report.time("user_rows", comm.allreduce(stats.userRowSeconds, .max))
        report.time("item_rows", comm.allreduce(stats.itemRowSeconds, .max))
        report.perRank = comm.perRankReport([("users", Double(data.byUser.local.rows)), ("items", Double(data.byItem.local.rows)),
                                             ("observed_by_user", Double(data.byUser.local.nonzeros)),
                                             ("bytes_received", Double(comm.bytesReceived))])
        report.time("communication", comm.communicationSeconds)
        report.time("total", System.now() - start)
        common.printWarnings(report, comm)
        try common.write(report, comm)
    }

    static func historyEntry(_ r: SweepRecord) -> [(String, JSONValue)] {
        [("sweep", .integer(r.sweep)), ("seconds", .number(r.seconds)), ("train_rmse", .number(r.trainRMSE))]
            + (r.testRMSE.map { [("test_rmse", JSONValue.number($0))] } ?? [])
            + (r.meanInnerIterations > 0 ? [("cg_steps_per_row", .number(r.meanInnerIterations))] : [])
    }

    /// The size line of a Matrix Market file (after its banner and comments), for shape messages.
    private func sizeLine(_ path: String) -> Int? {
        (try? MatrixMarket.readHeader(path: path)).map { $0.dataLine - 1 }
    }

    private func loadPairs(_ path: String, _ comm: Communicator) throws(SparrowError) -> DistributedCSR {
        var options = DistributedLoader.Options()
        options.threads = common.threadCount
        return try DistributedLoader.load(path: path, options: options, communicator: comm)
    }

    /// Every output under a temporary name, renamed together when all were written.
    private func writeOutputs(_ model: AlternatingMinimization, _ predictions: PairSet?, prefix: String, _ report: inout Report,
                              _ comm: Communicator) throws(SparrowError) {
        let writeStart = System.now()
        _ = try comm.onRoot { () throws(SparrowError) in
            let directory = prefix.lastIndex(of: "/").map { String(prefix[..<$0]) } ?? "."
            if !directory.isEmpty, !System.isDirectory(directory) { try System.makeDirectories(directory) }
        }
        let outputs = OutputSet()
        let ext = try MatrixOutputFormat.parse(outputFormat).suffix
        // Each rank writes its own rows of the factors.
        let factors = CompletionFactors(model)
        try factors.users.write(to: prefix + ".U" + ext, into: outputs, communicator: comm)
        try factors.items.write(to: prefix + ".V" + ext, into: outputs, communicator: comm)
        if let b = factors.userBiases { try b.write(to: prefix + ".user_bias" + ext, into: outputs, communicator: comm) }
        if let b = factors.itemBiases { try b.write(to: prefix + ".item_bias" + ext, into: outputs, communicator: comm) }
        if let testSet = model.test { try writeSparse(try testSet.predictedMatrix(model, communicator: comm), prefix + ".test" + ext, outputs, comm) }
        if let predictions {
            try writeSparse(try predictions.predictedMatrix(model, communicator: comm), prefix + ".predictions" + ext, outputs, comm)
        }
        if let top {
            try writeSparse(try TopRecommendations.compute(model, count: top, communicator: comm), prefix + ".top" + ext, outputs, comm)
        }
        try comm.commit(outputs)
        report.time("write", System.now() - writeStart)
    }

    private func writeSparse(_ matrix: DistributedCSR, _ path: String, _ outputs: OutputSet, _ comm: Communicator) throws(SparrowError) {
        try matrix.write(to: path, threads: common.threadCount, into: outputs, communicator: comm)
    }
}
