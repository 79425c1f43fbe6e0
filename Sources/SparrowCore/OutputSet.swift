#if canImport(Glibc)
import Glibc
#endif

/// The outputs of one verb or job, all or nothing (CONVENTIONS, "Files": a
/// verb or job with several outputs renames them only when all were
/// written). Each writer leaves its finished, synced temporary here instead
/// of renaming it; `renameAll` puts every one in place once the last was
/// written, and `abandon` (or deinit) removes them when anything failed. The
/// set is this process's: under MPI each rank holds the temporaries it
/// created (rank 0 those of parallel outputs), and the ranks rename together
/// (`Communicator.commit` in SparrowMPI).
public final class OutputSet {
    private var pending: [(temporary: String, final: String)] = []
    private var placed: [String] = []

    public init() {}

    deinit { abandon() }

    /// Whether this process holds nothing to rename.
    public var isEmpty: Bool { pending.isEmpty }

    /// A finished temporary for `final`; a later one for the same path replaces it.
    public func add(temporary: String, final: String) {
        if let earlier = pending.firstIndex(where: { $0.final == final }) {
            unlink(pending[earlier].temporary)
            ProcessSignals.forgetTemporary(pending[earlier].temporary)
            pending.remove(at: earlier)
        }
        pending.append((temporary, final))
    }

    /// Renames every temporary into place, with SIGTERM/SIGINT held until done.
    /// If one rename fails, the ones already made are removed again and the rest abandoned.
    public func renameAll() throws(SparrowError) {
        try ProcessSignals.holdingStops { () throws(SparrowError) in
            while let next = pending.first {
                guard rename(next.temporary, next.final) == 0 else {
                    let reason = String(cString: strerror(errno))
                    unplace()
                    abandon()
                    throw .output(path: next.final, message: "cannot write: \(reason)")
                }
                ProcessSignals.forgetTemporary(next.temporary)
                placed.append(next.final)
                pending.removeFirst()
            }
        }
    }

    /// Removes the outputs this set renamed into place (another rank's rename failed).
    public func unplace() {
        for path in placed { unlink(path) }
        placed.removeAll()
    }

    /// Removes every temporary not yet renamed.
    public func abandon() {
        for entry in pending {
            unlink(entry.temporary)
            ProcessSignals.forgetTemporary(entry.temporary)
        }
        pending.removeAll()
    }
}
