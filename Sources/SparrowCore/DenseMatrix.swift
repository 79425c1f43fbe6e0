/// Column-major dense matrix: right-hand sides, solutions, dual potentials, factors.
/// Column-major matches Matrix Market `array` files and LAPACK/CHOLMOD dense storage.
public struct DenseMatrix: Sendable, Equatable {
    public var rows: Int
    public var columns: Int
    public var values: [Double]

    public init(rows: Int, columns: Int, values: [Double]) {
        precondition(values.count == rows * columns, "values must hold rows × columns entries")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    public init(rows: Int, columns: Int, repeating value: Double = 0) {
        self.init(rows: rows, columns: columns, values: [Double](repeating: value, count: rows * columns))
    }

    public subscript(row: Int, column: Int) -> Double {
        get { values[column * rows + row] }
        set { values[column * rows + row] = newValue }
    }

    public func column(_ j: Int) -> [Double] { Array(values[(j * rows)..<((j + 1) * rows)]) }

    public mutating func setColumn(_ j: Int, _ x: [Double]) {
        precondition(x.count == rows)
        values.replaceSubrange((j * rows)..<((j + 1) * rows), with: x)
    }

    /// Columns `range` as a new matrix.
    public func columns(_ range: Range<Int>) -> DenseMatrix {
        DenseMatrix(rows: rows, columns: range.count, values: Array(values[(range.lowerBound * rows)..<(range.upperBound * rows)]))
    }

    public var frobeniusNorm: Double { norm2(values) }
}

/// Euclidean norm without overflow for large entries.
public func norm2(_ x: [Double]) -> Double {
    var scale = 0.0, sum = 1.0
    for v in x where v != 0 {
        let a = abs(v)
        if scale < a { sum = 1 + sum * (scale / a) * (scale / a); scale = a } else { sum += (a / scale) * (a / scale) }
    }
    return scale * sum.squareRoot()
}

public func dot(_ x: [Double], _ y: [Double]) -> Double {
    var s = 0.0
    for i in 0..<x.count { s += x[i] * y[i] }
    return s
}
