/// Reading PETSc binary files (layout in PETScBinaryHeader) part by part with
/// pread at computed offsets, so each rank reads only its rows; values and
/// indices are checked as they are decoded and a problem names its byte offset.
public enum PETScBinary {
    /// Bytes decoded at a time: memory beyond the result stays bounded.
    static let chunkBytes = 8 << 20

    public static func error(file: String, byte: Int, _ message: String) -> SparrowError {
        .input(file: file, line: nil, message: "byte \(byte): \(message)")
    }

    /// The header of `path` if it is a PETSc binary file (nil for anything else).
    public static func header(path: String) throws(SparrowError) -> PETScBinaryHeader? {
        let file = try OpenFile(path: path)
        let prefix = try file.read(offset: 0, count: 32)
        return try prefix.withUnsafeBufferPointer { (b) throws(SparrowError) -> PETScBinaryHeader? in
            PETScBinaryHeader.matches(b) ? try PETScBinaryHeader.parse(b, fileSize: file.size, file: path) : nil
        }
    }

    /// Whether an output path asks for PETSc's binary format (`.petsc`).
    public static func isOutputPath(_ path: String) -> Bool { path.hasSuffix(".petsc") }

    /// Decodes `count` big-endian integers of `header.indexBytes` from `offset`, chunk by chunk.
    static func integers(_ file: OpenFile, _ header: PETScBinaryHeader, offset: Int, count: Int,
                         _ each: (Int, Int) throws(SparrowError) -> Void) throws(SparrowError) {
        let width = header.indexBytes, perChunk = chunkBytes / width
        var done = 0
        while done < count {
            let n = min(perChunk, count - done)
            let bytes = try file.read(offset: offset + done * width, count: n * width)
            guard bytes.count == n * width else { throw error(file: file.path, byte: file.size, "file ends inside its integers") }
            try bytes.withUnsafeBufferPointer { (b) throws(SparrowError) in
                for k in 0..<n { try each(done + k, Int(Int64(bitPattern: PETScBinaryHeader.word(b, at: k * width, bytes: width)))) }
            }
            done += n
        }
    }

    /// Decodes `count` big-endian doubles from `offset`, refusing non-finite ones.
    static func doubles(_ file: OpenFile, offset: Int, count: Int, into each: (Int, Double) -> Void) throws(SparrowError) {
        let perChunk = chunkBytes / 8
        var done = 0
        while done < count {
            let n = min(perChunk, count - done)
            let bytes = try file.read(offset: offset + done * 8, count: n * 8)
            guard bytes.count == n * 8 else { throw error(file: file.path, byte: file.size, "file ends inside its values") }
            try bytes.withUnsafeBufferPointer { (b) throws(SparrowError) in
                for k in 0..<n {
                    let v = Double(bitPattern: PETScBinaryHeader.word(b, at: k * 8, bytes: 8))
                    guard v.isFinite else { throw error(file: file.path, byte: offset + (done + k) * 8, "value \(v) is not finite") }
                    each(done + k, v)
                }
            }
            done += n
        }
    }

    /// Lengths of rows `rows` of a sparse file, each checked against the column count.
    public static func rowLengths(_ file: OpenFile, _ header: PETScBinaryHeader, rows: Range<Int>) throws(SparrowError) -> [Int] {
        var lengths = [Int](repeating: 0, count: rows.count)
        let offset = header.rowLengthsOffset + rows.lowerBound * header.indexBytes
        try integers(file, header, offset: offset, count: rows.count) { (k, length) throws(SparrowError) in
            guard length >= 0, length <= header.columns else {
                throw error(file: file.path, byte: offset + k * header.indexBytes,
                            "row \(rows.lowerBound + k + 1) has length \(length), outside 0...\(header.columns)")
            }
            lengths[k] = length
        }
        return lengths
    }

    /// Entries [first, first + count) of a sparse file: 0-based columns, checked, and values.
    /// 32-bit indices and the values are read straight into the result and
    /// byte-swapped in place (one pass over memory: the load runs at the
    /// speed of pread).
    public static func entries(_ file: OpenFile, _ header: PETScBinaryHeader, first: Int, count: Int) throws(SparrowError) -> (columns: [Int32], values: [Double]) {
        guard first >= 0, count >= 0, first + count <= header.storedValues else {
            throw error(file: file.path, byte: header.rowLengthsOffset,
                        "row lengths reach entry \(first + count), the header declares \(header.storedValues) nonzeros")
        }
        var columns = [Int32](repeating: 0, count: count)
        let offset = header.columnIndicesOffset + first * header.indexBytes
        let badColumn = { (k: Int, column: Int) in
            error(file: file.path, byte: offset + k * header.indexBytes, "column index \(column) outside 0..<\(header.columns) (entry \(first + k + 1))")
        }
        if header.indexBytes == 4 {
            let complete = try readInto(&columns, file, offset: offset)
            guard complete else { throw error(file: file.path, byte: file.size, "file ends inside its column indices") }
            let limit = UInt32(header.columns)
            var bad: Int?
            columns.withUnsafeMutableBufferPointer { c in
                for k in 0..<count {
                    let column = UInt32(bigEndian: UInt32(bitPattern: c[k]))
                    if column >= limit, bad == nil { bad = k } // negative indices are huge unsigned
                    c[k] = Int32(bitPattern: column)
                }
            }
            if let bad { throw badColumn(bad, Int(columns[bad])) }
        } else {
            try integers(file, header, offset: offset, count: count) { (k, column) throws(SparrowError) in
                guard column >= 0, column < header.columns else { throw badColumn(k, column) }
                columns[k] = Int32(column)
            }
        }
        var values = [Double](repeating: 0, count: count)
        let valuesOffset = header.valuesOffset + first * 8
        let complete = try readInto(&values, file, offset: valuesOffset)
        guard complete else { throw error(file: file.path, byte: file.size, "file ends inside its values") }
        var bad: Int?
        values.withUnsafeMutableBufferPointer { v in
            for k in 0..<count {
                let value = Double(bitPattern: UInt64(bigEndian: v[k].bitPattern))
                if !value.isFinite, bad == nil { bad = k }
                v[k] = value
            }
        }
        if let bad { throw error(file: file.path, byte: valuesOffset + bad * 8, "value \(values[bad]) is not finite") }
        return (columns, values)
    }

    /// pread straight into an array's storage (withUnsafeMutableBytes does not carry typed throws).
    static func readInto<T>(_ array: inout [T], _ file: OpenFile, offset: Int) throws(SparrowError) -> Bool {
        var failure: SparrowError?
        let complete = array.withUnsafeMutableBytes { b -> Bool in
            do throws(SparrowError) { return try file.read(into: b, offset: offset) } catch { failure = error; return false }
        }
        if let failure { throw failure }
        return complete
    }

    /// Rows `owned` of a dense matrix or vector, row-major (the file's own order);
    /// a sparse file is expanded (PETSc's MatView writes even a dense matrix as AIJ
    /// unless asked for its native format).
    public static func denseRows(path: String, header: PETScBinaryHeader, owned: Range<Int>,
                                 validate: ((Double) -> String?)? = nil) throws(SparrowError) -> [Double] {
        let file = try OpenFile(path: path)
        let m = header.columns
        try MemoryBudget.check(Double(owned.count) * Double(m) * 8, for: "\(owned.count) dense rows of \(m) columns") {
            error(file: path, byte: 0, $0)
        }
        var rows = [Double](repeating: 0, count: owned.count * m)
        if case .sparse = header.object {
            // The entries before this block are counted from the lengths of the rows above it, chunk by chunk.
            var before = 0
            try integers(file, header, offset: header.rowLengthsOffset, count: owned.lowerBound) { (k, length) throws(SparrowError) in
                guard length >= 0, length <= m else {
                    throw error(file: path, byte: header.rowLengthsOffset + k * header.indexBytes, "row \(k + 1) has length \(length), outside 0...\(m)")
                }
                before += length
            }
            let lengths = try rowLengths(file, header, rows: owned)
            let (columns, values) = try entries(file, header, first: before, count: lengths.reduce(0, +))
            var e = 0
            for (i, length) in lengths.enumerated() {
                for _ in 0..<length {
                    if let validate, let message = validate(values[e]) { throw error(file: path, byte: header.valuesOffset + (before + e) * 8, message) }
                    rows[i * m + Int(columns[e])] += values[e]
                    e += 1
                }
            }
            return rows
        }
        let offset = header.valuesOffset + owned.lowerBound * m * 8
        var refused: (Int, String)?
        try doubles(file, offset: offset, count: owned.count * m) { k, v in
            if refused == nil, let validate, let message = validate(v) { refused = (k, message) }
            rows[k] = v
        }
        if let (k, message) = refused { throw error(file: path, byte: offset + k * 8, message) }
        return rows
    }

    /// The whole file on this process, as Matrix Market triplets or array values would be.
    public static func read(path: String, header: PETScBinaryHeader) throws(SparrowError) -> MatrixMarketFile {
        try header.checkMemory(file: path)
        let mm = header.matrixMarketEquivalent
        guard header.rows <= Int(Int32.max), header.columns <= Int(Int32.max) else {
            throw error(file: path, byte: 0, "\(header.rows) × \(header.columns) is beyond one process's 32-bit indices; read it under mpirun")
        }
        switch header.object {
        case .dense, .vector:
            let rowMajor = try denseRows(path: path, header: header, owned: 0..<header.rows)
            let (n, m) = (header.rows, header.columns)
            var columnMajor = [Double](repeating: 0, count: n * m)
            for i in 0..<n { for j in 0..<m { columnMajor[j * n + i] = rowMajor[i * m + j] } }
            return MatrixMarketFile(header: mm, rowIndices: [], columnIndices: [], values: columnMajor)
        case let .sparse(nonzeros):
            let file = try OpenFile(path: path)
            let lengths = try rowLengths(file, header, rows: 0..<header.rows)
            let total = lengths.reduce(0, +)
            guard total == nonzeros else {
                throw error(file: path, byte: header.rowLengthsOffset, "row lengths add up to \(total), the header declares \(nonzeros) nonzeros")
            }
            let (columns, values) = try entries(file, header, first: 0, count: nonzeros)
            var rowIndices = [Int32](repeating: 0, count: nonzeros)
            var e = 0
            for (i, length) in lengths.enumerated() { for _ in 0..<length { rowIndices[e] = Int32(i); e += 1 } }
            return MatrixMarketFile(header: mm, rowIndices: rowIndices, columnIndices: columns, values: values)
        }
    }
}
