#if canImport(Glibc)
import Glibc
#endif
import SparrowCore

/// Stops at safe points (`ProcessSignals.deferringStops`): every rank learns
/// at the same iteration that some rank received SIGTERM or SIGINT, so all
/// write the same checkpoint and end together.
extension Communicator {
    /// Collective: the signal any rank recorded, 0 when none.
    public func agreedStop() -> Int32 {
        let local = ProcessSignals.pendingSignal
        guard size > 1 else { return local }
        return Int32(allreduce(Int(local), .max))
    }
}

extension SparrowError {
    /// The error a loop ends with after acting on a stop (its own record cleared, so the
    /// error, not the signal handler, ends the process: the one line names the checkpoint).
    public static func stopped(by signal: Int32, _ what: String) -> SparrowError {
        _ = ProcessSignals.acknowledgeStop()
        return .interrupted(signal: signal, message: "stopped by \(signal == SIGINT ? "SIGINT" : "SIGTERM") \(what)")
    }
}
