import SparrowCore

/// How a worker (rank 0 of one `sparrow serve`) takes its next job from a
/// spool that other workers may share:
///
/// - everything below happens under the spool's claim lock (`.lock`), so two
///   workers never see the same incoming entry, never compute the same ID and
///   never take the same job;
/// - a job in running/ belongs to the worker holding its lease (`ID.lock`,
///   flock). A job whose lease nobody holds was left by a worker that died:
///   it is resumed, unless its crash note shows a crash (a failed runtime
///   check is deterministic, so it is failed at once with that line) or it
///   has already been started `maximumStarts` times;
/// - an incoming entry gets the next sequence number, its lease is taken, and
///   only then is it moved into running/;
/// - a finished job is filed under done/ or failed/, and its lease file
///   removed, under the claim lock too (`locked`): a worker looking for
///   abandoned jobs never sees one half filed.
struct SpoolClaims {
    let layout: SpoolLayout
    /// Starts after which a job in running/ is failed rather than resumed.
    static let maximumStarts = 2

    enum Claim {
        /// Run this job (resumed when `resumed`), holding `lease` until it is recorded.
        case run(id: String, lease: FileLock, resumed: Bool)
        /// Record this job as failed (it was rejected, or it crashed its workers); `lease` held when it was in running/.
        case fail(id: String, lease: FileLock?, log: [String], failure: SparrowError, rejectedFrom: String?)
    }

    /// The next thing to do, or nil when nothing waits. Takes and releases the claim lock.
    func next() -> Claim? {
        guard let claimLock = FileLock.acquire(layout.claimLock, wait: true) else { return nil }
        defer { claimLock.release() }
        if let resumed = abandonedJob() { return resumed }
        for entry in System.listDirectory(layout.incoming) {
            let path = layout.incoming + "/" + entry
            // Gone since the listing (a worker that does not take the claim lock): not ours to judge.
            if System.entryKind(path) == .missing { continue }
            let sequence = layout.nextSequence()
            if let reason = layout.rejection(of: entry) {
                let id = SpoolLayout.id(sequence: sequence, name: "rejected")
                guard (try? System.move(path, to: layout.failed + "/" + id + ".rejected")) != nil else { continue }
                return .fail(id: id, lease: nil, log: ["rejected incoming/\(entry): \(reason)"],
                             failure: .field(name: "job", message: reason), rejectedFrom: entry)
            }
            let id = SpoolLayout.id(sequence: sequence, name: SpoolLayout.jobName(entry) ?? "job")
            guard let lease = FileLock.acquire(layout.lease(id), wait: false) else { continue }
            guard (try? System.move(path, to: layout.running + "/" + id + ".yaml")) != nil else {
                System.removeFile(layout.lease(id))
                continue
            }
            layout.recordStarts(id, 1)
            return .run(id: id, lease: lease, resumed: false)
        }
        return nil
    }

    /// Runs `body` (filing a finished job) holding the claim lock.
    func locked(_ body: () -> Void) {
        let claimLock = FileLock.acquire(layout.claimLock, wait: true)
        defer { claimLock?.release() }
        body()
    }

    /// A job in running/ that no worker holds: resumed, or failed with the reason.
    private func abandonedJob() -> Claim? {
        for entry in System.listDirectory(layout.running) where entry.hasSuffix(".yaml") {
            guard let id = SpoolLayout.jobName(entry), let lease = FileLock.acquire(layout.lease(id), wait: false) else { continue }
            // Filed by a worker that does not take the claim lock: the lease file is this worker's to remove.
            guard System.isRegularFile(layout.running + "/" + entry) else {
                System.removeFile(layout.lease(id))
                lease.release()
                continue
            }
            let starts = layout.startsRecorded(id)
            let notes = crashNotes(id)
            if let crash = notes.first(where: { $0.contains("internal error") }) {
                return .fail(id: id, lease: lease, log: ["job \(id) crashed its workers:"] + notes + ["a crash is a bug that would repeat; not resumed"],
                             failure: .computation("the job crashed its workers: \(Self.withoutPrefix(crash))"), rejectedFrom: nil)
            }
            if starts >= Self.maximumStarts {
                return .fail(id: id, lease: lease,
                             log: ["job \(id) was started \(starts) times and each time the workers died before it finished; not resumed again"] + notes,
                             failure: .computation("the job ended the workers \(starts) times\(notes.last.map { " (last: \(Self.withoutPrefix($0)))" } ?? ""); not resumed again"),
                             rejectedFrom: nil)
            }
            layout.recordStarts(id, starts + 1)
            return .run(id: id, lease: lease, resumed: true)
        }
        return nil
    }

    /// Lines the crash handler or the supervisor wrote about this job's workers.
    func crashNotes(_ id: String) -> [String] {
        guard let bytes = try? System.readWholeFile(layout.crashNote(id), limit: 1 << 16) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    static func withoutPrefix(_ line: String) -> String {
        line.hasPrefix("sparrow: error: ") ? String(line.dropFirst(16)) : line
    }
}
