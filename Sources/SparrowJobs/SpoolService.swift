import SparrowCore
import SparrowMPI

/// `sparrow serve --spool DIR`: a long-lived MPI service fed by files (layout
/// and naming rules in `SpoolLayout`).
///
/// Rank 0 picks jobs and broadcasts each choice; all ranks run it. Jobs left
/// in running/ by a crash are resumed first, but a job that has been started
/// twice without finishing (it took the workers down twice) is moved to
/// failed/ instead. A failing or invalid job never stops the service: its
/// error is agreed on by every rank (the failure path of `SparrowMPI`) and
/// recorded. A stop request (SIGTERM) ends the current step or PCG checkpoint
/// interval, leaves the job in running/ with its checkpoint, and exits 0.
/// Input files must lie in the directories the operator allows
/// (`--allow-inputs`, default SPOOL/inputs), so one job cannot read another's outputs.
public final class SpoolService {
    public let layout: SpoolLayout
    private let communicator: Communicator
    private let threads: Int
    private let quiet: Bool
    private let stopRequested: () -> Bool
    private let allowedInputDirectories: [String]
    public private(set) var finished: [(job: String, succeeded: Bool)] = []
    /// Starts after which a job in running/ is failed rather than resumed.
    public static let maximumStarts = 2

    public init(spool: String, communicator: Communicator, threads: Int, quiet: Bool,
                allowedInputDirectories: [String] = [], stopRequested: @escaping () -> Bool) {
        layout = SpoolLayout(root: spool)
        self.communicator = communicator
        self.threads = threads
        self.quiet = quiet
        self.stopRequested = stopRequested
        self.allowedInputDirectories = allowedInputDirectories
    }

    /// Serves until a stop request, or, with `exitWhenIdle`, until no job is left.
    public func serve(exitWhenIdle: Bool, pollSeconds: Double = 0.5) throws(SparrowError) {
        // Rank 0 alone makes the spool; every rank resolves the allowed directories as it sees them
        // (each rank checks inputs when it parses a job).
        _ = try communicator.onRoot { () throws(SparrowError) in try layout.prepare() }
        let allowed = try communicator.everywhere { () throws(SparrowError) -> [String] in
            try (allowedInputDirectories.isEmpty ? [layout.inputs] : allowedInputDirectories).map { (directory) throws(SparrowError) in
                guard let real = System.realPath(directory), System.isDirectory(real) else {
                    throw .field(name: "--allow-inputs", message: "\(directory) is not a directory")
                }
                return real
            }
        }
        while true {
            let choice = communicator.broadcast(communicator.isRoot ? nextChoice(exitWhenIdle: exitWhenIdle) : "")
            if choice.hasPrefix("\u{0}") { return }
            if choice.isEmpty {
                sleepSeconds(pollSeconds)
                continue
            }
            if runOne(choice, allowedInputs: allowed) == .interrupted { return }
        }
    }

    /// Rank 0: the ID of the job to run next ("" to wait, "\0…" to end).
    private func nextChoice(exitWhenIdle: Bool) -> String {
        if stopRequested() { return "\u{0}stop" }
        // A job in running/ was interrupted or crashed the workers: resume it, unless it did so twice.
        for entry in System.listDirectory(layout.running) {
            guard let id = SpoolLayout.jobName(entry) else { continue }
            let starts = layout.startsRecorded(id)
            if starts >= Self.maximumStarts {
                record(id: id, succeeded: false, log: ["job \(id) was started \(starts) times and each time the workers died before it finished; not resumed again"],
                       report: nil, failure: .computation("the job ended the workers \(starts) times; not resumed again"))
                finished.append((id, false))
                continue
            }
            layout.recordStarts(id, starts + 1)
            return id
        }
        for entry in System.listDirectory(layout.incoming) {
            let sequence = layout.nextSequence()
            if let reason = layout.rejection(of: entry) {
                let id = SpoolLayout.id(sequence: sequence, name: "rejected")
                try? System.move(layout.incoming + "/" + entry, to: layout.failed + "/" + id + ".rejected")
                record(id: id, succeeded: false, log: ["rejected incoming/\(entry): \(reason)"], report: nil,
                       failure: .field(name: "job", message: reason), jobFileMoved: true)
                finished.append((id, false))
                continue
            }
            let id = SpoolLayout.id(sequence: sequence, name: SpoolLayout.jobName(entry) ?? "job")
            do {
                try System.move(layout.incoming + "/" + entry, to: layout.running + "/" + id + ".yaml")
            } catch {
                log("cannot take \(entry): \(error)")
                continue
            }
            layout.recordStarts(id, 1)
            return id
        }
        return exitWhenIdle ? "\u{0}idle" : ""
    }

    enum Outcome { case succeeded, failed, interrupted }

    private func runOne(_ id: String, allowedInputs: [String]) -> Outcome {
        let path = layout.running + "/" + id + ".yaml"
        var logLines: [String] = ["job \(id) on \(communicator.size) rank(s)"]
        let checkpointDirectory = layout.checkpoint(id)
        let start = System.now()
        var report: Report?
        var failure: SparrowError?
        do throws(SparrowError) {
            // Rank 0 reads the job and prepares its directories; every rank parses the same text.
            let prepared = try communicator.onRoot { () throws(SparrowError) -> String in
                let bytes = try JobParser.readJobFile(path)
                // A resumed job keeps its real checkpoint directory; anything else there is cleared.
                if System.entryKind(checkpointDirectory) != .directory { try System.makeFreshDirectory(checkpointDirectory) }
                if System.entryKind(layout.output(id)) != .directory { try System.makeFreshDirectory(layout.output(id)) }
                return String(decoding: bytes, as: UTF8.self)
            }
            let text = communicator.broadcast(prepared ?? "")
            let resumedHere = communicator.isRoot && (layout.startsRecorded(id) > 1 || !System.listDirectory(checkpointDirectory).isEmpty)
            let resuming = communicator.broadcast([resumedHere ? 1 : 0])[0] == 1
            if resuming { logLines.append("resuming from checkpoint \(checkpointDirectory)") }
            // Outputs of spooled jobs go to SPOOL/output/ID, never next to the moving job file.
            let plan = try communicator.everywhere { () throws(SparrowError) in
                try JobParser.parse(text, file: path, outputDirectoryOverride: layout.output(id), ranks: communicator.size,
                                    allowedInputDirectories: allowedInputs)
            }
            let checkpoint = JobCheckpoint(existingDirectory: checkpointDirectory)
            let runner = JobRunner(plan: plan, communicator: communicator, threads: threads, showProgress: !quiet,
                                   checkpoint: checkpoint, stopRequested: stopRequested)
            do throws(SparrowError) {
                try runner.run()
            } catch {
                report = runner.report // what ran before the failure, for the failed job's report
                throw error
            }
            report = runner.report
            report?.metric("resumed", .bool(resuming))
        } catch {
            failure = error
        }
        // A failure seen by some ranks only cannot be recorded safely: the job is aborted there
        // (and counted as a start that never finished). One seen by every rank fails the job alone.
        if let failure { _ = communicator.shareFailure(failure) }
        if failure == JobRunner.interrupted {
            if communicator.isRoot {
                layout.recordStarts(id, layout.startsRecorded(id) - 1)
                log("stopped during \(id); it stays in running/ and resumes from its checkpoint")
            }
            return .interrupted
        }
        let succeeded = failure == nil
        if communicator.isRoot {
            logLines.append(succeeded ? "done in \(System.now() - start) s" : "failed after \(System.now() - start) s")
            record(id: id, succeeded: succeeded, log: logLines, report: report, failure: failure)
        }
        finished.append((id, succeeded))
        return succeeded ? .succeeded : .failed
    }

    /// Rank 0: files a finished job under done/ or failed/ and clears its running state.
    private func record(id: String, succeeded: Bool, log lines: [String], report: Report?, failure: SparrowError?,
                        jobFileMoved: Bool = false) {
        let destination = (succeeded ? layout.done : layout.failed) + "/"
        var lines = lines
        if let failure { lines += failure.lines.map { "error: \($0)" } }
        var finalReport = report ?? Report(command: "run", ranks: communicator.size, threads: threads)
        finalReport.inputs = [("job", .string(id))]
        finalReport.metric("status", .string(succeeded ? "done" : "failed"))
        if let failure { finalReport.metric("error", .string(failure.lines.joined(separator: "\n"))) }
        try? finalReport.write(to: destination + id + ".report.json")
        try? AtomicFileWriter.write(lines.joined(separator: "\n") + "\n", to: destination + id + ".log")
        if !jobFileMoved { try? System.move(layout.running + "/" + id + ".yaml", to: destination + id + ".yaml") }
        System.removeFile(layout.attempts(id))
        System.removeTree(layout.checkpoint(id))
        log("\(id): \(succeeded ? "done" : "failed")")
    }

    private func log(_ line: String) {
        if communicator.isRoot, !quiet { System.printError("sparrow serve: \(line)") }
    }
}

func sleepSeconds(_ seconds: Double) {
    let start = System.now()
    while System.now() - start < seconds { _ = System.sleep(milliseconds: 20) }
}
