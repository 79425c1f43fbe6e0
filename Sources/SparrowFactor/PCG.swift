import SparrowCore

/// M⁻¹ for PCG.
public enum Preconditioner {
    case identity
    /// Inverse of the diagonal.
    case jacobi([Double])
    /// An exact or approximate Cholesky factor: the matrix itself (one-step
    /// convergence) or a sparser copy of it (`RowSumPreservingCopy`).
    case cholesky(CholeskyFactorization)

    public func apply(_ r: [Double]) throws(SparrowError) -> [Double] {
        switch self {
        case .identity: return r
        case let .jacobi(inverse): return zip(r, inverse).map { $0 * $1 }
        case let .cholesky(factor): return try factor.solve(r)
        }
    }

    public static func jacobi(of matrix: CSRMatrix) throws(SparrowError) -> Preconditioner {
        var inverse = [Double](repeating: 0, count: matrix.rows)
        for i in 0..<matrix.rows {
            let d = matrix.entry(i, i)
            guard d > 0 else { throw .computation("Jacobi preconditioner needs a positive diagonal: A[\(i + 1), \(i + 1)] = \(d)") }
            inverse[i] = 1 / d
        }
        return .jacobi(inverse)
    }
}

/// A sparser copy of A with A's row sums, to factor cheaply as a PCG
/// preconditioner: the couplings of a band, or each off-diagonal pair kept
/// with probability `keep` (seeded, symmetric) and scaled by 1/keep so the
/// expectation is A, with the dropped weight moved onto the diagonal. For
/// diagonally dominant M-matrices (graph Laplacians plus a shift) the copy
/// stays SPD. Uniform sampling carries no spectral bound — a pair on a cut
/// crossed by few others can be dropped and the condition number is then
/// unbounded; importance sampling by effective resistance (the `sparsifier`
/// preconditioner, SparrowSparsify) is what gives one.
public enum RowSumPreservingCopy {
    /// Keeps the couplings with |i − j| ≤ width and moves the dropped ones onto
    /// the diagonal (row sums preserved). On a lexicographically numbered 3D
    /// grid with width = n this drops the couplings between planes: the copy is
    /// a stack of 2D problems whose factor is far cheaper than the 3D one.
    public static func band(_ a: CSRMatrix, width: Int) throws(SparrowError) -> CSRMatrix {
        guard width >= 1 else { throw .field(name: "width", message: "must be ≥ 1, got \(width)") }
        guard a.rows == a.columns else { throw .usage("a banded copy needs a square matrix") }
        var t = TripletBuilder(rows: a.rows, columns: a.columns, reservingCapacity: a.nonzeros)
        for i in 0..<a.rows {
            var diagonal = 0.0
            for p in a.rowRange(i) {
                let j = Int(a.columnIndices[p]), v = a.values[p]
                if j == i || abs(i - j) > width { diagonal += v } else { t.append(row: i, column: j, value: v) }
            }
            t.append(row: i, column: i, value: diagonal)
        }
        return t.csr()
    }

    public static func sample(_ a: CSRMatrix, keep: Double, seed: UInt64 = 1) throws(SparrowError) -> CSRMatrix {
        guard keep > 0, keep <= 1 else { throw .field(name: "keep", message: "must be in (0, 1], got \(keep)") }
        guard a.rows == a.columns else { throw .usage("a sampled copy needs a square matrix") }
        var t = TripletBuilder(rows: a.rows, columns: a.columns, reservingCapacity: a.nonzeros)
        var diagonal = [Double](repeating: 0, count: a.rows)
        for i in 0..<a.rows {
            for p in a.rowRange(i) {
                let j = Int(a.columnIndices[p]), v = a.values[p]
                if j == i { diagonal[i] += v; continue }
                let (lo, hi) = (min(i, j), max(i, j))
                let draw = CounterRandom.unit(CounterRandom.bits(seed: seed, counter: UInt64(lo) &* 0x1_0000_0001 &+ UInt64(hi)))
                let kept = draw <= keep
                let newValue = kept ? v / keep : 0
                if kept { t.append(row: i, column: j, value: newValue) }
                diagonal[i] += v - newValue // keep the row sum
            }
        }
        for i in 0..<a.rows { t.append(row: i, column: i, value: diagonal[i]) }
        return t.csr()
    }
}
