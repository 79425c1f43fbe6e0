import SparrowCore

/// Loads a compressed Matrix Market file (CompressedMatrixSource: `.mtx.gz`,
/// `.mtx.bz2`, `.mtx.xz`, a SuiteSparse `.tar.gz`) into a row-distributed
/// matrix without any rank holding the whole text or all the entries: rank 0
/// decompresses a chunk, parses it (on its threads), and deals its entries out
/// to the ranks in equal parts by one all-to-all, then the next chunk; the
/// entries finally move to their owners as in every load. A stream cannot be
/// split among readers, so decompression and parsing are rank 0's alone.
extension DistributedLoader {
    /// Text decompressed per round: bounded, whatever the file's size.
    static let compressedChunkBytes = 32 << 20

    /// Collective. All ranks get the same result or the same error.
    static func loadCompressed(path: String, options: Options, communicator: Communicator) throws(SparrowError) -> DistributedCSR {
        let header = try communicator.everywhere { () throws(SparrowError) -> MatrixMarketHeader in
            let header = try MatrixMarket.readHeader(path: path)
            try header.checkMemory(file: path, ranks: communicator.size)
            return header
        }
        let reader = try communicator.everywhere { () throws(SparrowError) -> CompressedTextChunks? in
            communicator.isRoot ? try CompressedTextChunks(path: path, header: header, threads: options.threads) : nil
        }
        var rows: [Int32] = [], columns: [Int32] = [], values: [Double] = []
        while true {
            // Rank 0 parses the next chunk; a problem in it fails every rank alike.
            let parsed = try communicator.agree(communicator.local { () throws(SparrowError) -> MatrixMarket.ParsedRegion? in
                try reader?.next()
            })
            let more = communicator.broadcast([parsed == nil ? 0 : 1], root: 0)[0] == 1
            if !more { break }
            let count = parsed?.columnIndices.count ?? 0
            let shares = (0..<communicator.size).map { r in
                communicator.isRoot ? count * (r + 1) / communicator.size - count * r / communicator.size : 0
            }
            rows += try communicator.alltoallv(parsed?.rowIndices ?? [], sendCounts: shares).values
            columns += try communicator.alltoallv(parsed?.columnIndices ?? [], sendCounts: shares).values
            if header.field != .pattern {
                values += try communicator.alltoallv(parsed?.values ?? [], sendCounts: shares).values
            }
        }
        try communicator.agree(communicator.local { () throws(SparrowError) in try reader?.finish() })
        return try assembleParsed(header: header, rows: &rows, columns: &columns, values: &values, options: options, communicator: communicator)
    }
}

/// Rank 0's side: the data lines of a compressed file, chunk by chunk, parsed
/// with their line numbers kept, so errors name FILE:LINE as for a plain file.
final class CompressedTextChunks {
    let path: String
    let header: MatrixMarketHeader
    let threads: Int
    let source: CompressedMatrixSource
    /// Text read but not yet parsed (a line cut by the end of a chunk).
    var carry: [UInt8] = []
    var line: Int
    var entries = 0
    var endedWithNewline = true
    var ended = false

    init(path: String, header: MatrixMarketHeader, threads: Int) throws(SparrowError) {
        self.path = path
        self.header = header
        self.threads = threads
        guard let source = try CompressedMatrixSource.open(path: path) else {
            throw .input(file: path, line: nil, message: "is no longer compressed")
        }
        self.source = source
        line = header.dataLine
        // Past the header's bytes.
        var skipped = 0
        while skipped < header.dataOffset {
            let chunk = try source.read(header.dataOffset - skipped)
            if chunk.isEmpty { break }
            skipped += chunk.count
        }
    }

    /// The next chunk's entries; nil at the end.
    func next() throws(SparrowError) -> MatrixMarket.ParsedRegion? {
        if ended { return nil }
        var cut = 0
        while cut == 0 {
            let fresh = try source.read(DistributedLoader.compressedChunkBytes)
            if fresh.isEmpty { ended = true }
            carry += fresh
            if carry.isEmpty { return nil }
            // Parse whole lines only; at the end, whatever is left.
            cut = ended ? carry.count : (carry.lastIndex(of: 10).map { $0 + 1 } ?? 0)
            // A line no data line could be (a decompression bomb of one endless line) stops here.
            if cut == 0, carry.count > 2 * DistributedLoader.compressedChunkBytes {
                throw .input(file: path, line: line, message: "line is longer than \(carry.count) bytes")
            }
        }
        let region = carry.withUnsafeBufferPointer { bytes in
            MatrixMarket.parseRegion(bytes, start: 0, end: cut, header: header, threads: threads)
        }
        if let problem = region.problem { throw .input(file: path, line: line + problem.lineOffset, message: problem.message) }
        if entries + region.entries > header.declaredEntries {
            let startLine = line
            let offset = carry.withUnsafeBufferPointer { bytes in
                DataLineParser.lineOffsetOfEntry(header.declaredEntries - entries, in: UnsafeBufferPointer(rebasing: bytes[0..<cut]))
            }
            throw .input(file: path, line: startLine + offset, message: "more entries than the \(header.declaredEntries) declared")
        }
        entries += region.entries
        line += region.newlines
        endedWithNewline = carry[cut - 1] == 10
        carry.removeFirst(cut)
        return region
    }

    /// After the last chunk: fewer entries than declared is an error at the last line.
    func finish() throws(SparrowError) {
        if let error = MatrixMarket.countProblem(path: path, header: header, found: entries,
                                                 lastLine: line - (endedWithNewline ? 1 : 0), lineOfEntry: { _ in line }) {
            throw error
        }
    }
}
