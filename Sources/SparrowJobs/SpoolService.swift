#if canImport(Glibc)
import Glibc
#endif
import SparrowCore
import SparrowMPI

/// `sparrow serve --spool DIR`: a long-lived MPI service fed by files (layout
/// and naming rules in `SpoolLayout`, claiming in `SpoolClaims`, the
/// submitter's rights in `SpoolRecords` and docs/jobs.md).
///
/// Rank 0 claims jobs and broadcasts each choice; all ranks run it, with the
/// rights of the job file's owner. Several workers may serve one spool. A job
/// left in running/ by a worker that died is resumed from its checkpoint,
/// unless it crashed the workers (failed at once, with the crash line) or
/// was started twice without finishing. A failing or invalid job never stops
/// the service: its error is agreed on by every rank (the failure path of
/// `SparrowMPI`) and recorded. A stop request (SIGTERM) ends the current step
/// or checkpoint interval, leaves the job in running/ with its checkpoint,
/// and the service exits 0.
public final class SpoolService {
    public let layout: SpoolLayout
    private let communicator: Communicator
    private let threads: Int
    private let quiet: Bool
    private let allowedInputDirectories: [String]
    private let records: SpoolRecords
    public private(set) var finished: [(job: String, succeeded: Bool)] = []
    /// The signal that ended `serve` (0: it ended because no job was left).
    public private(set) var stoppedBy: Int32 = 0
    public static var maximumStarts: Int { SpoolClaims.maximumStarts }

    private let claims: SpoolClaims

    public init(spool: String, communicator: Communicator, threads: Int, quiet: Bool, allowedInputDirectories: [String] = []) {
        layout = SpoolLayout(root: spool)
        claims = SpoolClaims(layout: layout)
        self.communicator = communicator
        self.threads = threads
        self.quiet = quiet
        self.allowedInputDirectories = allowedInputDirectories
        records = SpoolRecords(layout: layout, ranks: communicator.size, threads: threads)
    }

    /// Serves until a stop request, or, with `exitWhenIdle`, until no job is left.
    /// Run it inside `ProcessSignals.deferringStops`: SIGTERM is acted on between jobs and at checkpoints.
    public func serve(exitWhenIdle: Bool, pollSeconds: Double = 0.5) throws(SparrowError) {
        // Rank 0 alone makes the spool; every rank resolves the allowed directories as it sees them
        // (each rank checks inputs when it parses a job).
        _ = try communicator.onRoot { () throws(SparrowError) in
            try layout.prepare()
            try layout.checkSharedIncoming()
        }
        let allowed = try communicator.everywhere { () throws(SparrowError) -> [String] in
            try (allowedInputDirectories.isEmpty ? [layout.inputs] : allowedInputDirectories).map { (directory) throws(SparrowError) in
                guard let real = System.realPath(directory), System.isDirectory(real) else {
                    throw .field(name: "--allow-inputs", message: "\(directory) is not a directory")
                }
                return real
            }
        }
        if communicator.isRoot { SupervisorStatus.record(.ready) }
        while true {
            // Between jobs every rank learns whether any was asked to stop.
            stoppedBy = communicator.agreedStop()
            if stoppedBy != 0 { return }
            var lease: FileLock?
            var chosen = ""
            if communicator.isRoot {
                (chosen, lease) = nextChoice(exitWhenIdle: exitWhenIdle)
            }
            let choice = communicator.broadcast(chosen)
            if choice.hasPrefix("\u{0}") { return }
            if choice.isEmpty {
                sleepSeconds(pollSeconds)
                continue
            }
            let outcome = runOne(choice, allowedInputs: allowed)
            lease?.release()
            if outcome == .interrupted { return }
        }
    }

    /// Rank 0: the ID of the job to run next and its lease ("" to wait, "\0…" to end).
    private func nextChoice(exitWhenIdle: Bool) -> (String, FileLock?) {
        while true {
            switch claims.next() {
            case nil:
                return (exitWhenIdle ? "\u{0}idle" : "", nil)
            case let .run(id, lease, _):
                return (id, lease)
            case let .fail(id, lease, log, failure, rejectedFrom):
                // Filed under the claim lock, as every finished job is (SpoolClaims).
                claims.locked {
                    records.record(id: id, succeeded: false, log: log, report: nil, failure: failure,
                                   jobFile: rejectedFrom.map { _ in layout.failed + "/" + id + ".rejected" })
                }
                lease?.release()
                finished.append((id, false))
                self.log("\(id): failed")
            }
        }
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
            // Rank 0 reads the job and prepares its directories, owned by the submitter; every rank
            // parses the same text and runs it with the submitter's rights.
            let prepared = try communicator.onRoot { () throws(SparrowError) -> String in
                let bytes = try JobParser.readJobFile(path)
                try records.prepareDirectories(id)
                SupervisorStatus.record(.running(job: id, crashNote: layout.crashNote(id)))
                let owner = try UserCredentials.owner(of: path)
                return "\(owner.uid) \(owner.gid) \(owner.groups.map(String.init).joined(separator: ","))\n" + String(decoding: bytes, as: UTF8.self)
            }
            let message = communicator.broadcast(prepared ?? "")
            let (submitter, text) = Self.submitter(message)
            ProcessSignals.setCrashNote(layout.crashNote(id))
            defer { ProcessSignals.setCrashNote(nil) }
            let resumedHere = communicator.isRoot && (layout.startsRecorded(id) > 1 || !System.listDirectory(checkpointDirectory).isEmpty)
            let resuming = communicator.broadcast([resumedHere ? 1 : 0])[0] == 1
            if resuming { logLines.append("resuming from checkpoint \(checkpointDirectory)") }
            logLines.append("submitted by \(submitter)")
            // Outputs of spooled jobs go to SPOOL/output/ID, never next to the moving job file.
            let plan = try communicator.everywhere { () throws(SparrowError) in
                try JobParser.parse(text, file: path, outputDirectoryOverride: layout.output(id), ranks: communicator.size,
                                    allowedInputDirectories: allowedInputs, reader: submitter)
            }
            let checkpoint = JobCheckpoint(existingDirectory: checkpointDirectory)
            let runner = JobRunner(plan: plan, communicator: communicator, threads: threads, showProgress: !quiet, checkpoint: checkpoint)
            do throws(SparrowError) {
                // Each rank takes the submitter's rights for its own file accesses (a no-op unless root).
                try submitter.assume { () throws(SparrowError) in try runner.run() }
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
        if communicator.isRoot { SupervisorStatus.record(.ready) }
        if case let .interrupted(signal, _) = failure {
            stoppedBy = signal
            if communicator.isRoot {
                layout.recordStarts(id, layout.startsRecorded(id) - 1)
                log("stopped during \(id); it stays in running/ and resumes from its checkpoint")
            }
            return .interrupted
        }
        let succeeded = failure == nil
        if communicator.isRoot {
            logLines.append(succeeded ? "done in \(System.now() - start) s" : "failed after \(System.now() - start) s")
            claims.locked { records.record(id: id, succeeded: succeeded, log: logLines, report: report, failure: failure) }
            log("\(id): \(succeeded ? "done" : "failed")")
        }
        finished.append((id, succeeded))
        return succeeded ? .succeeded : .failed
    }

    /// The submitter line rank 0 put before the job text, and the text.
    private static func submitter(_ message: String) -> (UserCredentials, String) {
        let newline = message.firstIndex(of: "\n") ?? message.endIndex
        let fields = message[..<newline].split(separator: " ").map(String.init)
        let uid = fields.first.flatMap { uid_t($0) } ?? geteuid()
        let gid = fields.count > 1 ? gid_t(fields[1]) ?? getegid() : getegid()
        let groups = fields.count > 2 ? fields[2].split(separator: ",").compactMap { gid_t($0) } : [gid]
        let text = newline < message.endIndex ? String(message[message.index(after: newline)...]) : ""
        return (UserCredentials(uid: uid, gid: gid, groups: groups), text)
    }

    private func log(_ line: String) {
        if communicator.isRoot, !quiet { System.printError("sparrow serve: \(line)") }
    }
}

func sleepSeconds(_ seconds: Double) {
    let start = System.now()
    while System.now() - start < seconds, !ProcessSignals.stopRequested { _ = System.sleep(milliseconds: 20) }
}
