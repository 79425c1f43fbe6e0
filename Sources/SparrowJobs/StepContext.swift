import SparrowCore
import SparrowMPI

/// What a job step may use, and nothing else: the job's values, the
/// communicator (collectives stay visible at the step's call sites), the
/// checkpoint store, the job's limits, progress and warnings.
final class StepContext {
    let communicator: Communicator
    let threads: Int
    let values: JobValueStore
    let checkpoint: JobCheckpoint?
    let limits: JobLimits
    let showProgress: Bool
    private let warnings: (String) -> Void

    init(communicator: Communicator, threads: Int, values: JobValueStore, checkpoint: JobCheckpoint?, limits: JobLimits,
         showProgress: Bool, warn: @escaping (String) -> Void) {
        self.communicator = communicator
        self.threads = threads
        self.values = values
        self.checkpoint = checkpoint
        self.limits = limits
        self.showProgress = showProgress
        warnings = warn
    }

    /// A warning for the job's report (printed on rank 0 as it happens).
    func warn(_ message: String) { warnings(message) }

    /// Collective, at a safe point: ends the step resumable when any rank was asked to stop
    /// (SIGTERM or SIGINT recorded by the service's `ProcessSignals.deferringStops`).
    func stopIfRequested(_ where_: String) throws(SparrowError) {
        let stop = communicator.agreedStop()
        if stop != 0 { throw JobRunner.interrupted(stop, where_) }
    }
}

/// The job's `time_limit`, checked between steps, each PCG iteration and each batch item.
struct JobLimits {
    let started: Double
    let timeLimitSeconds: Double?

    var elapsed: Double { System.now() - started }

    /// Collective: every rank compares the slowest rank's elapsed time, so all stop together.
    func check(_ what: String, communicator: Communicator) throws(SparrowError) {
        guard let limit = timeLimitSeconds else { return }
        let elapsed = communicator.allreduce(self.elapsed, .max)
        if elapsed > limit { throw exceeded(limit, elapsed, what) }
    }

    /// Rank-local, for loops that only some ranks run (their failure is agreed on after the loop).
    func checkHere(_ what: String) throws(SparrowError) {
        guard let limit = timeLimitSeconds, elapsed > limit else { return }
        throw exceeded(limit, elapsed, what)
    }

    private func exceeded(_ limit: Double, _ elapsed: Double, _ what: String) -> SparrowError {
        .computation("time limit of \(limit) s exceeded \(what) (elapsed \(Int(elapsed)) s)")
    }
}
