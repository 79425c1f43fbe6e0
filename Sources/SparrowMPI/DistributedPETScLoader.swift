import SparrowCore

/// Loads a PETSc binary file into a row-distributed matrix, every rank reading
/// only its own part with pread at computed offsets (no rank reads the whole
/// file): rank r reads the lengths of its block of rows, the ranks learn where
/// their entries start from one allgather of the block sums, and each reads
/// its column indices and values. The entries then move to their owners under
/// the balance rule, as a Matrix Market load does.
extension DistributedLoader {
    /// Collective. All ranks get the same result or the same error.
    static func loadPETSc(path: String, header: PETScBinaryHeader, options: Options,
                          communicator: Communicator) throws(SparrowError) -> DistributedCSR {
        guard header.rows <= Int(Int32.max), header.columns <= Int(Int32.max) else {
            throw PETScBinary.error(file: path, byte: header.indexBytes,
                                    "\(header.rows) × \(header.columns) has indices beyond 32 bits, which Sparrow's matrices do not hold")
        }
        guard case let .sparse(nonzeros) = header.object else {
            return try loadArray(path: path, header: header.matrixMarketEquivalent, threads: options.threads, communicator: communicator)
        }
        let rows = RowPartition.uniform(rows: header.rows, parts: communicator.size).range(of: communicator.rank)
        let (file, lengths) = try communicator.everywhere { () throws(SparrowError) -> (OpenFile, [Int]) in
            try header.checkMemory(file: path, ranks: communicator.size)
            let file = try OpenFile(path: path)
            return (file, try PETScBinary.rowLengths(file, header, rows: rows))
        }
        let counts = communicator.allgather(lengths.reduce(0, +))
        let total = counts.reduce(0, +)
        guard total == nonzeros else {
            throw PETScBinary.error(file: path, byte: header.rowLengthsOffset,
                                    "row lengths add up to \(total), the header declares \(nonzeros) nonzeros")
        }
        let first = counts[..<communicator.rank].reduce(0, +)
        var (columnIndices, values) = try communicator.everywhere { () throws(SparrowError) in
            try PETScBinary.entries(file, header, first: first, count: counts[communicator.rank])
        }
        var rowIndices = [Int32](repeating: 0, count: columnIndices.count)
        var e = 0
        for (k, length) in lengths.enumerated() {
            for _ in 0..<length { rowIndices[e] = Int32(rows.lowerBound + k); e += 1 }
        }
        // General and real: assembled (transposed if asked) as parsed Matrix Market entries are.
        return try assembleParsed(header: header.matrixMarketEquivalent, rows: &rowIndices, columns: &columnIndices, values: &values,
                                  options: options, communicator: communicator)
    }
}
