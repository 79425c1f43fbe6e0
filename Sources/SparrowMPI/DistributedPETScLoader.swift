import SparrowCore

/// Loads a PETSc binary file into a row-distributed matrix, every rank reading
/// only its own part with pread at computed offsets (no rank reads the whole
/// file). A PETSc file is already in CSR order, so the rows need not travel:
///   1. rank r reads the lengths of its uniform block of rows;
///   2. the final partition follows from them (`RowPartition.balanced` on the
///      row lengths for `--balance nnz`, one allgather and one allreduce of P);
///   3. each rank reads the lengths of its final rows, learns where its entries
///      start from one allgather of the counts, reads its column indices and
///      values, and builds its CSR block in place.
/// A file with a row whose columns are out of order or repeated (PETSc writes
/// neither), or a transposed load, goes through the triplet assembly instead,
/// which sorts and sums as for Matrix Market.
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
        let size = communicator.size, rank = communicator.rank
        let block = RowPartition.uniform(rows: header.rows, parts: size).range(of: rank)
        let (file, blockLengths) = try communicator.everywhere { () throws(SparrowError) -> (OpenFile, [Int]) in
            try header.checkMemory(file: path, ranks: size)
            let file = try OpenFile(path: path)
            return (file, try PETScBinary.rowLengths(file, header, rows: block))
        }
        let partition = options.balance == .rows || size == 1 || options.transpose
            ? RowPartition.uniform(rows: header.rows, parts: size)
            : RowPartition.balanced(ownedWeights: blockLengths, firstRow: block.lowerBound, globalRows: header.rows, communicator: communicator)
        let mine = partition.range(of: rank)
        // Collective on every rank, also where the final rows are the block already read.
        let lengths = try communicator.everywhere { () throws(SparrowError) in
            mine == block ? blockLengths : try PETScBinary.rowLengths(file, header, rows: mine)
        }
        let counts = communicator.allgather(lengths.reduce(0, +))
        let total = counts.reduce(0, +)
        guard total == nonzeros else {
            throw PETScBinary.error(file: path, byte: header.rowLengthsOffset,
                                    "row lengths add up to \(total), the header declares \(nonzeros) nonzeros")
        }
        var (columnIndices, values) = try communicator.everywhere { () throws(SparrowError) in
            try PETScBinary.entries(file, header, first: counts[..<rank].reduce(0, +), count: counts[rank])
        }
        var rowPointers = [Int](repeating: 0, count: lengths.count + 1)
        for (k, length) in lengths.enumerated() { rowPointers[k + 1] = rowPointers[k] + length }
        var ordered = true
        for k in 0..<lengths.count where ordered {
            var p = rowPointers[k] + 1
            while p < rowPointers[k + 1] { if columnIndices[p - 1] >= columnIndices[p] { ordered = false; break }; p += 1 }
        }
        if communicator.allreduce(ordered ? 0 : 1, .max) == 0, !options.transpose {
            let local = CSRMatrix(rows: mine.count, columns: header.columns, rowPointers: rowPointers, columnIndices: columnIndices,
                                  values: values, columnsSorted: true)
            return DistributedCSR(local: local, partition: partition, globalColumns: header.columns, rank: rank)
        }
        var rowIndices = [Int32](repeating: 0, count: columnIndices.count)
        for k in 0..<lengths.count { for p in rowPointers[k]..<rowPointers[k + 1] { rowIndices[p] = Int32(mine.lowerBound + k) } }
        // General and real: assembled (transposed if asked) as parsed Matrix Market entries are.
        return try assembleParsed(header: header.matrixMarketEquivalent, rows: &rowIndices, columns: &columnIndices, values: &values,
                                  options: options, communicator: communicator)
    }
}
