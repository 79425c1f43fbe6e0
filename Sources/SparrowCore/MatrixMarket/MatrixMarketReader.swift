#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The contents of a Matrix Market file as stored: coordinate entries (0-based,
/// one triangle for symmetric files) or array values (column-major).
public struct MatrixMarketFile: Sendable {
    public var header: MatrixMarketHeader
    public var rowIndices: [Int32]
    public var columnIndices: [Int32]
    /// Coordinate values (empty for pattern files) or array values.
    public var values: [Double]

    /// The full matrix as CSR: symmetric and skew-symmetric halves mirrored
    /// (diagonal once, skew negated), pattern values 1, duplicates summed.
    public func csr() -> CSRMatrix {
        switch header.format {
        case .coordinate:
            if header.symmetry == .general, header.field != .pattern,
               let inOrder = CoordinateAssembler.csrIfRowMajor(rows: header.rows, columns: header.columns, rowIndices: rowIndices,
                                                              columnIndices: columnIndices, values: values) {
                return inOrder
            }
            return rowIndices.withUnsafeBufferPointer { r in
                columnIndices.withUnsafeBufferPointer { c in
                    values.withUnsafeBufferPointer { v in
                        CoordinateAssembler.csr(rows: header.rows, columns: header.columns, rowIndices: r, columnIndices: c,
                                                values: header.field == .pattern ? nil : v, symmetry: header.symmetry)
                    }
                }
            }
        case .array:
            return dense().sparse()
        }
    }

    /// The full matrix as a dense column-major array (array files; coordinate files are expanded).
    public func dense() -> DenseMatrix {
        let n = header.rows, m = header.columns
        var result = DenseMatrix(rows: n, columns: m)
        switch header.format {
        case .array:
            if header.symmetry == .general { return DenseMatrix(rows: n, columns: m, values: values) }
            var k = 0
            let skew = header.symmetry == .skewSymmetric
            for j in 0..<m {
                for i in (skew ? j + 1 : j)..<n {
                    result[i, j] = values[k]
                    if i != j { result[j, i] = skew ? -values[k] : values[k] }
                    k += 1
                }
            }
        case .coordinate:
            let a = csr()
            for i in 0..<a.rows { for p in a.rowRange(i) { result[i, Int(a.columnIndices[p])] += a.values[p] } }
        }
        return result
    }
}

extension DenseMatrix {
    /// The nonzero entries as CSR.
    public func sparse() -> CSRMatrix {
        var t = TripletBuilder(rows: rows, columns: columns)
        for i in 0..<rows { for j in 0..<columns where self[i, j] != 0 { t.append(row: i, column: j, value: self[i, j]) } }
        return t.csr()
    }
}

/// A read-only memory map of a whole file; the mapping is shared by threads.
/// A compressed Matrix Market file (CompressedMatrixSource) is decompressed
/// into memory instead, so every reader that maps a file reads it too.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let count: Int
    private let address: UnsafeMutableRawPointer?
    private let decompressed: Bool

    public init(path: String) throws(SparrowError) {
        let file = try OpenFile(path: path)
        self.path = path
        if let source = try CompressedMatrixSource.open(path: path) {
            let text = try source.readAll()
            count = text.count
            decompressed = true
            address = text.isEmpty ? nil : UnsafeMutableRawPointer.allocate(byteCount: text.count, alignment: 16)
            text.withUnsafeBytes { if let address, let base = $0.baseAddress { address.copyMemory(from: base, byteCount: $0.count) } }
            return
        }
        decompressed = false
        count = file.size
        if count == 0 { address = nil; return }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        defer { close(fd) }
        let mapped = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        if mapped == MAP_FAILED || mapped == nil {
            throw .input(file: path, line: nil, message: "cannot map file: \(String(cString: strerror(errno)))")
        }
        address = mapped
        madvise(mapped, count, MADV_SEQUENTIAL)
    }

    deinit {
        guard let address else { return }
        if decompressed { address.deallocate() } else { munmap(address, count) }
    }

    /// Drops the pages read so far from this process's resident set (they stay
    /// in the page cache and come back on the next touch): once parsed, a
    /// file's bytes need not count against the rank's memory.
    public func releasePages() {
        if let address, !decompressed { madvise(address, count, MADV_DONTNEED) }
    }

    public var bytes: UnsafeBufferPointer<UInt8> {
        guard let address else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: address.assumingMemoryBound(to: UInt8.self), count: count)
    }
}

public enum MatrixMarket {
    /// Reads the header from the first bytes of a file, reading more only if comments run long.
    /// A PETSc binary file is told by its first bytes and described as the
    /// Matrix Market file of the same matrix would be (`header.petsc` set).
    public static func readHeader(path: String) throws(SparrowError) -> MatrixMarketHeader {
        if let source = try CompressedMatrixSource.open(path: path) {
            var prefix: [UInt8] = []
            while true {
                let more = try source.read(max(1 << 16, prefix.count * 3))
                prefix += more
                do {
                    return try prefix.withUnsafeBufferPointer { (b) throws(SparrowError) in
                        try MatrixMarketHeader.parse(b, isComplete: more.isEmpty, file: path)
                    }
                } catch where error == needsMoreInput {
                    if prefix.count > 64 << 20 {
                        throw .input(file: path, line: nil, message: "the banner, comments and size line take more than 64 MiB of decompressed text")
                    }
                }
            }
        }
        let file = try OpenFile(path: path)
        var length = 1 << 16
        while true {
            let prefix = try file.read(offset: 0, count: length)
            let isComplete = prefix.count == file.size
            do {
                return try prefix.withUnsafeBufferPointer { (b) throws(SparrowError) in
                    if PETScBinaryHeader.matches(b) {
                        return try PETScBinaryHeader.parse(b, fileSize: file.size, file: path).matrixMarketEquivalent
                    }
                    return try MatrixMarketHeader.parse(b, isComplete: isComplete, file: path)
                }
            } catch where error == needsMoreInput {
                length *= 4
            }
        }
    }

    /// Start of the first line at or after `offset` within `bytes` (lines begin after '\n').
    public static func lineStart(atOrAfter offset: Int, in bytes: UnsafeBufferPointer<UInt8>, dataStart: Int) -> Int {
        var p = max(offset, dataStart)
        if p == dataStart { return p }
        while p < bytes.count, bytes[p - 1] != 10 { p += 1 }
        return p
    }

    /// Entries parsed from one line-aligned byte region of a data section.
    public struct ParsedRegion: Sendable {
        public var rowIndices: [Int32]
        public var columnIndices: [Int32]
        public var values: [Double]
        /// '\n' bytes in the region: the region's first line plus this is the next region's first line.
        public var newlines: Int
        /// First problem, with its line offset from the region's first line.
        public var problem: DataLineParser.Problem?
        public var entries: Int { header.format == .coordinate ? columnIndices.count : values.count }
        let header: MatrixMarketHeader
    }

    /// Parses bytes [start, end) of `bytes` (both at line starts) on `threads` threads.
    public static func parseRegion(_ bytes: UnsafeBufferPointer<UInt8>, start: Int, end: Int,
                                   header: MatrixMarketHeader, threads: Int) -> ParsedRegion {
        let parser = DataLineParser(header: header)
        let regionBytes = end - start
        let tasks = max(1, min(threads, regionBytes / (1 << 16) + 1))
        let starts = (0...tasks).map { t in
            t == tasks ? end : lineStart(atOrAfter: start + regionBytes * t / tasks, in: bytes, dataStart: start)
        }
        let slices = (0..<tasks).map { UnsafeBufferPointer(rebasing: bytes[starts[$0]..<starts[$0 + 1]]) }
        // Pass 1: newline counts bound each slice's entries, so every slice writes
        // straight into the final arrays without a second copy.
        let newlines = SharedBuffer<Int>(count: tasks, repeating: 0)
        let shared = SharedSlices(slices)
        parallelTasks(tasks) { t in newlines[t] = DataLineParser.countNewlines(shared[t]) }
        var offsets = [0]
        for t in 0..<tasks { offsets.append(offsets[t] + newlines[t] + 1) }
        let capacity = offsets[tasks]
        let isCoordinate = header.format == .coordinate
        let hasValues = header.field != .pattern
        // Room reserved beyond the entries (address space only, untouched until used): a
        // symmetric file's mirrored entries and those a rank receives in the distributed
        // assembly then fit in place, with no copy of the whole array at the peak.
        let reserved = capacity + capacity / (header.symmetry == .general ? 4 : 1) + (header.symmetry == .general ? 0 : capacity / 4) + 4096
        var rows = isCoordinate ? [Int32](unsafeUninitializedCapacity: reserved) { $1 = capacity } : []
        var columns = isCoordinate ? [Int32](unsafeUninitializedCapacity: reserved) { $1 = capacity } : []
        var values = hasValues ? [Double](unsafeUninitializedCapacity: reserved) { $1 = capacity } : []
        let counts = SharedBuffer<Int>(count: tasks, repeating: 0)
        let problems = SharedBuffer<DataLineParser.Problem?>(count: tasks, repeating: nil)
        rows.withUnsafeMutableBufferPointer { r in
            columns.withUnsafeMutableBufferPointer { c in
                values.withUnsafeMutableBufferPointer { v in
                    let out = (r.baseAddress.map(SharedPointer.init), c.baseAddress.map(SharedPointer.init), v.baseAddress.map(SharedPointer.init))
                    let offsetsCopy = offsets
                    parallelTasks(tasks) { t in
                        let o = offsetsCopy[t]
                        let output = DataLineParser.Output(rows: out.0.map { $0.base + o }, columns: out.1.map { $0.base + o },
                                                           values: out.2.map { $0.base + o }, capacity: offsetsCopy[t + 1] - o)
                        let (count, problem) = parser.parse(shared[t], into: output)
                        counts[t] = count
                        problems[t] = problem
                    }
                }
            }
        }
        var problem: DataLineParser.Problem?
        var lineBase = 0
        for t in 0..<tasks {
            if let p = problems[t] { problem = .init(lineOffset: lineBase + p.lineOffset, message: p.message); break }
            lineBase += newlines[t]
        }
        // Close the gaps left by blank or comment lines.
        var total = 0
        for t in 0..<tasks {
            if offsets[t] != total {
                for k in 0..<counts[t] {
                    if isCoordinate { rows[total + k] = rows[offsets[t] + k]; columns[total + k] = columns[offsets[t] + k] }
                    if hasValues { values[total + k] = values[offsets[t] + k] }
                }
            }
            total += counts[t]
        }
        if isCoordinate { rows.removeLast(capacity - total); columns.removeLast(capacity - total) }
        if hasValues { values.removeLast(capacity - total) }
        return ParsedRegion(rowIndices: rows, columnIndices: columns, values: values,
                            newlines: newlines.reduce(0, +), problem: problem, header: header)
    }

    /// The error for a data section whose entry count differs from the header,
    /// given where the last line is and how to find the line of a surplus entry.
    public static func countProblem(path: String, header: MatrixMarketHeader, found: Int, lastLine: Int,
                                    lineOfEntry: (Int) -> Int) -> SparrowError? {
        if found < header.declaredEntries {
            return .input(file: path, line: max(1, lastLine),
                          message: "file ends after \(found) of the \(header.declaredEntries) declared entries")
        }
        if found > header.declaredEntries {
            return .input(file: path, line: lineOfEntry(header.declaredEntries),
                          message: "more entries than the \(header.declaredEntries) declared")
        }
        return nil
    }

    /// Reads a whole file on this process, parsing line-aligned slices on `threads` threads.
    public static func read(path: String, threads: Int = 1) throws(SparrowError) -> MatrixMarketFile {
        if let petsc = try PETScBinary.header(path: path) { return try PETScBinary.read(path: path, header: petsc) }
        let mapped = try MappedFile(path: path)
        return try parse(mapped.bytes, file: path, threads: threads)
    }

    /// Parses a whole file's bytes (`file` names it in errors).
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, file path: String, threads: Int = 1) throws(SparrowError) -> MatrixMarketFile {
        let header = try MatrixMarketHeader.parse(bytes, isComplete: true, file: path)
        try header.checkMemory(file: path)
        let region = parseRegion(bytes, start: header.dataOffset, end: bytes.count, header: header, threads: threads)
        if let problem = region.problem {
            throw .input(file: path, line: header.dataLine + problem.lineOffset, message: problem.message)
        }
        let data = UnsafeBufferPointer(rebasing: bytes[header.dataOffset...])
        if let error = countProblem(path: path, header: header, found: region.entries,
                                    lastLine: header.dataLine + region.newlines - (bytes.last == 10 ? 1 : 0),
                                    lineOfEntry: { header.dataLine + DataLineParser.lineOffsetOfEntry($0, in: data) }) {
            throw error
        }
        return MatrixMarketFile(header: header, rowIndices: region.rowIndices, columnIndices: region.columnIndices,
                                values: region.values)
    }

    /// Reads a file as a CSR matrix (symmetric halves mirrored).
    public static func readCSR(path: String, threads: Int = 1) throws(SparrowError) -> CSRMatrix {
        try read(path: path, threads: threads).csr()
    }

    /// Reads a dense (array or coordinate) file as a column-major matrix.
    public static func readDense(path: String, threads: Int = 1) throws(SparrowError) -> DenseMatrix {
        try read(path: path, threads: threads).dense()
    }
}

/// Slices of one mapped file shared read-only by parser threads.
struct SharedSlices: @unchecked Sendable {
    let slices: [UnsafeBufferPointer<UInt8>]
    init(_ slices: [UnsafeBufferPointer<UInt8>]) { self.slices = slices }
    subscript(index: Int) -> UnsafeBufferPointer<UInt8> { slices[index] }
}

/// A fixed-size heap buffer whose slots worker threads write disjointly.
public final class SharedBuffer<Element>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Element>
    public let count: Int
    public init(count: Int, repeating value: Element) {
        self.count = count
        pointer = .allocate(capacity: max(1, count))
        pointer.initialize(repeating: value, count: count)
    }
    deinit {
        pointer.deinitialize(count: count)
        pointer.deallocate()
    }
    public subscript(index: Int) -> Element {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }
    public func reduce<R>(_ initial: R, _ next: (R, Element) -> R) -> R {
        var r = initial
        for i in 0..<count { r = next(r, pointer[i]) }
        return r
    }
    public var array: [Element] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

extension MatrixMarket {
    /// The line of the first stored entry at (row, column) or, in a symmetric file, at
    /// (column, row) — 0-based indices — for a FILE:LINE message about a matrix already
    /// read. Re-reads the file; only error paths call it. nil when it cannot be found.
    public static func lineOfEntry(path: String, row: Int, column: Int) -> Int? {
        guard let mapped = try? MappedFile(path: path),
              let header = try? MatrixMarketHeader.parse(mapped.bytes, isComplete: true, file: path),
              header.format == .coordinate,
              let parsed = try? parse(mapped.bytes, file: path) else { return nil }
        let (r, c) = (Int32(truncatingIfNeeded: row), Int32(truncatingIfNeeded: column))
        for e in 0..<parsed.rowIndices.count
        where (parsed.rowIndices[e] == r && parsed.columnIndices[e] == c) || (parsed.rowIndices[e] == c && parsed.columnIndices[e] == r) {
            return header.dataLine + DataLineParser.lineOffsetOfEntry(e, in: UnsafeBufferPointer(rebasing: mapped.bytes[header.dataOffset...]))
        }
        return nil
    }
}
