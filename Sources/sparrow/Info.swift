import ArgumentParser
import SparrowCore
import SparrowMPI

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Shape, entries, banner and symmetry of a Matrix Market or PETSc binary file (validates every entry).",
        discussion: """
        Example:
          sparrow info bcsstk13.mtx
          mpirun -n 2 sparrow info bcsstk13.mtx --report info.json
        """)

    @Argument(help: "Matrix Market or PETSc binary file.") var file: String
    @OptionGroup var load: LoadOptions
    @OptionGroup var common: CommonOptions

    func run() throws {
        let comm = Runtime.communicator!
        try common.validateThreads()
        let start = System.now()
        var report = newReport("info", common, comm)
        report.inputFiles([("matrix", file)])
        let header = try comm.everywhere { () throws(SparrowError) in try MatrixMarket.readHeader(path: file) }
        var lines = [
            "file: \(file)",
            "banner: \(header.banner)",
            "rows: \(header.rows)",
            "columns: \(header.columns)",
            "stored entries: \(header.declaredEntries)",
        ]
        report.metric("rows", header.rows)
        report.metric("columns", header.columns)
        report.metric("stored_entries", header.declaredEntries)
        report.metric("format", .string(header.format.rawValue))
        report.metric("field", .string(header.field.rawValue))
        report.metric("symmetry", .string(header.symmetry.rawValue))
        if header.format == .coordinate {
            let matrix = try report.measure("read") { () throws(SparrowError) in
                try DistributedLoader.load(path: file, options: load.options(threads: common.threadCount), communicator: comm)
            }
            let nnz = matrix.globalNonzeros(comm)
            let perRank = comm.allgather(matrix.local.nonzeros)
            lines.append("nonzeros: \(nnz)\(header.symmetry == .general ? "" : " (both triangles)")")
            lines.append("symmetry: \(header.symmetry.rawValue)")
            if comm.size > 1 {
                lines.append("nnz per rank: " + perRank.enumerated().map { "\($0.offset): \($0.element)" }.joined(separator: ", "))
            }
            report.metric("nnz", nnz)
            report.perRank = comm.perRankReport([("rows", Double(matrix.local.rows)), ("nnz", Double(matrix.local.nonzeros)),
                                                 ("bytes_received", Double(comm.bytesReceived))])
        } else {
            _ = try comm.everywhere { () throws(SparrowError) in try MatrixMarket.read(path: file, threads: common.threadCount) }
            lines.append("symmetry: \(header.symmetry.rawValue)")
        }
        if comm.isRoot { print(lines.joined(separator: "\n")) }
        report.time("total", System.now() - start)
        try common.write(report, comm)
    }
}
