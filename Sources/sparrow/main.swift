import ArgumentParser
import SparrowCore
import SparrowMPI
#if canImport(Glibc)
import Glibc
#endif

System.capOpenMPThreads()
System.keepFreedMemory()

// The supervisor starts mpirun itself, so it must not be an MPI process.
if CommandLine.arguments.count > 1, CommandLine.arguments[1] == "supervise" {
    exit(Supervisor.main(Array(CommandLine.arguments.dropFirst(2))))
}

Runtime.communicator = Communicator.initialize()
let communicator = Runtime.communicator!
let status: Int32
do {
    var command = try Sparrow.parseAsRoot()
    try command.run()
    status = 0
} catch let error as SparrowError {
    if communicator.isRoot { for line in error.lines { System.printError("sparrow: error: \(line)") } }
    status = error.exitCode
} catch {
    // Argument parsing: help and version exit 0 on stdout; usage errors exit 2 with one line.
    let code = Sparrow.exitCode(for: error)
    if communicator.isRoot {
        if code == .success {
            print(Sparrow.fullMessage(for: error))
        } else {
            let message = Sparrow.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid usage"
            System.printError("sparrow: error: \(message) (see 'sparrow --help')")
        }
    }
    status = code == .success ? 0 : 2
}
// Every rank has decided its status; let rank 0's message reach mpirun's
// output forwarding before any rank exits non-zero (which aborts the job).
communicator.barrier()
Communicator.finalize()
exit(status)
