import ArgumentParser
import SparrowCore
import SparrowMPI
#if canImport(Glibc)
import Glibc
#endif

System.capOpenMPThreads()
System.keepFreedMemory()
// Crash and stop handlers first (installed again below, after MPI's own start-up).
ProcessSignals.install(rank: 0, printsStops: true)

// The supervisor starts mpirun itself, so it must not be an MPI process.
if CommandLine.arguments.count > 1, CommandLine.arguments[1] == "supervise" {
    exit(Supervisor.main(Array(CommandLine.arguments.dropFirst(2))))
}

// MPI starts only when a launcher (mpirun, srun) started this process: a
// plain `sparrow --version` or one-rank run skips the singleton start-up.
Runtime.communicator = Communicator.initialize()
let communicator = Runtime.communicator!
ProcessSignals.install(rank: communicator.rank, printsStops: communicator.isRoot)
var failure: SparrowError?
do {
    var command = try Sparrow.parseAsRoot()
    try CommandProvenance.record(command, communicator)
    try command.run()
} catch let error as SparrowError {
    failure = error
} catch {
    // Argument parsing: help and version exit 0 on stdout; usage errors exit 2 with one line.
    if Sparrow.exitCode(for: error) == .success {
        if communicator.isRoot { print(Sparrow.fullMessage(for: error)) }
    } else {
        let message = Sparrow.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid usage"
        failure = .usage("\(message) (see 'sparrow --help')")
    }
}
// The one failure path: one line, the contract's exit code, no rank left waiting.
communicator.exit(failing: failure)
