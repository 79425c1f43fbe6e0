import ArgumentParser
import SparrowCore
import SparrowMPI

/// Process-wide state of the executable. Set once in main.swift before any
/// command runs and touched only from the main thread, where every MPI call lives.
enum Runtime {
    nonisolated(unsafe) static var communicator: Communicator!
}

struct Sparrow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sparrow",
        abstract: "Distributed sparse linear algebra over MPI, with SuiteSparse for factorizations.",
        discussion: """
        Every verb runs on 1 rank or under `mpirun -n P` with the same flags and results.
        Inputs and outputs are Matrix Market files; --report PATH writes a JSON report.
        Exit codes: 0 success, 1 computation failed, 2 bad input or usage.
        """,
        version: Provenance.version,
        subcommands: [Info.self, Generate.self, Convert.self, SpMV.self, SpGEMMCommand.self, Solve.self, Transport.self, Sparsify.self, Complete.self, Run.self, Serve.self, Verify.self, SuperviseHelp.self])
}

/// Flags every verb shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: "Write a JSON report to this path.")
    var report: String?

    @Option(name: .long, parsing: .unconditional, help: "Threads per rank (default: cores / ranks on this node).")
    var threads: Int?

    @Flag(name: .long, help: "No progress output.")
    var quiet = false

    @Option(name: .customLong("memory-limit"), parsing: .unconditional, help: "Memory per rank, e.g. 8G (default: available memory / ranks on the node).")
    var memoryLimit: String?

    @Option(name: .customLong("input-digests"), parsing: .unconditional,
            help: "sha256: the report records each input file's SHA-256 (rank 0 reads every input whole, about 1 s/GB); none: it does not.")
    var inputDigests: String = "sha256"

    @Option(name: .customLong("petsc-indices"), parsing: .unconditional,
            help: "Index width of .petsc outputs: 32 (PETSc's default build) or 64 (a PETSc built --with-64-bit-indices); 64 whenever a size needs it.")
    var petscIndices: Int = 32

    var threadCount: Int { max(1, threads ?? defaultThreadCount()) }

    func validateThreads() throws(SparrowError) {
        if let threads { _ = try NumericOption.threads.checked(threads, .flags) }
        if let memoryLimit {
            guard let bytes = MemoryBudget.parseSize(memoryLimit) else {
                throw .field(name: "--memory-limit", message: "expected a size such as 512M, 8G or 1.5T, got '\(memoryLimit)'")
            }
            MemoryBudget.limitPerRank = bytes
        }
        // The provenance shows what these resolved to; without a report nothing needs the inputs' digests.
        CommandProvenance.resolve("threads", .integer(threadCount))
        CommandProvenance.resolve("memory_limit", MemoryBudget.budget().map { .integer($0.bytes) } ?? .null)
        guard petscIndices == 32 || petscIndices == 64 else {
            throw .field(name: "--petsc-indices", message: "expected 32 or 64, got \(petscIndices)")
        }
        PETScBinary.wideIndicesByDefault = petscIndices == 64
        guard inputDigests == "sha256" || inputDigests == "none" else {
            throw .field(name: "--input-digests", message: "expected sha256 or none, got '\(inputDigests)'")
        }
        InputDigests.declined = inputDigests == "none"
        if report == nil || InputDigests.declined { InputDigests.enabled = false }
    }

    /// Writes the report on rank 0 (all ranks agree on success).
    func write(_ report: Report, _ communicator: Communicator) throws(SparrowError) {
        guard let path = self.report else { return }
        _ = try communicator.onRoot { () throws(SparrowError) in try report.write(to: path) }
    }

    /// Warnings go to standard error on rank 0 whatever --quiet says: they are not progress.
    func printWarnings(_ report: Report, _ communicator: Communicator) {
        guard communicator.isRoot else { return }
        for warning in report.warnings { System.printError("sparrow: warning: \(warning)") }
    }

    func progress(_ label: String, _ communicator: Communicator) -> Progress {
        Progress(label, enabled: communicator.isRoot && !quiet)
    }
}

/// Flags for reading a distributed sparse matrix.
struct LoadOptions: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: "Row partition: rows, nnz or flops (flops: spgemm only).")
    var balance: String = "nnz"

    @Option(name: .long, parsing: .unconditional, help: "parallel (each rank parses its byte range) or scatter (rank 0 parses).")
    var load: String = "parallel"

    /// `allowsFlops`: only a product has flops to balance; other verbs refuse `--balance flops`
    /// rather than quietly reading it as nnz. (The product reads by nnz, then rebalances.)
    func options(threads: Int, allowsFlops: Bool = false) throws(SparrowError) -> DistributedLoader.Options {
        var o = DistributedLoader.Options()
        o.threads = threads
        guard let b = BalanceRule(rawValue: balance), b != .flops || allowsFlops else {
            throw .field(name: "--balance", message: "expected rows or nnz\(allowsFlops ? " or flops" : " (flops applies to spgemm only)"), got '\(balance)'")
        }
        o.balance = b == .flops ? .nnz : b
        guard let m = DistributedLoader.Method(rawValue: load) else {
            throw .field(name: "--load", message: "expected parallel or scatter, got '\(load)'")
        }
        o.method = m
        return o
    }
}

/// Whole-verb wall time and the shared report fields.
func newReport(_ command: String, _ common: CommonOptions, _ communicator: Communicator) -> Report {
    Report(command: command, ranks: communicator.size, threads: common.threadCount)
}

/// Listed for --help; `sparrow supervise` itself is handled before MPI starts (main.swift).
struct SuperviseHelp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervise",
        abstract: "Restart a command (mpirun … sparrow serve …) when a rank dies; give up after N quick failures.",
        discussion: """
        Example:
          sparrow supervise --max-failures 3 --window 60 -- mpirun -n 4 sparrow serve --spool /srv/sparrow
        """)
    @Argument(parsing: .captureForPassthrough) var command: [String] = []
}
