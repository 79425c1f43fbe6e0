import ArgumentParser
import SparrowCore
import SparrowMPI

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read a matrix distributed and write it back, in parallel (optionally transposed or as one triangle), between Matrix Market and PETSc binary.",
        discussion: """
        Inputs are Matrix Market or PETSc binary (told by their first bytes, 32- or
        64-bit indices); an output ending in .petsc is written in PETSc's binary
        format (MatLoad/VecLoad read it), anything else as Matrix Market.

        Examples:
          sparrow convert bcsstk13.mtx -o full.mtx
          mpirun -n 4 sparrow convert bcsstk13.mtx -o bcsstk13.petsc
          sparrow convert A.petsc -o A.mtx
          mpirun -n 3 sparrow convert ash219.mtx --transpose -o ash219T.mtx
          sparrow convert full.mtx --symmetry symmetric -o lower.mtx
        """)

    @Argument(help: "Input file (Matrix Market or PETSc binary).") var input: String
    @Option(name: .short, parsing: .unconditional, help: "Output file (.petsc: PETSc binary; otherwise Matrix Market).") var output: String
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
        if PETScBinary.isOutputPath(output), symmetry != .general || field != .real {
            throw SparrowError.usage("\(output): a PETSc binary file stores every entry as a real value; --symmetry and --field apply to Matrix Market outputs only")
        }
        let start = System.now()
        var report = newReport("convert", common, comm)
        report.inputFiles([("matrix", input)])
        let header = try comm.everywhere { () throws(SparrowError) in try MatrixMarket.readHeader(path: input) }
        if header.format == .array, header.symmetry == .general, !transpose, symmetry == .general, field == .real {
            // A dense input stays dense (a vector or dense PETSc matrix, an array file), each rank its rows.
            let owned = RowPartition.uniform(rows: header.rows, parts: comm.size).range(of: comm.rank)
            let columns = try report.measure("read") { () throws(SparrowError) in
                try comm.everywhere { () throws(SparrowError) in
                    try DenseSpec.parseOwned(input, rows: header.rows, owned: owned, field: "input", threads: common.threadCount)
                }
            }
            try report.measure("write") { () throws(SparrowError) in
                try ParallelOutput.writeArray(owned: columns.flatMap { $0 }, ownedRows: owned.count, globalRows: header.rows,
                                              columns: header.columns, path: output, communicator: comm)
            }
            report.metric("rows", header.rows)
            report.metric("columns", header.columns)
            report.time("total", System.now() - start)
            return try common.write(report, comm)
        }
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
