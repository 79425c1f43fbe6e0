import ArgumentParser
import Synchronization
import SparrowCore
#if canImport(Glibc)
import Glibc
#endif

/// Restarts a command (typically `mpirun … sparrow serve …`) when it dies:
/// Debian's OpenMPI has no fault tolerance, so a dead rank ends the whole
/// job (mpirun exits with that rank's status, 137 for SIGKILL) and recovery
/// happens here, outside MPI. The service resumes the interrupted job from its
/// checkpoint on restart. Runs without MPI (see main.swift).
enum Supervisor {
    static func main(_ arguments: [String]) -> Int32 {
        var maxFailures = 3
        var window = 60.0
        var rest = arguments[...]
        while let first = rest.first, first != "--" {
            rest = rest.dropFirst()
            switch first {
            case "--max-failures":
                guard let v = rest.first.flatMap({ Int($0) }), v >= 1 else { return usage("--max-failures needs an integer ≥ 1") }
                maxFailures = v
                rest = rest.dropFirst()
            case "--window":
                guard let v = rest.first.flatMap({ Double($0) }), v > 0, v <= 1e9 else { return usage("--window needs seconds in (0, 1e9]") }
                window = v
                rest = rest.dropFirst()
            case "--help", "-h":
                print("""
                USAGE: sparrow supervise [--max-failures N] [--window SECONDS] -- COMMAND [ARGS...]

                Runs COMMAND and restarts it whenever it exits with a status other than 0 or 2
                (2 is bad usage: restarting cannot help). Gives up after N failures that each came
                within SECONDS of their start (default 3 within 60 s). SIGTERM is passed on.

                Example:
                  sparrow supervise -- mpirun -n 4 sparrow serve --spool /srv/sparrow
                """)
                return 0
            default:
                return usage("unknown option '\(first)'")
            }
        }
        rest = rest.dropFirst() // "--"
        guard !rest.isEmpty else { return usage("give the command to supervise after --") }
        let command = Array(rest)
        installForwarding()
        var quickFailures = 0
        var restarts = 0
        while true {
            let start = System.now()
            let status = spawnAndWait(command)
            let seconds = System.now() - start
            if status == 0 || forwardedStop.load(ordering: .relaxed) != 0 { return status }
            if status == 2 {
                System.printError("sparrow supervise: \(command[0]) exited with 2 (bad input or usage); not restarting")
                return 2
            }
            quickFailures = seconds < window ? quickFailures + 1 : 1
            if quickFailures >= maxFailures {
                System.printError("sparrow supervise: error: \(command[0]) failed \(quickFailures) times in a row within \(Int(window)) s of starting (last status \(status)); giving up")
                return 1
            }
            restarts += 1
            System.printError("sparrow supervise: \(command[0]) exited with status \(status) after \(Int(seconds)) s; restart \(restarts)")
        }
    }

    private static func usage(_ message: String) -> Int32 {
        System.printError("sparrow: error: supervise: \(message) (see 'sparrow supervise --help')")
        return 2
    }

    nonisolated(unsafe) static var child: pid_t = 0
    static let forwardedStop = Atomic<Int>(0)

    private static func installForwarding() {
        let handler: @convention(c) (Int32) -> Void = { signal in
            Supervisor.forwardedStop.store(1, ordering: .relaxed)
            if Supervisor.child > 0 { kill(Supervisor.child, signal) }
        }
        signal(SIGTERM, handler)
        signal(SIGINT, handler)
    }

    /// posix_spawnp + waitpid; the exit status, or 128 + signal number.
    private static func spawnAndWait(_ command: [String]) -> Int32 {
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let result = posix_spawnp(&pid, command[0], nil, nil, &argv, environ)
        guard result == 0 else {
            System.printError("sparrow supervise: error: cannot start \(command[0]): \(String(cString: strerror(result)))")
            return 127
        }
        child = pid
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        child = 0
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }
}
