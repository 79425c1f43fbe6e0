/// Dense right-hand sides and vectors named on the command line or in job
/// files: `ones`, `random:K` (K seeded columns, uniform in (−1, 1]), or a
/// Matrix Market array file.
public enum DenseSpec {
    /// B for a whole matrix A: `rowsums` is A·1 (so the solution is all ones); anything else as `parse`.
    public static func parse(_ text: String, for a: CSRMatrix, field: String, threads: Int = 1) throws(SparrowError) -> DenseMatrix {
        if text == "rowsums" { return DenseMatrix(rows: a.rows, columns: 1, values: a.multiply([Double](repeating: 1, count: a.columns))) }
        return try parse(text, rows: a.rows, field: field, threads: threads)
    }

    public static func parse(_ text: String, rows: Int, field: String, threads: Int = 1) throws(SparrowError) -> DenseMatrix {
        let tooLarge = { (message: String) in SparrowError.field(name: field, message: message) }
        if text == "ones" {
            try MemoryBudget.check(Double(rows) * 8, for: "a dense vector of \(rows) rows", error: tooLarge)
            return DenseMatrix(rows: rows, columns: 1, repeating: 1)
        }
        if text.hasPrefix("random:") {
            guard let k = Int(text.dropFirst(7)), (1...100_000).contains(k) else {
                throw .field(name: field, message: "expected random:K with K in 1...100000, got '\(text)'")
            }
            try MemoryBudget.check(Double(rows) * Double(k) * 8, for: "a dense \(rows) × \(k) right-hand side", error: tooLarge)
            var values = [Double](repeating: 0, count: rows * k)
            for e in 0..<values.count {
                values[e] = 2 * CounterRandom.unit(CounterRandom.bits(seed: 0x5EED, counter: UInt64(e))) - 1
            }
            return DenseMatrix(rows: rows, columns: k, values: values)
        }
        // Shape and size from the header first: a coordinate file is expanded to
        // a dense rows × columns array, which must be refused before it is built.
        let header = try MatrixMarket.readHeader(path: text)
        let sizeLine = max(1, header.dataLine - 1)
        guard header.rows == rows else {
            throw .input(file: text, line: sizeLine, message: "has \(header.rows) rows, expected \(rows) to match the matrix")
        }
        try MemoryBudget.check(Double(rows) * Double(header.columns) * 8 * (header.format == .coordinate ? 2 : 1),
                               for: "a dense \(rows) × \(header.columns) right-hand side") {
            .input(file: text, line: sizeLine, message: $0)
        }
        return try MatrixMarket.readDense(path: text, threads: threads)
    }
}
