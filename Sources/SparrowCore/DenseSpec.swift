/// Dense right-hand sides and vectors named on the command line or in job
/// files: `ones`, `random:K` (K seeded columns, uniform in (−1, 1]), or a
/// Matrix Market array file.
public enum DenseSpec {
    public static func parse(_ text: String, rows: Int, field: String, threads: Int = 1) throws(SparrowError) -> DenseMatrix {
        if text == "ones" { return DenseMatrix(rows: rows, columns: 1, repeating: 1) }
        if text.hasPrefix("random:") {
            guard let k = Int(text.dropFirst(7)), (1...100_000).contains(k) else {
                throw .field(name: field, message: "expected random:K with K in 1...100000, got '\(text)'")
            }
            var values = [Double](repeating: 0, count: rows * k)
            for e in 0..<values.count {
                values[e] = 2 * CounterRandom.unit(CounterRandom.bits(seed: 0x5EED, counter: UInt64(e))) - 1
            }
            return DenseMatrix(rows: rows, columns: k, values: values)
        }
        let dense = try MatrixMarket.readDense(path: text, threads: threads)
        guard dense.rows == rows else {
            throw .input(file: text, line: nil, message: "has \(dense.rows) rows, expected \(rows) to match the matrix")
        }
        return dense
    }
}
