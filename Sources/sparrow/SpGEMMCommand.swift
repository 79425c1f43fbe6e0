import ArgumentParser
import SparrowCore
import SparrowMPI
import SparrowSpGEMM

struct SpGEMMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spgemm",
        abstract: "C = A·B by row-wise SpGEMM with hash accumulators and atomic merging of heavy rows.",
        discussion: """
        Examples:
          sparrow spgemm A.mtx A.mtx -o C.mtx
          mpirun -n 4 sparrow spgemm A.mtx B.mtx --threads 2 --balance flops --report r.json
          sparrow spgemm ash219.mtx ash219.mtx --transpose-a -o AtA.mtx --sorted
        """)

    @Argument(help: "A (Matrix Market).") var a: String
    @Argument(help: "B (Matrix Market).") var b: String
    @Option(name: .short, parsing: .unconditional, help: "Output C (Matrix Market); omitted: compute and report only.") var output: String?
    @Flag(name: .customLong("transpose-a"), help: "Use Aᵀ.") var transposeA = false
    @Flag(name: .customLong("transpose-b"), help: "Use Bᵀ.") var transposeB = false
    @Flag(help: "Sort the columns of each output row.") var sorted = false
    @Option(name: .customLong("heavy-threshold"), parsing: .unconditional, help: "Rows with at least this many multiply-adds use the shared atomic table (default: automatic).")
    var heavyThreshold: Int?
    @Option(parsing: .unconditional, help: "Passes: one (skip the symbolic pass; C's arrays bounded by the flops), two (count first, exact size), automatic (one when a sample of rows compresses by at most 1.25).")
    var passes: PassChoice = .automatic
    @Option(parsing: .unconditional, help: "Multiplications to run (timing; the last result is written).") var `repeat`: Int = 1
    @OptionGroup var load: LoadOptions
    @OptionGroup var common: CommonOptions

    func run() throws {
        let comm = Runtime.communicator!
        try common.validateThreads()
        _ = try NumericOption.repetitions.checked(`repeat`, .flags)
        if let heavyThreshold { _ = try LocalSpGEMM.Options.heavyThreshold.checked(heavyThreshold, .flags) }
        let start = System.now()
        var report = newReport("spgemm", common, comm)
        report.inputFiles([("a", a), ("b", b)])
        let progress = common.progress("spgemm", comm)
        var loadA = try load.options(threads: common.threadCount, allowsFlops: true)
        loadA.transpose = transposeA
        var loadB = loadA
        loadB.transpose = transposeB
        var matrixA = try report.measure("read") { () throws(SparrowError) in try DistributedLoader.load(path: a, options: loadA, communicator: comm) }
        let matrixB = try report.measure("read") { () throws(SparrowError) in
            a == b && transposeA == transposeB ? matrixA : try DistributedLoader.load(path: b, options: loadB, communicator: comm)
        }
        guard matrixA.globalColumns == matrixB.globalRows else {
            throw SparrowError.usage("shape mismatch: A\(transposeA ? "ᵀ" : "") is \(matrixA.globalRows) × \(matrixA.globalColumns) but B\(transposeB ? "ᵀ" : "") is \(matrixB.globalRows) × \(matrixB.globalColumns)")
        }
        if load.balance == "flops" {
            matrixA = try report.measure("balance") { () throws(SparrowError) in
                try DistributedSpGEMM.flopBalanced(matrixA, for: matrixB, communicator: comm)
            }
        }
        var options = SpGEMMOptions()
        options.threads = common.threadCount
        options.sortedOutput = sorted
        options.heavyRowThreshold = heavyThreshold
        options.passes = passes
        let workspace = SpGEMMWorkspace()
        var stats = DistributedSpGEMM.RankStatistics()
        var product: DistributedCSR?
        let multiplyStart = System.now()
        for iteration in 1...`repeat` {
            product = nil // release the previous C before making the next
            product = try DistributedSpGEMM.multiply(matrixA, matrixB, options: options, workspace: workspace,
                                                      communicator: comm, statistics: &stats)
            progress.update(iteration, of: `repeat`)
        }
        progress.finish()
        let multiplySeconds = System.now() - multiplyStart
        let c = product!
        let reps = Double(`repeat`)
        report.time("symbolic", comm.allreduce(stats.local.symbolicSeconds, .max) / reps)
        report.time("numeric", comm.allreduce(stats.local.numericSeconds, .max) / reps)
        report.time("communication", comm.allreduce(stats.communicationSeconds, .max) / reps)
        report.time("total_multiply", comm.allreduce(multiplySeconds, .max) / reps)
        if let output {
            try report.measure("write") { () throws(SparrowError) in
                try c.write(to: output, threads: common.threadCount, communicator: comm)
            }
        }
        let multiplyAdds = comm.allreduce(stats.local.multiplyAdds, .sum) / `repeat`
        let nnzC = c.globalNonzeros(comm)
        let computePerRank = comm.allgather(stats.computeSeconds / reps)
        report.metric("flops", 2 * multiplyAdds)
        report.metric("nnz_c", nnzC)
        report.metric("compression_factor", nnzC > 0 ? Double(multiplyAdds) / Double(nnzC) : 0)
        report.metric("gflops", 2 * Double(multiplyAdds) / max(1e-12, multiplySeconds / reps) / 1e9)
        report.metric("heavy_rows", comm.allreduce(stats.local.heavyRows, .sum) / `repeat`)
        report.metric("heavy_row_flops", 2 * comm.allreduce(stats.local.heavyRowMultiplyAdds, .sum) / `repeat`)
        report.metric("imbalance", RowPartition.imbalance(computePerRank))
        report.metric("sorted", .bool(sorted))
        report.perRank = comm.perRankReport([
            ("rows", Double(c.local.rows)), ("nnz_c", Double(c.local.nonzeros)),
            ("flops", Double(2 * stats.local.multiplyAdds / `repeat`)), ("compute_seconds", stats.computeSeconds / reps),
            ("bytes_received", Double(stats.bytesReceived / `repeat`)), ("fetched_rows", Double(stats.fetchedRows)),
            ("passes", Double(stats.local.passes)),
            ("owned_bytes", Double(matrixA.local.storageBytes + (a == b && transposeA == transposeB ? 0 : matrixB.local.storageBytes)
                                   + c.local.storageBytes)),
        ])
        report.time("total", System.now() - start)
        if comm.isRoot, !common.quiet {
            System.printError("sparrow: C is \(c.globalRows) × \(c.globalColumns), \(nnzC) nonzeros, \(2 * multiplyAdds) flops")
        }
        try common.write(report, comm)
    }
}

extension PassChoice: ExpressibleByArgument {}
