import ArgumentParser
import Synchronization
import SparrowCore
import SparrowJobs
#if canImport(Glibc)
import Glibc
#endif

/// Restarts a command (typically `mpirun … sparrow serve …`) when it dies:
/// Debian's OpenMPI has no fault tolerance, so a dead rank ends the whole
/// job (mpirun exits with that rank's status, 137 for SIGKILL) and recovery
/// happens here, outside MPI. The worker tells the supervisor what it was
/// doing (`SupervisorStatus`): a worker that died before it was ready could
/// not start, and only such failures count towards giving up; one that died
/// while running a job was taken down by that job, so the supervisor notes
/// the exit status in the job's crash note and restarts the worker, which
/// fails the job (a crash) or resumes it from its checkpoint (a killed rank,
/// at most twice). Runs without MPI (see main.swift).
enum Supervisor {
    static func main(_ arguments: [String]) -> Int32 {
        var maxFailures = 3
        var window = 60.0
        var rest = arguments[...]
        while let first = rest.first, first != "--" {
            rest = rest.dropFirst()
            switch first {
            case "--max-failures":
                guard let v = rest.first.flatMap({ Int($0) }), (1...1_000_000).contains(v) else { return usage("--max-failures needs an integer in 1...1000000") }
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
                (2 is bad usage: restarting cannot help). Gives up after N failures to start that each
                came within SECONDS of their start (default 3 within 60 s); a worker taken down by a job
                is restarted without counting (the service then fails or resumes that job). SIGTERM is passed on.

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
        guard let statusDirectory = privateDirectory() else {
            System.printError("sparrow supervise: error: cannot create a private directory under /tmp: \(String(cString: strerror(errno)))")
            return 1
        }
        defer { System.removeTree(statusDirectory) }
        let status = statusDirectory + "/status"
        var quickFailures = 0
        var restarts = 0
        var crashesOfOneJob = (job: "", count: 0)
        while true {
            let start = System.now()
            System.removeFile(status)
            let exitStatus = spawnAndWait(command, status: status)
            let seconds = System.now() - start
            if exitStatus == 0 || forwardedStop.load(ordering: .relaxed) != 0 { return exitStatus }
            if exitStatus == 2 {
                System.printError("sparrow supervise: \(command[0]) exited with 2 (bad input or usage); not restarting")
                return 2
            }
            let what = describe(exitStatus)
            restarts += 1
            if case let .running(job, note) = SupervisorStatus.read(status) {
                // The job took the worker down: noted for the service, which fails or resumes it.
                crashesOfOneJob = crashesOfOneJob.job == job ? (job, crashesOfOneJob.count + 1) : (job, 1)
                appendNote(note, "sparrow supervise: the workers ended with status \(exitStatus) (\(what)) after \(Int(seconds)) s while running \(job)")
                if crashesOfOneJob.count <= SpoolService.maximumStarts + 1 {
                    System.printError("sparrow supervise: job \(job) took the workers down (status \(exitStatus), \(what)); restart \(restarts)")
                    continue
                }
            }
            quickFailures = seconds < window ? quickFailures + 1 : 1
            if quickFailures >= maxFailures {
                System.printError("sparrow supervise: error: \(command[0]) failed \(quickFailures) times in a row within \(Int(window)) s of starting (last status \(exitStatus), \(what)); giving up")
                return 1
            }
            System.printError("sparrow supervise: \(command[0]) exited with status \(exitStatus) (\(what)) after \(Int(seconds)) s; restart \(restarts)")
            // A start that failed may meet what a dying worker leaves for a moment (ports, shared memory): wait a little.
            let pause = min(500 * quickFailures, 5000)
            let resume = System.now() + Double(pause) / 1000
            while System.now() < resume, forwardedStop.load(ordering: .relaxed) == 0 { _ = System.sleep(milliseconds: 20) }
            if forwardedStop.load(ordering: .relaxed) != 0 { return 128 + SIGTERM }
        }
    }

    /// A new 0700 directory for the worker's status file.
    private static func privateDirectory() -> String? {
        var template = Array("/tmp/sparrow-supervise-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in mkdtemp(buffer.baseAddress!) != nil }
        return made ? String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }

    private static func appendNote(_ path: String, _ line: String) {
        let fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// What an exit status means, for the log and the job's note.
    static func describe(_ status: Int32) -> String {
        switch status {
        case 1: return "a computation failed or a rank reported an error"
        case 127: return "the command could not be started"
        case 128 + SIGKILL: return "a rank was killed, e.g. for lack of memory"
        case 128 + SIGILL: return "a rank crashed on a failed runtime check"
        case 128 + SIGSEGV, 128 + SIGBUS: return "a rank crashed on an invalid memory access"
        case 128 + SIGABRT: return "a rank aborted"
        case 128 + SIGTERM: return "a rank was terminated"
        default: return status > 128 ? "a rank ended on signal \(status - 128)" : "exit status \(status)"
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

    /// posix_spawnp + waitpid with SPARROW_SUPERVISOR_STATUS set; the exit status, or 128 + signal number.
    private static func spawnAndWait(_ command: [String], status: String) -> Int32 {
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        var environment: [UnsafeMutablePointer<CChar>?] = [strdup("\(SupervisorStatus.variable)=\(status)")]
        var index = 0
        while let entry = environ[index] {
            if !String(cString: entry).hasPrefix(SupervisorStatus.variable + "=") { environment.append(strdup(entry)) }
            index += 1
        }
        environment.append(nil)
        defer { for p in argv + environment { free(p) } }
        let result = posix_spawnp(&pid, command[0], nil, nil, &argv, &environment)
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
