import SparrowCore

/// What a supervised worker is doing, for `sparrow supervise` to read when
/// the worker dies: `ready` once the service is up, `running ID NOTE` while a
/// job runs (NOTE: the job's crash-note file), `idle` between jobs. The
/// supervisor sets SPARROW_SUPERVISOR_STATUS to a file of its own; rank 0 of
/// the worker writes it (mpirun passes the variable to local ranks; add
/// `-x SPARROW_SUPERVISOR_STATUS` when rank 0 runs on another host). A worker
/// that dies before `ready` could not start; one that dies while `running`
/// was taken down by that job, which the service then fails or resumes, and
/// the supervisor restarts it without counting a failed start.
public enum SupervisorStatus {
    public static let variable = "SPARROW_SUPERVISOR_STATUS"

    public enum State: Equatable, Sendable {
        case starting
        case ready
        case running(job: String, crashNote: String)
    }

    /// Rank 0 of a worker: records `state` where the supervisor looks (nowhere when unsupervised).
    public static func record(_ state: State) {
        guard let path = System.environment(variable), !path.isEmpty else { return }
        let text: String
        switch state {
        case .starting: text = "starting\n"
        case .ready: text = "ready\n"
        case let .running(job, note): text = "running \(job) \(note)\n"
        }
        try? AtomicFileWriter.write(text, to: path, mode: 0o600)
    }

    /// The supervisor: the last state a worker recorded in `path`.
    public static func read(_ path: String) -> State {
        guard let bytes = try? System.readWholeFile(path, limit: 1 << 16) else { return .starting }
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first?.split(separator: " ", maxSplits: 2).map(String.init) ?? []
        switch (parts.first, parts.count) {
        case ("ready", _): return .ready
        case ("running", 3): return .running(job: parts[1], crashNote: parts[2])
        default: return .starting
        }
    }
}
