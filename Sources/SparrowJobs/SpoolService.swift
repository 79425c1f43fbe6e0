import SparrowCore
import SparrowMPI

/// `sparrow serve --spool DIR`: a long-lived MPI service fed by files.
///
///   DIR/incoming/    users drop job files here (written elsewhere, then moved in)
///   DIR/running/     the job being run (moved here first, so a restart finds it)
///   DIR/checkpoints/ per-job state a resumed run skips
///   DIR/done/        finished jobs: NAME.yaml, NAME.report.json, NAME.log
///   DIR/failed/      invalid or failed jobs: the same, the log says why
///   DIR/output/NAME/ the job's outputs (its output_dir is ignored in service mode;
///                    give input files as absolute paths)
///
/// Rank 0 picks jobs (oldest name first) and broadcasts each choice; all ranks
/// run it. A failing or invalid job never stops the service. A stop request
/// (SIGTERM) ends the current step or PCG checkpoint interval, leaves the job
/// in running/ with its checkpoint, and exits 0; the next start resumes it.
public final class SpoolService {
    public let spool: String
    private let communicator: Communicator
    private let threads: Int
    private let quiet: Bool
    private let stopRequested: () -> Bool
    public private(set) var finished: [(job: String, succeeded: Bool)] = []

    public init(spool: String, communicator: Communicator, threads: Int, quiet: Bool, stopRequested: @escaping () -> Bool) {
        self.spool = spool
        self.communicator = communicator
        self.threads = threads
        self.quiet = quiet
        self.stopRequested = stopRequested
    }

    private var incoming: String { spool + "/incoming" }
    private var running: String { spool + "/running" }

    public func prepare() throws(SparrowError) {
        _ = try communicator.onRoot { () throws(SparrowError) in
            for sub in ["incoming", "running", "done", "failed", "checkpoints"] { try System.makeDirectories(spool + "/" + sub) }
        }
    }

    /// Serves until a stop request, or, with `exitWhenIdle`, until no job is left.
    public func serve(exitWhenIdle: Bool, pollSeconds: Double = 0.5) throws(SparrowError) {
        try prepare()
        while true {
            // Rank 0 decides: resume an interrupted job first, else the oldest incoming one.
            var choice = ""
            if communicator.isRoot {
                if stopRequested() {
                    choice = "\u{0}stop"
                } else if let interrupted = System.listDirectory(running).first(where: { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }) {
                    choice = interrupted
                } else if let next = System.listDirectory(incoming).first(where: { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }) {
                    do {
                        try System.move(incoming + "/" + next, to: running + "/" + next)
                        choice = next
                    } catch {
                        log("cannot take \(next): \(error)")
                    }
                } else if exitWhenIdle {
                    choice = "\u{0}idle"
                }
            }
            choice = communicator.broadcast(choice)
            if choice.hasPrefix("\u{0}") { return }
            if choice.isEmpty {
                sleepSeconds(pollSeconds)
                continue
            }
            let outcome = runOne(choice)
            if outcome == .interrupted { return }
        }
    }

    enum Outcome { case succeeded, failed, interrupted }

    private func runOne(_ file: String) -> Outcome {
        let path = running + "/" + file
        var stem = file
        if let dot = stem.lastIndex(of: ".") { stem = String(stem[..<dot]) }
        var logLines: [String] = ["job \(file) on \(communicator.size) rank(s)"]
        let checkpointDirectory = spool + "/checkpoints/" + stem
        let resuming = System.isDirectory(checkpointDirectory)
        if resuming { logLines.append("resuming from checkpoint \(checkpointDirectory)") }
        let start = System.now()
        var report: Report?
        var failure: SparrowError?
        do {
            let text = communicator.broadcast(communicator.isRoot ? ((try? System.readWholeFile(path)).map { String(decoding: $0, as: UTF8.self) } ?? "") : "")
            // Outputs of spooled jobs go to SPOOL/output/NAME, never next to the moving job file.
            let plan = try JobParser.parse(text, file: path, outputDirectoryOverride: spool + "/output/" + stem)
            let checkpoint = try communicator.everywhere { () throws(SparrowError) in try JobCheckpoint(directory: checkpointDirectory) }
            let runner = JobRunner(plan: plan, communicator: communicator, threads: threads, showProgress: !quiet,
                                   checkpoint: checkpoint, stopRequested: stopRequested)
            do {
                try runner.run()
            } catch {
                report = runner.report
                throw error
            }
            report = runner.report
            report?.metric("resumed", .bool(resuming))
            communicator.barrier()
            if communicator.isRoot { checkpoint.discard() }
        } catch let error as SparrowError {
            failure = error
        } catch {
            failure = .computation("\(error)")
        }
        if failure == JobRunner.interrupted {
            if communicator.isRoot { log("stopped during \(file); it stays in running/ and resumes from its checkpoint") }
            return .interrupted
        }
        let succeeded = failure == nil
        if communicator.isRoot {
            let destination = spool + (succeeded ? "/done/" : "/failed/")
            if let failure { logLines += failure.lines.map { "error: \($0)" } }
            logLines.append(succeeded ? "done in \(System.now() - start) s" : "failed after \(System.now() - start) s")
            var finalReport = report ?? Report(command: "run", ranks: communicator.size, threads: threads)
            finalReport.inputs = [("job", .string(file))]
            finalReport.metric("status", .string(succeeded ? "done" : "failed"))
            if let failure { finalReport.metric("error", .string(failure.lines.joined(separator: "\n"))) }
            try? finalReport.write(to: destination + stem + ".report.json")
            try? AtomicFileWriter.write(logLines.joined(separator: "\n") + "\n", to: destination + stem + ".log")
            try? System.move(path, to: destination + file)
            if !succeeded { System.removeTree(spool + "/checkpoints/" + stem) }
            log("\(file): \(succeeded ? "done" : "failed")")
        }
        finished.append((file, succeeded))
        return succeeded ? .succeeded : .failed
    }

    private func log(_ line: String) {
        if communicator.isRoot, !quiet { System.printError("sparrow serve: \(line)") }
    }
}

func sleepSeconds(_ seconds: Double) {
    let start = System.now()
    while System.now() - start < seconds { _ = System.sleep(milliseconds: 20) }
}
