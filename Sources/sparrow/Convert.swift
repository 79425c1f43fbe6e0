import ArgumentParser
import SparrowCore
import SparrowMPI

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read a matrix distributed, gather it to rank 0 and write it (optionally transposed or as one triangle).",
        discussion: """
        Examples:
          sparrow convert bcsstk13.mtx -o full.mtx
          mpirun -n 3 sparrow convert ash219.mtx --transpose -o ash219T.mtx
          sparrow convert full.mtx --symmetry symmetric -o lower.mtx
        """)

    @Argument(help: "Input Matrix Market file.") var input: String
    @Option(name: .short, parsing: .unconditional, help: "Output Matrix Market file.") var output: String
    @Flag(help: "Write the transpose.") var transpose = false
    @Option(parsing: .unconditional, help: "Output symmetry: general, symmetric or skew-symmetric.") var symmetry: String = "general"
    @Option(parsing: .unconditional, help: "Output field: real, integer or pattern.") var field: String = "real"
    @OptionGroup var load: LoadOptions
    @OptionGroup var common: CommonOptions

    func run() throws {
        let comm = Runtime.communicator!
        try common.validateThreads()
        guard let symmetry = MatrixMarketHeader.Symmetry(rawValue: symmetry) else {
            throw SparrowError.field(name: "--symmetry", message: "expected general, symmetric or skew-symmetric, got '\(self.symmetry)'")
        }
        guard let field = MatrixMarketHeader.Field(rawValue: field) else {
            throw SparrowError.field(name: "--field", message: "expected real, integer or pattern, got '\(self.field)'")
        }
        let start = System.now()
        var report = newReport("convert", common, comm)
        report.inputs = [("matrix", .string(input))]
        var options = try load.options(threads: common.threadCount)
        options.transpose = transpose
        let matrix = try report.measure("read") { () throws(SparrowError) in
            try DistributedLoader.load(path: input, options: options, communicator: comm)
        }
        if symmetry == .general {
            try report.measure("write") { () throws(SparrowError) in
                try matrix.write(to: output, field: field, threads: common.threadCount, communicator: comm)
            }
        } else {
            // Checking a symmetry needs both triangles side by side: gathered to rank 0.
            let whole = try report.measure("gather") { () throws(SparrowError) in try matrix.gather(comm) }
            try report.measure("write") { () throws(SparrowError) in
                _ = try comm.onRoot { () throws(SparrowError) in
                    try MatrixMarket.write(whole!, to: output, field: field, symmetry: symmetry, threads: common.threadCount)
                }
            }
        }
        report.metric("nnz", matrix.globalNonzeros(comm))
        report.perRank = comm.perRankReport([("rows", Double(matrix.local.rows)), ("nnz", Double(matrix.local.nonzeros)),
                                             ("bytes_received", Double(comm.bytesReceived))])
        report.time("communication", comm.communicationSeconds)
        report.time("total", System.now() - start)
        try common.write(report, comm)
    }
}
