#if canImport(Glibc)
import Glibc
#endif
import CSystem

/// What signals do to a Sparrow process (CONVENTIONS: exit 130/143 when
/// stopped by SIGINT/SIGTERM, temporaries removed, a checkpoint written where
/// `--checkpoint` is set):
///
/// - **SIGTERM, SIGINT**, by default: every registered temporary file is
///   removed and the process exits 128 + N at once, whatever it was doing.
///   SIGUSR1 is a SIGTERM by another name: Open MPI's mpirun forwards it to
///   the ranks at once, while it delivers its own SIGTERM only after
///   `odls_base_sigkill_timeout` seconds and SIGKILLs soon after (measured:
///   SIGCONT at once, SIGTERM 1 s later), too late for a checkpoint
///   (cluster/README.md, "Preemption").
/// - inside `deferringStops` (an iterative loop that writes checkpoints; the
///   service's loop): the signal is only recorded. The loop polls
///   `stopRequested` at its next safe point (collectively, so every rank
///   stops at the same iteration), writes its checkpoint and ends with
///   `SparrowError.interrupted`. A second signal stops at once.
/// - inside `holdingStops` (renaming a finished set of outputs into place):
///   recorded and acted on when the renames are done, so a set is never
///   half renamed.
/// - **a crash** (SIGILL from a failed runtime check, SIGSEGV, SIGBUS, SIGFPE,
///   SIGABRT, SIGTRAP): one line on standard error, temporaries removed, a
///   line appended to the crash-note file when one is set (how the service
///   learns which job crashed its workers), then the process dies by the same
///   signal, so its parent sees 128 + N.
/// - **SIGXFSZ** is ignored: a write past a file-size limit fails with EFBIG
///   and is reported like a full disk instead of killing the process.
///
/// Everything the handlers touch is allocated by `install` and reached
/// through atomics: a handler never allocates, locks or calls into Swift's
/// runtime beyond reading these pointers. This file is the only caller of the
/// C helpers in CSystem/signals.h.
public enum ProcessSignals {
    /// Temporary files registered at once, at most (one verb or job has a handful).
    static let temporaryCapacity = 4096
    nonisolated(unsafe) private static var temporaries: UnsafeMutablePointer<UnsafeMutableRawPointer?>!
    /// [0] deferral depth, [1] hold depth, [2] pending signal, [3] prints (1 on rank 0).
    nonisolated(unsafe) private static var state: UnsafeMutablePointer<Int>!
    /// [0] the crash-note path (a C string, or nil).
    nonisolated(unsafe) private static var crashNote: UnsafeMutablePointer<UnsafeMutableRawPointer?>!
    /// Messages built once, indexed by signal number (nil where none).
    nonisolated(unsafe) private static var messages: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>!

    static let crashSignals: [(Int32, String)] = [
        (SIGILL, "SIGILL (a failed runtime check: an overflow, an index out of range or a similar bug)"),
        (SIGTRAP, "SIGTRAP (a failed runtime check)"), (SIGSEGV, "SIGSEGV (an invalid memory access)"),
        (SIGBUS, "SIGBUS (an invalid memory access, or a mapped file that shrank)"),
        (SIGFPE, "SIGFPE (an arithmetic fault)"), (SIGABRT, "SIGABRT (an abort in a library)"),
    ]

    /// Installs the handlers; call first thing in `main`, and again once MPI has started (Open
    /// MPI installs handlers of its own for some crash signals). `rank` labels crash lines;
    /// `printsStops` is whether this process prints the one "stopped" line (rank 0).
    public static func install(rank: Int, printsStops: Bool) {
        if state == nil {
            temporaries = .allocate(capacity: temporaryCapacity)
            temporaries.initialize(repeating: nil, count: temporaryCapacity)
            state = .allocate(capacity: 4)
            state.initialize(repeating: 0, count: 4)
            crashNote = .allocate(capacity: 1)
            crashNote.initialize(to: nil)
            messages = .allocate(capacity: 65)
            messages.initialize(repeating: nil, count: 65)
            messages[Int(SIGTERM)] = strdup("sparrow: error: stopped by SIGTERM; temporary outputs removed\n")
            messages[Int(SIGINT)] = strdup("sparrow: error: stopped by SIGINT; temporary outputs removed\n")
            _ = sparrow_alternate_signal_stack(256 << 10)
        }
        state[3] = printsStops ? 1 : 0
        for (signal, what) in crashSignals {
            let old = messages[Int(signal)]
            messages[Int(signal)] = strdup("sparrow: error: internal error on rank \(rank): the process stopped on \(what); "
                                           + "please report it with the command that caused it\n")
            free(old)
        }
        for signal in [SIGTERM, SIGINT, SIGUSR1] { _ = sparrow_install_handler(signal, stopHandler) }
        for (signal, _) in crashSignals { _ = sparrow_install_handler(signal, crashHandler) }
        _ = sparrow_set_disposition(SIGXFSZ, 1)
    }

    // MARK: temporaries

    /// Remembers a temporary file to remove if a signal ends the process.
    public static func registerTemporary(_ path: String) {
        guard let temporaries, let copy = strdup(path) else { return }
        for slot in 0..<temporaryCapacity where sparrow_atomic_claim_pointer(temporaries + slot, copy) != 0 { return }
        free(copy) // more temporaries than slots: this one is left to the ordinary cleanup paths
    }

    /// Forgets a temporary file (renamed into place, or removed).
    public static func forgetTemporary(_ path: String) {
        guard let temporaries else { return }
        for slot in 0..<temporaryCapacity {
            guard let held = sparrow_atomic_load_pointer(temporaries + slot) else { continue }
            if String(cString: held.assumingMemoryBound(to: CChar.self)) == path,
               sparrow_atomic_release_pointer(temporaries + slot, held) != 0 {
                free(held)
                return
            }
        }
    }

    /// Signal-safe: unlinks every registered temporary.
    private static func removeTemporaries() {
        guard let temporaries else { return }
        for slot in 0..<temporaryCapacity {
            if let held = sparrow_atomic_load_pointer(temporaries + slot) { unlink(held.assumingMemoryBound(to: CChar.self)) }
        }
    }

    // MARK: stops

    /// Runs `body` with SIGTERM/SIGINT recorded instead of acted on; `body`
    /// polls `stopRequested`. A stop still pending when it returns ends the process then.
    public static func deferringStops<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        try within(0, body)
    }

    /// `deferringStops` when `condition` holds (a loop that writes checkpoints), else `body` as it is.
    public static func deferringStops<T, E: Error>(if condition: Bool, _ body: () throws(E) -> T) throws(E) -> T {
        condition ? try within(0, body) : try body()
    }

    /// Runs `body` (renames that must all happen or none) with stops held until it is done.
    public static func holdingStops<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        try within(1, body)
    }

    private static func within<T, E: Error>(_ index: Int, _ body: () throws(E) -> T) throws(E) -> T {
        guard let state else { return try body() }
        state[index] += 1
        defer {
            state[index] -= 1
            if state[0] == 0, state[1] == 0 {
                let pending = sparrow_atomic_load_long(state + 2)
                if pending != 0 { stopNow(Int32(pending)) }
            }
        }
        return try body()
    }

    /// Whether a SIGTERM or SIGINT was recorded (inside `deferringStops`).
    public static var stopRequested: Bool { pendingSignal != 0 }

    /// The recorded signal number, 0 when none.
    public static var pendingSignal: Int32 {
        guard let state else { return 0 }
        return Int32(sparrow_atomic_load_long(state + 2))
    }

    /// Clears a recorded stop that was acted on (the service exits 0 after one).
    public static func acknowledgeStop() -> Int32 {
        guard let state else { return 0 }
        return Int32(sparrow_atomic_exchange_long(state + 2, 0))
    }

    /// Ends the process as a stop by `signal` does: temporaries removed, one line, exit 128 + N.
    public static func stopNow(_ signal: Int32) -> Never {
        removeTemporaries()
        if let state, state[3] == 1, let messages, let line = messages[Int(signal)] { sparrow_write_stderr(line) }
        _exit(128 + signal)
    }

    private static let stopHandler: @convention(c) (Int32) -> Void = { received in
        let signal = received == SIGUSR1 ? SIGTERM : received
        guard let state = ProcessSignals.state else { _exit(128 + signal) }
        let deferred = sparrow_atomic_load_long(state) > 0 || sparrow_atomic_load_long(state + 1) > 0
        if deferred, sparrow_atomic_exchange_long(state + 2, Int(signal)) == 0 { return }
        ProcessSignals.stopNow(signal)
    }

    // MARK: crashes

    /// The file a crash appends its line to (nil: none). The service sets it to the running job's note.
    public static func setCrashNote(_ path: String?) {
        guard let crashNote else { return }
        let old = crashNote.pointee
        crashNote.pointee = path.flatMap { UnsafeMutableRawPointer(strdup($0)) }
        if let old { free(old) }
    }

    private static let crashHandler: @convention(c) (Int32) -> Void = { signal in
        if let messages = ProcessSignals.messages, let line = messages[Int(signal)] {
            sparrow_write_stderr(line)
            if let note = ProcessSignals.crashNote?.pointee {
                let fd = open(note.assumingMemoryBound(to: CChar.self), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
                if fd >= 0 {
                    _ = write(fd, line, strlen(line))
                    close(fd)
                }
            }
        }
        ProcessSignals.removeTemporaries()
        sparrow_die_by(signal)
    }
}
