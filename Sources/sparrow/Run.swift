import ArgumentParser
import SparrowCore
import SparrowJobs
import SparrowMPI

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a YAML job file: named inputs, ordered steps, named outputs (validated before anything runs).",
        discussion: """
        Examples:
          sparrow run docs/examples/spgemm-and-solve.yaml --report run.json
          mpirun -n 2 sparrow run docs/examples/batch-solve.yaml
          sparrow run job.yaml --check        # validate only
        Reference: docs/jobs.md.
        """)

    @Argument(help: "Job file (YAML).") var job: String
    @Flag(help: "Validate the job and exit without computing.") var check = false
    @Option(name: .customLong("output-dir"), parsing: .unconditional, help: "Write outputs here instead of the job's defaults.output_dir.") var outputDirectory: String?
    @OptionGroup var common: CommonOptions

    func run() throws {
        let comm = Runtime.communicator!
        try common.validateThreads()
        let start = System.now()
        // Rank 0 reads the file and broadcasts it: every rank parses the same text into the same plan.
        let bytes = try comm.onRoot { () throws(SparrowError) in try JobParser.readJobFile(job) }
        let text = comm.broadcast(String(decoding: bytes ?? [], as: UTF8.self))
        // Parsing checks input files and memory, which can differ between hosts: agree on the verdict.
        let plan = try comm.everywhere { () throws(SparrowError) in
            try JobParser.parse(text, file: job, outputDirectoryOverride: outputDirectory, ranks: comm.size)
        }
        if check {
            if comm.isRoot { print("\(job): valid (\(plan.inputs.count) inputs, \(plan.steps.count) steps, \(plan.outputs.count) outputs)") }
            return
        }
        let runner = JobRunner(plan: plan, communicator: comm, threads: common.threadCount, showProgress: !common.quiet)
        try runner.run()
        var report = runner.report
        report.time("total", System.now() - start)
        report.time("communication", comm.communicationSeconds)
        try common.write(report, comm)
        if comm.isRoot, !common.quiet {
            System.printError("sparrow: job \(plan.name) done: \(plan.steps.count) steps, \(plan.outputs.count) outputs in \(plan.defaults.outputDirectory)")
            // What each step computed, on standard output (the report has every figure).
            for line in JobSummary.lines(report.history) { print(line) }
        }
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run job files dropped into SPOOL/incoming, one after another, on all ranks.",
        discussion: """
        Each job gets an ID (sequence number and name, e.g. 000042-assemble): it moves to SPOOL/running/ID.yaml,
        then SPOOL/done or SPOOL/failed with ID.report.json and ID.log; outputs go to SPOOL/output/ID/.
        Input files must lie under an --allow-inputs directory (default SPOOL/inputs) and be readable by the
        job file's owner, whose rights the job runs with (docs/jobs.md, "Who can read what"). Several workers
        may serve one spool. SIGTERM finishes or checkpoints the current step and exits 0; a restart resumes the job.
        Example:
          mpirun -n 4 sparrow serve --spool /srv/sparrow --allow-inputs /srv/data
          sparrow supervise -- mpirun -n 4 sparrow serve --spool /srv/sparrow
        """)

    @Option(parsing: .unconditional, help: "Spool directory.") var spool: String
    @Flag(name: .customLong("exit-when-idle"), help: "Exit once no job is waiting (batch use, tests).") var exitWhenIdle = false
    @Option(parsing: .unconditional, help: "Seconds between looks at SPOOL/incoming.") var poll: Double = 0.5
    @Option(name: .customLong("allow-inputs"), help: "A directory job inputs may come from (repeatable; default SPOOL/inputs).")
    var allowInputs: [String] = []
    @OptionGroup var common: CommonOptions

    func run() throws {
        let comm = Runtime.communicator!
        try common.validateThreads()
        // Every job record carries the digests of the job's inputs, with or without --report.
        InputDigests.enabled = comm.isRoot && !InputDigests.declined
        _ = try NumericOption.seconds("poll", upper: 60).checked(poll, .flags)
        let start = System.now()
        let service = SpoolService(spool: spool, communicator: comm, threads: common.threadCount, quiet: common.quiet,
                                   allowedInputDirectories: allowInputs)
        // SIGTERM/SIGINT are acted on between jobs and at checkpoints; a stop is a clean end (exit 0).
        try ProcessSignals.deferringStops { () throws(SparrowError) in
            try service.serve(exitWhenIdle: exitWhenIdle, pollSeconds: poll)
            _ = ProcessSignals.acknowledgeStop()
        }
        // The service's own report: what it ran this time (each job has its own report in done/ or failed/).
        var report = newReport("serve", common, comm)
        report.input("spool", description: spool)
        report.metric("jobs_done", service.finished.filter(\.succeeded).count)
        report.metric("jobs_failed", service.finished.filter { !$0.succeeded }.count)
        report.metric("stopped_by_signal", .bool(service.stoppedBy != 0))
        report.history = service.finished.map { [("job", .string($0.job)), ("status", .string($0.succeeded ? "done" : "failed"))] }
        report.time("total", System.now() - start)
        try common.write(report, comm)
    }
}
