/// Writing PETSc binary files (layout in PETScBinaryHeader). The parts are
/// encoded separately so that ranks can write their rows of each part at
/// computed offsets (ParallelOutput); one process writes them in order here.
extension PETScBinary {
    /// Every PETSc file this process writes uses 64-bit indices (`--petsc-indices 64`,
    /// for a PETSc built `--with-64-bit-indices`, which reads nothing else). Set once at start-up.
    nonisolated(unsafe) public static var wideIndicesByDefault = false

    /// The index width written: 4 bytes (PETSc's default build) unless a size
    /// needs 8 or `wide` (or `wideIndicesByDefault`) asks for PETSc's
    /// `--with-64-bit-indices` layout. Vectors too: a 64-bit PETSc reads their
    /// class id and length as 8-byte integers.
    public static func indexBytes(rows: Int, columns: Int, nonzeros: Int, wide: Bool = false) -> Int {
        wide || wideIndicesByDefault || max(rows, columns, nonzeros) > Int(Int32.max) ? 8 : 4
    }

    public static func encodeHeader(_ header: PETScBinaryHeader) -> [UInt8] {
        var words: [Int]
        switch header.object {
        case let .sparse(nonzeros): words = [PETScBinaryHeader.matrixClassID, header.rows, header.columns, nonzeros]
        case .dense: words = [PETScBinaryHeader.matrixClassID, header.rows, header.columns, PETScBinaryHeader.denseMarker]
        case .vector: words = [PETScBinaryHeader.vectorClassID, header.rows]
        }
        return encodeIntegers(words[...], width: header.indexBytes)
    }

    /// Big-endian integers of `width` bytes (4 or 8).
    public static func encodeIntegers<C: Collection>(_ values: C, width: Int) -> [UInt8] where C.Element: BinaryInteger {
        var out = [UInt8](repeating: 0, count: values.count * width)
        var at = 0
        for value in values {
            let bits = UInt64(bitPattern: Int64(value))
            for k in 0..<width { out[at + k] = UInt8(truncatingIfNeeded: bits >> UInt64(8 * (width - 1 - k))) }
            at += width
        }
        return out
    }

    /// Big-endian IEEE doubles.
    public static func encodeDoubles<C: Collection>(_ values: C) -> [UInt8] where C.Element == Double {
        var out = [UInt8](repeating: 0, count: values.count * 8)
        var at = 0
        for value in values {
            let bits = value.bitPattern
            for k in 0..<8 { out[at + k] = UInt8(truncatingIfNeeded: bits >> UInt64(8 * (7 - k))) }
            at += 8
        }
        return out
    }

    /// The three parts after a sparse header for rows of `matrix` (columns sorted in each row).
    public static func encodeRows(_ matrix: CSRMatrix, width: Int) -> [[UInt8]] {
        let sorted = matrix.sortedColumns()
        return [encodeIntegers((0..<sorted.rows).map { sorted.rowRange($0).count }, width: width),
                encodeIntegers(sorted.columnIndices[0..<sorted.nonzeros], width: width),
                encodeDoubles(sorted.values[0..<sorted.nonzeros])]
    }

    /// A sparse matrix as one file, atomically.
    public static func write(_ matrix: CSRMatrix, to path: String, wideIndices: Bool = false,
                             into outputs: OutputSet? = nil) throws(SparrowError) {
        let width = indexBytes(rows: matrix.rows, columns: matrix.columns, nonzeros: matrix.nonzeros, wide: wideIndices)
        let header = PETScBinaryHeader(object: .sparse(nonzeros: matrix.nonzeros), rows: matrix.rows, columns: matrix.columns, indexBytes: width)
        try write(parts: [encodeHeader(header)] + encodeRows(matrix, width: width), to: path, into: outputs)
    }

    /// A dense column-major matrix as one file (a vector when it has one column), atomically.
    public static func write(_ matrix: DenseMatrix, to path: String, wideIndices: Bool = false,
                             into outputs: OutputSet? = nil) throws(SparrowError) {
        let width = indexBytes(rows: matrix.rows, columns: matrix.columns, nonzeros: 0, wide: wideIndices)
        let header = PETScBinaryHeader(object: matrix.columns == 1 ? .vector : .dense, rows: matrix.rows, columns: matrix.columns, indexBytes: width)
        let rowMajor = (0..<matrix.rows * matrix.columns).lazy.map { k in matrix.values[(k % matrix.columns) * matrix.rows + k / matrix.columns] }
        try write(parts: [encodeHeader(header), encodeDoubles(rowMajor)], to: path, into: outputs)
    }

    static func write(parts: [[UInt8]], to path: String, into outputs: OutputSet?) throws(SparrowError) {
        let writer = try AtomicFileWriter(path: path)
        for part in parts { try part.withUnsafeBufferPointer { (b) throws(SparrowError) in try writer.write(bytes: b) } }
        try writer.commit(into: outputs)
    }
}
