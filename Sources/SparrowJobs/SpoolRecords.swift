#if canImport(Glibc)
import Glibc
#endif
import SparrowCore

/// What rank 0 of a worker writes in the spool around a job, and who may
/// read it (docs/jobs.md, "Who can read what"): the job's output and
/// checkpoint directories, its log, report and job file belong to the
/// submitter (the owner of the job file) with modes 0700/0600 when the
/// service runs as root; a service that cannot change owners keeps them its
/// own with modes 0750/0640, readable by its group and nobody else.
struct SpoolRecords {
    let layout: SpoolLayout
    let ranks: Int
    let threads: Int

    /// The submitter of job `id`: the owner of its job file (in running/, or the rejected entry).
    func submitter(_ id: String, jobFile: String? = nil) -> UserCredentials? {
        try? UserCredentials.owner(of: jobFile ?? layout.running + "/" + id + ".yaml")
    }

    /// Gives `path` to the submitter (or, without root, to the service's group only).
    func give(_ path: String, to submitter: UserCredentials?) {
        guard let submitter else { return }
        if UserCredentials.canAssume {
            submitter.own(path)
        } else {
            UserCredentials.current.own(path, fileMode: 0o640, directoryMode: 0o750, group: getegid())
        }
    }

    /// Rank 0, before a job runs: its checkpoint and output directories (a resumed job keeps its
    /// real checkpoint directory; anything else there is cleared) and its empty crash note, all the submitter's.
    func prepareDirectories(_ id: String) throws(SparrowError) {
        let owner = submitter(id)
        let checkpoint = layout.checkpoint(id), output = layout.output(id)
        if System.entryKind(checkpoint) != .directory { try System.makeFreshDirectory(checkpoint) }
        if System.entryKind(output) != .directory { try System.makeFreshDirectory(output) }
        if System.entryKind(layout.crashNote(id)) == .missing { try AtomicFileWriter.write("", to: layout.crashNote(id), mode: 0o600) }
        for path in [checkpoint, output, layout.crashNote(id)] { give(path, to: owner) }
    }

    /// Rank 0: files a finished job under done/ or failed/ and clears its running state.
    /// `jobFile`: where the job file is when it is not running/ID.yaml (a rejected entry).
    func record(id: String, succeeded: Bool, log lines: [String], report: Report?, failure: SparrowError?, jobFile: String? = nil) {
        let destination = (succeeded ? layout.done : layout.failed) + "/"
        let owner = submitter(id, jobFile: jobFile)
        var lines = lines
        if let failure { lines += failure.lines.map { "error: \($0)" } }
        var finalReport = report ?? Report(command: "run", ranks: ranks, threads: threads)
        let movedJob = jobFile ?? destination + id + ".yaml"
        // The job file, named where it will lie (done/ or failed/) with the digest of what was read.
        if report == nil { finalReport.inputFiles([("job", jobFile ?? layout.running + "/" + id + ".yaml")]) }
        finalReport.moveInputFile("job", to: movedJob)
        finalReport.input("job_id", description: id)
        finalReport.metric("status", .string(succeeded ? "done" : "failed"))
        if let failure { finalReport.metric("error", .string(failure.lines.joined(separator: "\n"))) }
        try? AtomicFileWriter.write(finalReport.json.serialized(indent: 2) + "\n", to: destination + id + ".report.json", mode: 0o600)
        try? AtomicFileWriter.write(lines.joined(separator: "\n") + "\n", to: destination + id + ".log", mode: 0o600)
        if jobFile == nil { try? System.move(layout.running + "/" + id + ".yaml", to: movedJob) }
        for path in [destination + id + ".report.json", destination + id + ".log", movedJob, layout.output(id)] { give(path, to: owner) }
        System.removeFile(layout.attempts(id))
        System.removeFile(layout.crashNote(id))
        System.removeTree(layout.checkpoint(id))
        System.removeFile(layout.lease(id))
    }
}
