extension MatrixMarket {
    /// Writes a sparse matrix as a coordinate file, atomically (temporary name, then rename).
    /// `symmetry` other than general writes the lower triangle only; the caller
    /// states that the matrix has that symmetry (checked, to refuse silent loss).
    public static func write(_ matrix: CSRMatrix, to path: String, field: MatrixMarketHeader.Field = .real,
                             symmetry: MatrixMarketHeader.Symmetry = .general, comment: String? = nil,
                             threads: Int = 1, into outputs: OutputSet? = nil) throws(SparrowError) {
        if symmetry == .symmetric, !matrix.isSymmetric {
            throw .usage("cannot write \(path) as symmetric: the matrix is not symmetric")
        }
        if symmetry == .skewSymmetric {
            let negated = CSRMatrix(rows: matrix.rows, columns: matrix.columns, rowPointers: matrix.rowPointers,
                                    columnIndices: matrix.columnIndices, values: matrix.values.map { -$0 },
                                    columnsSorted: matrix.columnsSorted)
            if matrix.rows != matrix.columns || matrix.frobeniusDistance(to: negated.transposed()) != 0 {
                throw .usage("cannot write \(path) as skew-symmetric: the matrix is not skew-symmetric")
            }
        }
        if field == .integer, let bad = matrix.values.firstIndex(where: { !($0 == $0.rounded() && abs($0) < 9.2e18) }) {
            throw .usage("cannot write \(path) as integer: value \(matrix.values[bad]) is not an integer in the 64-bit range")
        }
        // PETSc's AIJ files store every entry: the symmetry checked above is not recorded.
        if PETScBinary.isOutputPath(path) { return try PETScBinary.write(matrix, to: path, into: outputs) }
        let sorted = matrix.sortedColumns()
        let strict = symmetry == .skewSymmetric
        var stored = 0
        if symmetry != .general {
            for i in 0..<sorted.rows {
                for p in sorted.rowRange(i) where Int(sorted.columnIndices[p]) < i || (!strict && Int(sorted.columnIndices[p]) == i) { stored += 1 }
            }
        } else {
            stored = sorted.nonzeros
        }
        let writer = try AtomicFileWriter(path: path)
        try writer.write(coordinateHeader(rows: sorted.rows, columns: sorted.columns, stored: stored, field: field,
                                          symmetry: symmetry, comment: comment))
        // Rows are formatted in parallel blocks and written in order.
        let blockRows = max(1, sorted.rows / max(1, threads * 8))
        var first = 0
        while first < sorted.rows {
            let last = min(sorted.rows, first + blockRows * max(1, threads))
            let text = formatCoordinateRows(sorted, rows: first..<last, firstRow: 0, field: field, symmetry: symmetry, threads: threads)
            try text.withUnsafeBufferPointer { (buf) throws(SparrowError) in try writer.write(bytes: buf) }
            first = last
        }
        try writer.commit(into: outputs)
    }

    /// The banner, comment lines and size line of a coordinate file.
    public static func coordinateHeader(rows: Int, columns: Int, stored: Int, field: MatrixMarketHeader.Field = .real,
                                        symmetry: MatrixMarketHeader.Symmetry = .general, comment: String? = nil) -> String {
        var head = "%%MatrixMarket matrix coordinate \(field.rawValue) \(symmetry.rawValue)\n"
        if let comment { for line in comment.split(separator: "\n", omittingEmptySubsequences: false) { head += "% \(line)\n" } }
        return head + "\(rows) \(columns) \(stored)\n"
    }

    /// The data lines of `rows` of a column-sorted matrix whose row 0 is global
    /// row `firstRow` (lower triangle only for a symmetric `symmetry`), formatted
    /// by `threads` threads in blocks and joined in order. The sequential and the
    /// parallel (one range per rank) writers share it, so their bytes agree.
    public static func formatCoordinateRows(_ source: CSRMatrix, rows: Range<Int>, firstRow: Int,
                                            field: MatrixMarketHeader.Field = .real,
                                            symmetry: MatrixMarketHeader.Symmetry = .general, threads: Int = 1) -> [UInt8] {
        let lowerOnly = symmetry != .general
        let strict = symmetry == .skewSymmetric
        let blockCount = max(1, min(rows.count, threads * 8))
        let blocks = (0..<blockCount).map { b in
            (rows.lowerBound + rows.count * b / blockCount)..<(rows.lowerBound + rows.count * (b + 1) / blockCount)
        }
        let texts = SharedBuffer<[UInt8]>(count: blocks.count, repeating: [])
        parallelTasks(blocks.count) { b in
            var out: [UInt8] = []
            out.reserveCapacity((source.rowPointers[blocks[b].upperBound] - source.rowPointers[blocks[b].lowerBound]) * 24)
            for i in blocks[b] {
                let row = firstRow + i
                for p in source.rowRange(i) {
                    let j = Int(source.columnIndices[p])
                    if lowerOnly, j > row || (strict && j == row) { continue }
                    appendInteger(row + 1, to: &out)
                    out.append(32)
                    appendInteger(j + 1, to: &out)
                    switch field {
                    case .pattern: break
                    case .integer:
                        out.append(32)
                        appendInteger(Int(source.values[p]), to: &out)
                    case .real:
                        out.append(32)
                        appendReal(source.values[p], to: &out)
                    }
                    out.append(10)
                }
            }
            texts[b] = out
        }
        var joined: [UInt8] = []
        joined.reserveCapacity((0..<blocks.count).reduce(0) { $0 + texts[$1].count })
        for b in 0..<blocks.count { joined.append(contentsOf: texts[b]) }
        return joined
    }

    /// Lines of an array file's values, one per line (the body of one column, or part of one).
    public static func formatArrayValues(_ values: ArraySlice<Double>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 22)
        for v in values {
            appendReal(v, to: &out)
            out.append(10)
        }
        return out
    }

    /// Writes a dense column-major matrix as an `array real general` file, atomically
    /// (with `outputs`, renamed together with the rest of that set).
    public static func write(_ matrix: DenseMatrix, to path: String, comment: String? = nil,
                             into outputs: OutputSet? = nil) throws(SparrowError) {
        if PETScBinary.isOutputPath(path) { return try PETScBinary.write(matrix, to: path, into: outputs) }
        let writer = try AtomicFileWriter(path: path)
        var head = "%%MatrixMarket matrix array real general\n"
        if let comment { for line in comment.split(separator: "\n", omittingEmptySubsequences: false) { head += "% \(line)\n" } }
        head += "\(matrix.rows) \(matrix.columns)\n"
        try writer.write(head)
        var out: [UInt8] = []
        out.reserveCapacity(1 << 16)
        for v in matrix.values {
            appendReal(v, to: &out)
            out.append(10)
            if out.count > 1 << 16 {
                try out.withUnsafeBufferPointer { (buf) throws(SparrowError) in try writer.write(bytes: buf) }
                out.removeAll(keepingCapacity: true)
            }
        }
        try out.withUnsafeBufferPointer { (buf) throws(SparrowError) in try writer.write(bytes: buf) }
        try writer.commit(into: outputs)
    }

    @inline(__always)
    static func appendInteger(_ value: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var v = value.magnitude
        if v < 10 { out.append(48 + UInt8(v)); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 { d[count] = 48 + UInt8(v % 10); v /= 10; count += 1 }
            for k in stride(from: count - 1, through: 0, by: -1) { out.append(d[k]) }
        }
    }

    /// Shortest decimal that reads back to the same Double (Swift's description), so round trips are exact.
    @inline(__always)
    static func appendReal(_ value: Double, to out: inout [UInt8]) {
        if value == value.rounded(), abs(value) < 1e15 {
            appendInteger(Int(value), to: &out)
            if value == 0, value.sign == .minus { out.insert(UInt8(ascii: "-"), at: out.count - 1) }
            return
        }
        out.append(contentsOf: value.description.utf8)
    }
}
