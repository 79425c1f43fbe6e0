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
    @Option(help: "x: ones, random:1, or an array .mtx file.") var x: String = "ones"
    @Option(help: "Products to run (timing).") var `repeat`: Int = 1
    @Option(name: .short, help: "Output y (array .mtx).") var output: String?
    @OptionGroup var load: LoadOptions
    @OptionGroup var common: CommonOptions

    func run() throws {
        let comm = Runtime.communicator!
        try common.validateThreads()
        guard `repeat` >= 1 else { throw SparrowError.field(name: "--repeat", message: "must be ≥ 1") }
        let start = System.now()
        var report = newReport("spmv", common, comm)
        report.inputs = [("a", .string(matrix)), ("x", .string(x))]
        let a = try report.measure("read") { () throws(SparrowError) in
            try DistributedLoader.load(path: matrix, options: load.options(threads: common.threadCount), communicator: comm)
        }
        let fullX = try comm.everywhere { () throws(SparrowError) in 
            let dense = try DenseSpec.parse(x, rows: a.globalColumns, field: "--x")
            guard dense.columns == 1 else { throw SparrowError.field(name: "--x", message: "must be one vector, got \(dense.columns) columns") }
            return dense.values
        }
        let columnPartition = a.globalColumns == a.globalRows ? a.partition : .uniform(rows: a.globalColumns, parts: comm.size)
        let ownedX = Array(fullX[columnPartition.range(of: comm.rank)])
        let product = try report.measure("setup") { () throws(SparrowError) in
            try DistributedSpMV(matrix: a, columnPartition: columnPartition, communicator: comm)
        }
        var y: [Double] = []
        try report.measure("multiply") { () throws(SparrowError) in
            for _ in 0..<`repeat` { y = try product.apply(ownedX, communicator: comm) }
        }
        let gathered = try comm.gatherv(y)
        if let output {
            try report.measure("write") { () throws(SparrowError) in
                _ = try comm.onRoot { () throws(SparrowError) in
                    let all = gathered!.flatMap { $0 }
                    try MatrixMarket.write(DenseMatrix(rows: all.count, columns: 1, values: all), to: output)
                }
            }
        }
        report.metric("nnz", a.globalNonzeros(comm))
        report.metric("ghost_entries", comm.allreduce(product.plan.neededIndices.count, .sum))
        report.perRank = comm.perRankReport([("rows", Double(a.local.rows)), ("nnz", Double(a.local.nonzeros)),
                                             ("bytes_received", Double(comm.bytesReceived))])
        report.time("communication", comm.communicationSeconds)
        report.time("total", System.now() - start)
        try common.write(report, comm)
    }
}
