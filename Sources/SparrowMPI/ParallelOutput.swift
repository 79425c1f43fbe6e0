#if canImport(Glibc)
import Glibc
#endif
import SparrowCore

/// Output written by every rank at once, each its own byte ranges of one file
/// (CONVENTIONS: "each its own byte range of one file, which appears under its
/// final name only when complete"):
///
///   1. every rank formats its part; the part sizes are allgathered once and
///      the byte offsets follow by prefix sum;
///   2. rank 0 creates the temporary file (the same unpredictable name rule as
///      AtomicFileWriter) and writes the header;
///   3. every rank `pwrite`s its parts at their offsets and syncs;
///   4. when all succeeded, rank 0 renames the file into place (or, with an
///      `OutputSet`, leaves the rename to it, so several outputs appear
///      together); otherwise it removes it, and every rank reports the same error.
///
/// The ranks must share a file system (one host, NFS, Lustre, GPFS).
public enum ParallelOutput {
    /// Collective. `header` is the same on every rank; rank r's `segments[s]`
    /// goes after every rank's segments s′ < s and after segment s of ranks
    /// below r (an array file's columns are one segment each).
    public static func write(path: String, header: String, segments: [[UInt8]], into outputs: OutputSet? = nil,
                             communicator: Communicator) throws(SparrowError) {
        try write(path: path, header: Array(header.utf8), segments: segments, into: outputs, communicator: communicator)
    }

    /// As above, with a binary header.
    public static func write(path: String, header headerBytes: [UInt8], segments: [[UInt8]], into outputs: OutputSet? = nil,
                             communicator: Communicator) throws(SparrowError) {
        let segmentCount = segments.count
        let sizes = try communicator.allgatherv(segments.map(\.count))
        guard sizes.count == segmentCount * communicator.size else {
            throw .computation("internal: ranks disagree on the number of output segments for \(path)")
        }
        // Offsets: segment-major, then rank order within a segment.
        var offsets = [Int](repeating: 0, count: segmentCount)
        var position = headerBytes.count
        for s in 0..<segmentCount {
            for r in 0..<communicator.size {
                if r == communicator.rank { offsets[s] = position }
                position += sizes[r * segmentCount + s]
            }
        }
        let temporary = try communicator.onRoot { () throws(SparrowError) -> String in
            let (name, fd) = try AtomicFileWriter.createTemporary(for: path)
            defer { close(fd) }
            do throws(SparrowError) { try writeAll(headerBytes, at: 0, to: fd, path: path) } catch {
                unlink(name)
                ProcessSignals.forgetTemporary(name)
                throw error
            }
            return name
        }
        let name = communicator.broadcast(temporary ?? "", root: 0)
        do throws(SparrowError) {
            try communicator.everywhere { () throws(SparrowError) in
                let fd = open(name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
                guard fd >= 0 else { throw .output(path: path, message: "cannot open the partly written file: \(String(cString: strerror(errno)))") }
                defer { close(fd) }
                for s in 0..<segmentCount { try writeAll(segments[s], at: offsets[s], to: fd, path: path) }
                if fsync(fd) != 0 { throw .output(path: path, message: "cannot write: \(String(cString: strerror(errno)))") }
            }
            _ = try communicator.onRoot { () throws(SparrowError) in
                if let outputs {
                    outputs.add(temporary: name, final: path)
                    return
                }
                if rename(name, path) != 0 { throw .output(path: path, message: "cannot write: \(String(cString: strerror(errno)))") }
                ProcessSignals.forgetTemporary(name)
            }
        } catch {
            if communicator.isRoot {
                unlink(name)
                ProcessSignals.forgetTemporary(name)
            }
            throw error
        }
    }

    private static func writeAll(_ bytes: [UInt8], at offset: Int, to fd: Int32, path: String) throws(SparrowError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(offset + done)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw .output(path: path, message: "cannot write: \(String(cString: strerror(errno)))") }
            done += n
        }
    }
}

extension DistributedCSR {
    /// Collective: this matrix as a coordinate file, every rank writing its own
    /// rows (columns sorted within each row). Byte-identical to
    /// `MatrixMarket.write` of the whole matrix, at any rank count.
    /// A `.petsc` path gets PETSc's binary format instead (`wideIndices`: 64-bit indices).
    public func write(to path: String, field: MatrixMarketHeader.Field = .real, comment: String? = nil,
                      threads: Int = 1, wideIndices: Bool = false, into outputs: OutputSet? = nil,
                      communicator: Communicator) throws(SparrowError) {
        if field == .integer {
            try communicator.everywhere { () throws(SparrowError) in
                if let bad = local.values.firstIndex(where: { !($0 == $0.rounded() && abs($0) < 9.2e18) }) {
                    throw .usage("cannot write \(path) as integer: value \(local.values[bad]) is not an integer in the 64-bit range")
                }
            }
        }
        let stored = globalNonzeros(communicator)
        if PETScBinary.isOutputPath(path) {
            // Row lengths, column indices and values: three segments, each in rank order.
            let width = PETScBinary.indexBytes(rows: globalRows, columns: globalColumns, nonzeros: stored, wide: wideIndices)
            let header = PETScBinaryHeader(object: .sparse(nonzeros: stored), rows: globalRows, columns: globalColumns, indexBytes: width)
            return try ParallelOutput.write(path: path, header: PETScBinary.encodeHeader(header), segments: PETScBinary.encodeRows(local, width: width),
                                            into: outputs, communicator: communicator)
        }
        let sorted = local.sortedColumns()
        let body = MatrixMarket.formatCoordinateRows(sorted, rows: 0..<sorted.rows, firstRow: ownedRows.lowerBound,
                                                     field: field, threads: threads)
        let header = MatrixMarket.coordinateHeader(rows: globalRows, columns: globalColumns, stored: stored,
                                                   field: field, comment: comment)
        try ParallelOutput.write(path: path, header: header, segments: [body], into: outputs, communicator: communicator)
    }
}

extension ParallelOutput {
    /// Collective: a dense matrix distributed by rows (each rank's rows
    /// `rows` of `globalRows`, stored column-major in `owned`) as an `array
    /// real general` file, each rank writing its part of every column.
    public static func writeArray(owned: [Double], ownedRows: Int, globalRows: Int, columns: Int, path: String,
                                  comment: String? = nil, into outputs: OutputSet? = nil, communicator: Communicator) throws(SparrowError) {
        if PETScBinary.isOutputPath(path) {
            // PETSc stores a vector (one column) or a dense matrix row by row: each rank's rows are one segment.
            let width = PETScBinary.indexBytes(rows: globalRows, columns: columns, nonzeros: 0)
            let header = PETScBinaryHeader(object: columns == 1 ? .vector : .dense, rows: globalRows, columns: columns, indexBytes: width)
            let rowMajor = (0..<ownedRows * columns).lazy.map { k in owned[(k % columns) * ownedRows + k / columns] }
            return try write(path: path, header: PETScBinary.encodeHeader(header), segments: [PETScBinary.encodeDoubles(rowMajor)],
                             into: outputs, communicator: communicator)
        }
        var head = "%%MatrixMarket matrix array real general\n"
        if let comment { for line in comment.split(separator: "\n", omittingEmptySubsequences: false) { head += "% \(line)\n" } }
        head += "\(globalRows) \(columns)\n"
        let segments = (0..<columns).map { c in MatrixMarket.formatArrayValues(owned[(c * ownedRows)..<((c + 1) * ownedRows)]) }
        try write(path: path, header: head, segments: segments, into: outputs, communicator: communicator)
    }
}

extension Communicator {
    /// Collective: every rank renames the outputs it holds in `outputs`; if
    /// any rank fails, every rank removes what it renamed and all throw the
    /// same error (a set appears whole or not at all).
    public func commit(_ outputs: OutputSet) throws(SparrowError) {
        do throws(SparrowError) {
            try everywhere { () throws(SparrowError) in try outputs.renameAll() }
        } catch {
            outputs.unplace()
            throw error
        }
    }
}
