extension MatrixMarket {
    /// Writes a sparse matrix as a coordinate file, atomically (temporary name, then rename).
    /// `symmetry` other than general writes the lower triangle only; the caller
    /// states that the matrix has that symmetry (checked, to refuse silent loss).
    public static func write(_ matrix: CSRMatrix, to path: String, field: MatrixMarketHeader.Field = .real,
                             symmetry: MatrixMarketHeader.Symmetry = .general, comment: String? = nil,
                             threads: Int = 1) throws(SparrowError) {
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
        let sorted = matrix.sortedColumns()
        let lowerOnly = symmetry != .general
        let strict = symmetry == .skewSymmetric
        var stored = 0
        if lowerOnly {
            for i in 0..<sorted.rows {
                for p in sorted.rowRange(i) where Int(sorted.columnIndices[p]) < i || (!strict && Int(sorted.columnIndices[p]) == i) { stored += 1 }
            }
        } else {
            stored = sorted.nonzeros
        }
        let writer = try AtomicFileWriter(path: path)
        var head = "%%MatrixMarket matrix coordinate \(field.rawValue) \(symmetry.rawValue)\n"
        if let comment { for line in comment.split(separator: "\n", omittingEmptySubsequences: false) { head += "% \(line)\n" } }
        head += "\(sorted.rows) \(sorted.columns) \(stored)\n"
        try writer.write(head)
        // Rows are formatted in parallel blocks and written in order.
        let blockRows = max(1, sorted.rows / max(1, threads * 8))
        let blocks = stride(from: 0, to: sorted.rows, by: blockRows).map { $0..<min($0 + blockRows, sorted.rows) }
        var index = 0
        while index < blocks.count {
            let batch = Array(blocks[index..<min(index + max(1, threads), blocks.count)])
            let texts = SharedBuffer<[UInt8]>(count: batch.count, repeating: [])
            let source = sorted
            parallelTasks(batch.count) { b in
                var out: [UInt8] = []
                out.reserveCapacity(batch[b].count * 24)
                for i in batch[b] {
                    for p in source.rowRange(i) {
                        let j = Int(source.columnIndices[p])
                        if lowerOnly, j > i || (strict && j == i) { continue }
                        appendInteger(i + 1, to: &out)
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
            for b in 0..<batch.count { try texts[b].withUnsafeBufferPointer { (buf) throws(SparrowError) in try writer.write(bytes: buf) } }
            index += batch.count
        }
        try writer.commit()
    }

    /// Writes a dense column-major matrix as an `array real general` file, atomically.
    public static func write(_ matrix: DenseMatrix, to path: String, comment: String? = nil) throws(SparrowError) {
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
        try writer.commit()
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
