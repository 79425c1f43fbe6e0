extension MatrixMarket {
    /// Bytes of an array file parsed at a time while picking out rows.
    static let arrayRegionBytes = 32 << 20

    /// Rows `owned` of the general array file `path` (n × m, column-major in the
    /// file), returned row-major. The file is parsed region by region, so memory
    /// follows the rows kept, not n·m. `validate` may refuse a value with a
    /// message, reported at its line. Rank-local (no collectives).
    public static func arrayRows(path: String, header: MatrixMarketHeader, owned: Range<Int>, threads: Int,
                                 validate: ((Double) -> String?)? = nil) throws(SparrowError) -> [Double] {
        if let petsc = header.petsc {
            return try PETScBinary.denseRows(path: path, header: petsc, owned: owned, validate: validate)
        }
        let n = header.rows, m = header.columns
        guard header.format == .array, header.symmetry == .general else {
            throw .input(file: path, line: 1, message: "expected a general array file, found \(header.format.rawValue) \(header.symmetry.rawValue)")
        }
        let mapped = try MappedFile(path: path)
        let bytes = mapped.bytes
        var rows = [Double](repeating: 0, count: owned.count * m)
        var entry = 0, line = header.dataLine, start = header.dataOffset
        while start < bytes.count {
            let end = min(bytes.count, lineStart(atOrAfter: start + arrayRegionBytes, in: bytes, dataStart: start))
            let region = parseRegion(bytes, start: start, end: end, header: header, threads: threads)
            let data = UnsafeBufferPointer(rebasing: bytes[start..<end])
            if let problem = region.problem {
                throw .input(file: path, line: line + problem.lineOffset, message: problem.message)
            }
            if entry + region.values.count > n * m {
                throw .input(file: path, line: line + DataLineParser.lineOffsetOfEntry(n * m - entry, in: data),
                             message: "more entries than the \(n * m) declared")
            }
            for (k, v) in region.values.enumerated() {
                if let validate, let message = validate(v) {
                    throw .input(file: path, line: line + DataLineParser.lineOffsetOfEntry(k, in: data), message: message)
                }
                let i = (entry + k) % n
                if owned.contains(i) { rows[(i - owned.lowerBound) * m + (entry + k) / n] = v }
            }
            entry += region.values.count
            line += region.newlines
            start = end
        }
        if entry < n * m {
            throw .input(file: path, line: max(header.dataLine, line - 1),
                         message: "file ends after \(entry) of the \(n * m) entries of a \(n) × \(m) array")
        }
        return rows
    }
}
