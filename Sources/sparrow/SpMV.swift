import ArgumentParser
import SparrowCore
import SparrowMPI

struct SpMV: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spmv",
        abstract: "y = A x for a distributed sparse A (exchange plan for ghost entries of x).",
        discussion: """
        Examples:
          sparrow spmv A.mtx --x ones -o y.mtx
          mpirun -n 3 sparrow spmv A.mtx --x random:1 --repeat 10 -o y.mtx --report spmv.json
        """)

    @Argument(help: "Sparse matrix A (Matrix Market).") var matrix: String
    @Option(parsing: .unconditional, help: "x: ones, random:1, or an array .mtx file.") var x: String = "ones"
    @Option(parsing: .unconditional, help: "Products to run (timing).") var `repeat`: Int = 1
    @Option(name: .short, parsing: .unconditional, help: "Output y (array .mtx).") var output: String?
    @OptionGroup var load: LoadOptions
    @OptionGroup var common: CommonOptions

    func run() throws {
        let comm = Runtime.communicator!
        try common.validateThreads()
        _ = try NumericOption.repetitions.checked(`repeat`, .flags)
        let start = System.now()
        var report = newReport("spmv", common, comm)
        report.inputFiles([("a", matrix), ("x", x)])
        let a = try report.measure("read") { () throws(SparrowError) in
            try DistributedLoader.load(path: matrix, options: load.options(threads: common.threadCount), communicator: comm)
        }
        System.traceMemory("spmv: loaded")
        // x is distributed like A's columns: each rank builds (or reads) only its own entries.
        let columnPartition = a.globalColumns == a.globalRows ? a.partition : .uniform(rows: a.globalColumns, parts: comm.size)
        let ownedX = try comm.everywhere { () throws(SparrowError) in
            let columns = try DenseSpec.parseOwned(x, rows: a.globalColumns, owned: columnPartition.range(of: comm.rank), field: "--x")
            guard columns.count == 1 else { throw SparrowError.field(name: "--x", message: "must be one vector, got \(columns.count) columns") }
            return columns[0]
        }
        let product = try report.measure("setup") { () throws(SparrowError) in
            try DistributedSpMV(matrix: a, columnPartition: columnPartition, communicator: comm)
        }
        System.traceMemory("spmv: set up")
        var y: [Double] = []
        try report.measure("multiply") { () throws(SparrowError) in
            for _ in 0..<`repeat` { y = try product.apply(ownedX, communicator: comm) }
        }
        if let output {
            try report.measure("write") { () throws(SparrowError) in
                try ParallelOutput.writeArray(owned: y, ownedRows: y.count, globalRows: a.globalRows, columns: 1,
                                              path: output, communicator: comm)
            }
        }
        report.metric("nnz", a.globalNonzeros(comm))
        report.metric("ghost_entries", comm.allreduce(product.plan.neededIndices.count, .sum))
        report.perRank = comm.perRankReport([("rows", Double(a.local.rows)), ("nnz", Double(a.local.nonzeros)),
                                             ("owned_bytes", Double(a.local.storageBytes + product.compactLocal.columnIndices.count * 4
                                                                    + (ownedX.count + y.count) * 8)),
                                             ("ghost_entries", Double(product.plan.neededIndices.count)),
                                             ("neighbours", Double(product.plan.partners)),
                                             ("bytes_received", Double(comm.bytesReceived))])
        report.time("communication", comm.communicationSeconds)
        report.time("total", System.now() - start)
        try common.write(report, comm)
    }
}
