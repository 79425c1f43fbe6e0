import SparrowCore

/// Loads a Matrix Market file into a row-distributed matrix (a PETSc binary
/// file, told by its first bytes, goes to `loadPETSc`).
///
/// Parallel (default): every rank maps the file, parses the line-aligned share
/// of the data section that starts in its byte range, and the entries travel
/// to their owner ranks in one all-to-all. Line numbers in error messages are
/// stitched together from every rank's newline count, so a problem is reported
/// at the same FILE:LINE whatever the rank count.
/// Scatter (fallback): rank 0 parses the whole file, then the same all-to-all.
/// Compressed (`.mtx.gz/.bz2/.xz`, a SuiteSparse `.tar.gz`): rank 0
/// decompresses and parses chunk by chunk, each chunk's entries dealt out to
/// the ranks as it is parsed (`loadCompressed`).
public enum DistributedLoader {
    public enum Method: String, Sendable, CaseIterable { case parallel, scatter }

    public struct Options: Sendable {
        public var threads = 1
        public var balance: BalanceRule = .nnz
        public var method: Method = .parallel
        /// Load Aᵀ instead of A (swap coordinates before distribution: free).
        public var transpose = false
        public init() {}
    }

    /// Collective. All ranks get the same result or the same error.
    public static func load(path: String, options: Options, communicator: Communicator) throws(SparrowError) -> DistributedCSR {
        let size = communicator.size, rank = communicator.rank
        let arrayHeader = try communicator.everywhere { () throws(SparrowError) -> MatrixMarketHeader? in
            let header = try MatrixMarket.readHeader(path: path)
            return header.format == .array || header.petsc != nil ? header : nil
        }
        if let petsc = arrayHeader?.petsc { return try loadPETSc(path: path, header: petsc, options: options, communicator: communicator) }
        if arrayHeader == nil, try communicator.everywhere({ () throws(SparrowError) in try CompressedMatrixSource.open(path: path) != nil }) {
            return try loadCompressed(path: path, options: options, communicator: communicator)
        }
        if let arrayHeader { return try loadArray(path: path, header: arrayHeader, threads: options.threads, communicator: communicator) }
        // Rank-local: map, parse the header, check memory, parse this rank's byte range.
        let parsed = communicator.local { () throws(SparrowError) -> (MatrixMarketHeader, MatrixMarket.ParsedRegion, MappedFile) in
            let mapped = try MappedFile(path: path)
            let bytes = mapped.bytes
            let header = try MatrixMarketHeader.parse(bytes, isComplete: true, file: path)
            try header.checkMemory(file: path, ranks: size)
            let dataBytes = bytes.count - header.dataOffset
            let parts = options.method == .parallel ? size : 1
            let me = options.method == .parallel ? rank : 0
            let start = MatrixMarket.lineStart(atOrAfter: header.dataOffset + dataBytes * me / parts, in: bytes, dataStart: header.dataOffset)
            let end = me == parts - 1 ? bytes.count
                : MatrixMarket.lineStart(atOrAfter: header.dataOffset + dataBytes * (me + 1) / parts, in: bytes, dataStart: header.dataOffset)
            let mine = options.method == .parallel || rank == 0
            let region = MatrixMarket.parseRegion(bytes, start: start, end: mine ? end : start, header: header, threads: options.threads)
            return (header, region, mapped)
        }
        // Headers are parsed by every rank: an unreadable file fails everywhere alike.
        var (header, region, mapped) = try communicator.agree(consume parsed)
        let newlines = communicator.allgather(region.newlines)
        let entries = communicator.allgather(region.entries)
        let problemOffsets = communicator.allgather(region.problem?.lineOffset ?? -1)
        if let first = problemOffsets.firstIndex(where: { $0 >= 0 }) {
            let line = header.dataLine + newlines[..<first].reduce(0, +) + problemOffsets[first]
            let message = communicator.broadcast(region.problem?.message ?? "", root: first)
            throw .input(file: path, line: line, message: message)
        }
        let total = entries.reduce(0, +)
        if total != header.declaredEntries {
            let bytes = mapped.bytes
            let lastLine = header.dataLine + newlines.reduce(0, +) - (bytes.last == 10 ? 1 : 0)
            let data = UnsafeBufferPointer(rebasing: bytes[header.dataOffset...])
            // Every rank maps the file, so each can locate the surplus line itself.
            if let error = MatrixMarket.countProblem(path: path, header: header, found: total, lastLine: lastLine,
                                                     lineOfEntry: { header.dataLine + DataLineParser.lineOffsetOfEntry($0, in: data) }) {
                throw error
            }
        }
        System.traceMemory("parsed")
        mapped.releasePages()
        System.traceMemory("released")
        // The parsed arrays move into the assembly (which frees them early): drop every other reference.
        var rows = region.rowIndices, columns = region.columnIndices
        var values = region.values
        region.rowIndices = []; region.columnIndices = []; region.values = []
        return try assembleParsed(header: header, rows: &rows, columns: &columns, values: &values, options: options, communicator: communicator)
    }

    /// Collective: entries as parsed (one triangle of a symmetric file, no values for a
    /// pattern file) to the distributed matrix: values filled, halves mirrored, transposed
    /// if asked, then moved to their owners.
    static func assembleParsed(header: MatrixMarketHeader, rows: inout [Int32], columns: inout [Int32], values: inout [Double],
                               options: Options, communicator: Communicator) throws(SparrowError) -> DistributedCSR {
        if header.field == .pattern {
            values.reserveCapacity(columns.capacity)
            values.append(contentsOf: repeatElement(1, count: columns.count))
        }
        if header.symmetry != .general {
            let sign: Double = header.symmetry == .skewSymmetric ? -1 : 1
            let stored = columns.count
            var mirrored = 0
            for e in 0..<stored where rows[e] != columns[e] { mirrored += 1 }
            rows.reserveCapacity(stored + mirrored); columns.reserveCapacity(stored + mirrored); values.reserveCapacity(stored + mirrored)
            for e in 0..<stored where rows[e] != columns[e] {
                rows.append(columns[e])
                columns.append(rows[e])
                values.append(sign * values[e])
            }
        }
        var shapeRows = header.rows, shapeColumns = header.columns
        if options.transpose {
            swap(&rows, &columns)
            swap(&shapeRows, &shapeColumns)
        }
        return try DistributedCSR.assemble(rows: shapeRows, columns: shapeColumns, taking: &rows, &columns, &values,
                                           balance: options.balance, communicator: communicator)
    }
}

extension DistributedLoader {
    /// A dense array file as a distributed matrix with every entry stored: rows
    /// split evenly, each rank parsing the file for its own rows (collective).
    static func loadArray(path: String, header: MatrixMarketHeader, threads: Int, communicator: Communicator) throws(SparrowError) -> DistributedCSR {
        let partition = RowPartition.uniform(rows: header.rows, parts: communicator.size)
        let owned = partition.range(of: communicator.rank)
        let m = header.columns
        let values = try communicator.everywhere { () throws(SparrowError) -> [Double] in
            try MemoryBudget.check(Double(owned.count) * Double(m) * 20, for: "array \(header.rows) × \(m) (\(owned.count) rows on this rank)") {
                .input(file: path, line: header.sizeLine, message: $0)
            }
            return try MatrixMarket.arrayRows(path: path, header: header, owned: owned, threads: threads)
        }
        let columns = (0..<owned.count).flatMap { _ in (0..<m).map { Int32($0) } }
        let local = CSRMatrix(rows: owned.count, columns: m, rowPointers: (0...owned.count).map { $0 * m },
                              columnIndices: columns, values: values, columnsSorted: true)
        return DistributedCSR(local: local, partition: partition, globalColumns: m, rank: communicator.rank)
    }
}
