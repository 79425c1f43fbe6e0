import SparrowCore
import SparrowMPI

/// Writes a job's named outputs as soon as their values exist, each under a
/// temporary name kept in `staging` (the job renames them all at its end):
/// matrices by every rank at once (its own rows), JSON by rank 0 (a dense
/// value's JSON is gathered there).
struct JobOutputWriter {
    let outputs: [JobPlan.Output]
    let outputDirectory: String
    let communicator: Communicator
    let threads: Int
    let staging: OutputSet

    /// Rank 0 makes the output directories (only it writes).
    func makeDirectories() throws(SparrowError) {
        _ = try communicator.onRoot { () throws(SparrowError) in
            if !System.isDirectory(outputDirectory) { try System.makeDirectories(outputDirectory) }
            for output in outputs {
                let directory = output.path.lastIndex(of: "/").map { String(output.path[..<$0]) } ?? "."
                if !System.isDirectory(directory) { try System.makeDirectories(directory) }
            }
        }
    }

    /// Collective: writes every output that names `name`; returns the seconds spent.
    func write(_ name: String, _ value: JobValue) throws(SparrowError) -> Double {
        let start = System.now()
        for output in outputs where output.name == name {
            switch (value, output.format) {
            case let (.sparse(matrix), .matrix):
                try matrix.write(to: output.path, threads: threads, into: staging, communicator: communicator)
            case let (.dense(matrix), .matrix):
                try matrix.write(to: output.path, into: staging, communicator: communicator)
            case (.group, _):
                throw .usage("output \(name): internal error, a step's group of values reached the writer unsplit")
            case (.metrics, .matrix):
                throw .usage("output \(name): the step makes figures, not a matrix; use a .json path")
            case let (.metrics(fields), .json):
                try writeJSON(fields, to: output.path)
            case let (.sparse(matrix), .json):
                let nonzeros = matrix.globalNonzeros(communicator)
                try writeJSON([("rows", .integer(matrix.globalRows)), ("columns", .integer(matrix.globalColumns)), ("nnz", .integer(nonzeros))],
                              to: output.path)
            case let (.dense(distributed), .json):
                let whole = try distributed.gather(communicator: communicator)
                try writeJSON([("rows", .integer(distributed.globalRows)), ("columns", .integer(distributed.columns)),
                               ("values", .array((whole?.values ?? []).map { .number($0) }))], to: output.path)
            }
        }
        return System.now() - start
    }

    private func writeJSON(_ fields: [(String, JSONValue)], to path: String) throws(SparrowError) {
        _ = try communicator.onRoot { () throws(SparrowError) in
            try AtomicFileWriter.write(JSONValue.object(fields).serialized(indent: 2) + "\n", to: path, into: staging)
        }
    }
}
