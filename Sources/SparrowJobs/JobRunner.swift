import SparrowCore
import SparrowMPI

/// Runs a validated plan on every rank: schedules and records, nothing more.
/// Inputs are loaded or generated distributed, each step runs through its
/// capability's adapter in `Steps/` against a `StepContext`, and each named
/// output is written as soon as its value exists (`JobOutputWriter`) under a
/// temporary name; all are renamed into place together when the last step
/// has finished, so a failed job leaves no output. Long steps record progress
/// in a `JobCheckpoint` and skip work already recorded there when resumed.
public final class JobRunner {
    public let plan: JobPlan
    private let communicator: Communicator
    private let threads: Int
    private let showProgress: Bool
    private let checkpoint: JobCheckpoint?
    private let values: JobValueStore
    public private(set) var report: Report

    public init(plan: JobPlan, communicator: Communicator, threads: Int, showProgress: Bool, checkpoint: JobCheckpoint? = nil) {
        self.plan = plan
        self.communicator = communicator
        self.threads = plan.defaults.threads ?? threads
        self.showProgress = showProgress && communicator.isRoot
        self.checkpoint = checkpoint
        values = JobValueStore(communicator: communicator)
        report = Report(command: "run", ranks: communicator.size, threads: plan.defaults.threads ?? threads)
        report.inputFiles([("job", plan.file)])
        // The job's own options: every step's keys after defaults, and the seeds among them.
        let planJSON = ReflectedJSON.value(plan)
        report.provenanceDetails = [("job", planJSON), ("seeds", .object(ReflectedJSON.collect("seed", in: planJSON)))]
    }

    /// Thrown between steps when a stop was requested (SIGTERM, SIGINT): the job can be resumed.
    static func interrupted(_ signal: Int32, _ where_: String) -> SparrowError {
        .stopped(by: signal, "\(where_); the job can resume from its checkpoint")
    }

    public func run() throws(SparrowError) {
        let receivedBefore = communicator.bytesReceived
        let limits = JobLimits(started: System.now(), timeLimitSeconds: plan.defaults.timeLimitSeconds)
        let outputs = OutputSet()
        let writer = JobOutputWriter(outputs: plan.outputs, outputDirectory: plan.defaults.outputDirectory,
                                     communicator: communicator, threads: threads, staging: outputs)
        let context = StepContext(communicator: communicator, threads: threads, values: values, checkpoint: checkpoint, limits: limits,
                                  showProgress: showProgress, warn: { [unowned self] in warn($0) })
        try writer.makeDirectories()
        // Hashed (on rank 0, for the provenance) while the loaders read them, with the rights they are read with.
        report.inputFiles(plan.inputs.map { input in
            if case let .file(path) = input.source { return ("inputs.\(input.name)", path) }
            return ("inputs.\(input.name)", nil)
        })
        for input in plan.inputs {
            try limits.check("before input \(input.name)", communicator: communicator)
            let value: DistributedCSR = try report.measure("input:\(input.name)") { () throws(SparrowError) in
                switch input.source {
                case let .file(path):
                    var options = DistributedLoader.Options()
                    options.threads = threads
                    return try DistributedLoader.load(path: path, options: options, communicator: communicator)
                case let .generator(spec):
                    return try DistributedGenerator.generate(spec, field: "inputs.\(input.name).generate", communicator: communicator)
                }
            }
            try store(input.name, .sparse(value), writer)
        }
        for (index, step) in plan.steps.enumerated() {
            let stop = communicator.agreedStop()
            if stop != 0 { throw Self.interrupted(stop, "before step \(step.name)") }
            try limits.check("before step \(step.name)", communicator: communicator)
            if showProgress {
                let tenths = Int(limits.elapsed * 10)
                System.printError("[\(index + 1)/\(plan.steps.count)] \(step.name) (\(step.operation.kind)) \(tenths / 10).\(tenths % 10)s")
            }
            let start = System.now()
            let (value, metrics) = try execute(step, context)
            let seconds = communicator.allreduce(System.now() - start, .max)
            report.time("step:\(step.name)", seconds)
            report.history.append([("step", .string(step.name)), ("op", .string(step.operation.kind)), ("seconds", .number(seconds))] + metrics)
            try store(step.name, value, writer)
        }
        // Every output was written: all appear at once.
        let renameStart = System.now()
        try communicator.commit(outputs)
        report.time("write", System.now() - renameStart)
        report.metric("steps", plan.steps.count)
        report.metric("outputs", plan.outputs.count)
        report.time("total", limits.elapsed)
        // What each rank received during this job (the service's communicator outlives its jobs).
        report.perRank = communicator.perRankReport([("bytes_received", Double(communicator.bytesReceived - receivedBefore))])
    }

    /// Every step, by its capability's adapter. All are collective: every rank runs the same step.
    private func execute(_ step: JobPlan.Step, _ context: StepContext) throws(SparrowError) -> StepResult {
        FaultInjection.beforeStep(step.name)
        switch step.operation {
        case let .generate(spec): return try MatrixSteps.generate(spec, context)
        case let .info(name): return try MatrixSteps.info(name, context)
        case let .transpose(name): return try MatrixSteps.transpose(name, context)
        case let .scale(name, alpha): return try MatrixSteps.scale(name, alpha, context)
        case let .add(a, b, alpha, beta): return try MatrixSteps.add(a, b, alpha, beta, step: step.name, context)
        case let .spgemm(a, b, transposeA, transposeB, sorted, heavy, balance):
            return try SpGEMMStep.run(a: a, b: b, transposeA: transposeA, transposeB: transposeB, sorted: sorted,
                                      heavyThreshold: heavy, balance: balance, context)
        case let .solve(name, rhs, method, ordering):
            return try SolveSteps.solve(name, rhs: rhs, method: method, ordering: ordering, step: step.name, context)
        case let .solveMany(names, rhs, method, ordering):
            return try SolveSteps.solveMany(names, rhs: rhs, method: method, ordering: ordering, step: step.name, context)
        case let .pcg(name, rhs, preconditioner, tolerance, maximumIterations):
            return try PCGStep.run(name, rhs: rhs, preconditioner: preconditioner, tolerance: tolerance,
                                   maximumIterations: maximumIterations, step: step.name, context)
        case let .complete(spec):
            return try CompleteStep.run(spec, step: step.name, context)
        case let .transport(spec):
            return try TransportStep.run(spec, step: step.name, context)
        case let .sparsify(spec):
            return try SparsifyStep.run(spec, step: step.name, context)
        }
    }

    /// Keeps a value and writes every output that names it.
    private func store(_ name: String, _ value: JobValue, _ writer: JobOutputWriter) throws(SparrowError) {
        if case let .group(figures, parts) = value {
            for (part, partValue) in parts { try store(name + "." + part, partValue, writer) }
            return try store(name, .metrics(figures), writer)
        }
        values[name] = value
        report.time("write", try writer.write(name, value))
    }

    /// A warning for the job's report, printed on rank 0 as it happens.
    private func warn(_ message: String) {
        report.warn(message)
        if communicator.isRoot { System.printError("sparrow: warning: \(message)") }
    }
}
