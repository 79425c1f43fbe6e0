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
        let sizeLine = header.sizeLine
        guard header.rows == rows else {
            throw .input(file: text, line: sizeLine, message: "has \(header.rows) rows, expected \(rows) to match the matrix")
        }
        try MemoryBudget.check(Double(rows) * Double(header.columns) * 8 * (header.format == .coordinate ? 2 : 1),
                               for: "a dense \(rows) × \(header.columns) right-hand side") {
            .input(file: text, line: sizeLine, message: $0)
        }
        return try MatrixMarket.readDense(path: text, threads: threads)
    }

    /// Rows `owned` of every column of the spelling's `rows`-row matrix, column
    /// after column (owned.count values each): what one rank of a row
    /// distribution holds, built without the whole matrix (`random:K` draws
    /// each entry from its own counter, so any split gives the same values; an
    /// array file is parsed for those rows only). Rank-local.
    public static func parseOwned(_ text: String, rows: Int, owned: Range<Int>, field: String,
                                  threads: Int = 1) throws(SparrowError) -> [[Double]] {
        let tooLarge = { (message: String) in SparrowError.field(name: field, message: message) }
        if text == "ones" {
            try MemoryBudget.check(Double(owned.count) * 8, for: "this rank's \(owned.count) rows of a vector", error: tooLarge)
            return [[Double](repeating: 1, count: owned.count)]
        }
        if text.hasPrefix("random:") {
            guard let k = Int(text.dropFirst(7)), (1...100_000).contains(k) else {
                throw .field(name: field, message: "expected random:K with K in 1...100000, got '\(text)'")
            }
            try MemoryBudget.check(Double(owned.count) * Double(k) * 8, for: "this rank's \(owned.count) rows of a \(rows) × \(k) right-hand side", error: tooLarge)
            return (0..<k).map { j in
                owned.map { i in 2 * CounterRandom.unit(CounterRandom.bits(seed: 0x5EED, counter: UInt64(j * rows + i))) - 1 }
            }
        }
        let header = try MatrixMarket.readHeader(path: text)
        guard header.format == .array, header.symmetry == .general else {
            // A coordinate right-hand side is rare and small: read whole, keep the owned rows.
            let whole = try parse(text, rows: rows, field: field, threads: threads)
            return (0..<whole.columns).map { j in Array(whole.values[(j * rows + owned.lowerBound)..<(j * rows + owned.upperBound)]) }
        }
        let sizeLine = header.sizeLine
        guard header.rows == rows else {
            throw .input(file: text, line: sizeLine, message: "has \(header.rows) rows, expected \(rows) to match the matrix")
        }
        let m = header.columns
        try MemoryBudget.check(Double(owned.count) * Double(m) * 16, for: "this rank's \(owned.count) rows of a \(rows) × \(m) right-hand side") {
            .input(file: text, line: sizeLine, message: $0)
        }
        let rowMajor = try MatrixMarket.arrayRows(path: text, header: header, owned: owned, threads: threads)
        return (0..<m).map { j in (0..<owned.count).map { rowMajor[$0 * m + j] } }
    }
}
