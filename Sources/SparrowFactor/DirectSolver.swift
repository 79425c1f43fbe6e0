import SparrowCore

/// Which factorization solves A X = B.
public enum SolveMethod: String, Sendable, CaseIterable {
    case cholesky, lu, qr, auto
}

/// One factorization behind one interface: Cholesky for SPD, LU for square,
/// QR for rectangular (least squares). `auto` picks Cholesky for a symmetric
/// matrix with a positive diagonal, falls back to LU if Cholesky finds it
/// indefinite, and uses QR for rectangular input.
public final class DirectSolver {
    public enum Factor {
        case cholesky(CholeskyFactorization)
        case lu(LUFactorization)
        case qr(QRFactorization)
    }

    public let factor: Factor
    public let matrix: CSRMatrix
    /// The method actually used (never `.auto`).
    public let method: SolveMethod
    /// Why `auto` chose or fell back, for reports.
    public let note: String

    public init(_ matrix: CSRMatrix, method: SolveMethod, ordering: CholeskyFactorization.Ordering = .amd) throws(SparrowError) {
        guard matrix.isFinite else { throw .usage("matrix has NaN or infinite entries") }
        self.matrix = matrix
        // The same ordering for LU, also when `auto` falls back to it.
        let luOrdering = LUFactorization.Ordering(rawValue: ordering.rawValue) ?? .amd
        switch method {
        case .cholesky:
            factor = .cholesky(try CholeskyFactorization(matrix, ordering: ordering))
            self.method = .cholesky
            note = ""
        case .lu:
            factor = .lu(try LUFactorization(matrix, ordering: luOrdering))
            self.method = .lu
            note = ""
        case .qr:
            factor = .qr(try QRFactorization(matrix))
            self.method = .qr
            note = ""
        case .auto:
            if matrix.rows != matrix.columns {
                factor = .qr(try QRFactorization(matrix))
                self.method = .qr
                note = "rectangular: QR least squares"
            } else if matrix.isSymmetric, (0..<matrix.rows).allSatisfy({ matrix.entry($0, $0) > 0 }) {
                do {
                    factor = .cholesky(try CholeskyFactorization(matrix, ordering: ordering))
                    self.method = .cholesky
                    note = "symmetric with positive diagonal: Cholesky"
                } catch {
                    guard case .computation = error else { throw error }
                    factor = .lu(try LUFactorization(matrix, ordering: luOrdering))
                    self.method = .lu
                    note = "Cholesky failed (\(error)); fell back to LU"
                }
            } else {
                factor = .lu(try LUFactorization(matrix, ordering: luOrdering))
                self.method = .lu
                note = "square, not symmetric positive definite: LU"
            }
        }
    }

    public func solve(_ b: DenseMatrix) throws(SparrowError) -> DenseMatrix {
        guard b.rows == matrix.rows else {
            throw .usage("shape mismatch: A is \(matrix.rows) × \(matrix.columns) but B has \(b.rows) rows")
        }
        guard b.values.allSatisfy({ $0.isFinite }) else { throw .usage("right-hand side has NaN or infinite entries") }
        switch factor {
        case let .cholesky(f): return try f.solve(b)
        case let .lu(f): return try f.solve(b)
        case let .qr(f): return try f.solve(b)
        }
    }

    public var factorNonzeros: Int {
        switch factor {
        case let .cholesky(f): return f.factorNonzeros
        case let .lu(f): return f.factorNonzeros
        case let .qr(f): return f.factorNonzeros
        }
    }

    /// The factorization's reciprocal condition estimate (nil for QR, which gives none).
    public var reciprocalCondition: Double? {
        switch factor {
        case let .cholesky(f): return f.reciprocalCondition
        case let .lu(f): return f.reciprocalCondition
        case .qr: return nil
        }
    }

    /// Below this reciprocal condition estimate, or above this relative residual, a solve is suspect.
    public static let suspectReciprocalCondition = 1e-12
    public static let suspectResidual = 1e-6

    /// Warnings a user must see about a solve with this factor and `residual`.
    public func warnings(residual: Double, item: String? = nil) -> [String] {
        Self.warnings(method: method, reciprocalCondition: reciprocalCondition, residual: residual, note: note, item: item)
    }

    public static func warnings(method: SolveMethod, reciprocalCondition: Double?, residual: Double, note: String,
                                item: String? = nil) -> [String] {
        let prefix = item.map { "\($0): " } ?? ""
        var found: [String] = []
        if let rcond = reciprocalCondition, !(rcond >= Self.suspectReciprocalCondition) {
            found.append("\(prefix)matrix is ill-conditioned for \(method.rawValue): reciprocal condition estimate \(rcond) < \(Self.suspectReciprocalCondition); the solution may be inaccurate")
        }
        if !(residual <= Self.suspectResidual) {
            found.append("\(prefix)relative residual \(residual) > \(Self.suspectResidual) after \(method.rawValue)")
        }
        if !note.isEmpty, note.contains("fell back") { found.append(prefix + note) }
        return found
    }

    /// Largest relative residual over the columns: ‖A x − b‖/‖b‖ for square
    /// systems, ‖Aᵀ(A x − b)‖/‖Aᵀ b‖ (the normal-equations residual) for least squares.
    public func relativeResidual(_ x: DenseMatrix, _ b: DenseMatrix) -> Double {
        Residuals.relative(matrix, x, b, leastSquares: method == .qr && matrix.rows != matrix.columns)
    }
}

public enum Residuals {
    public static func relative(_ a: CSRMatrix, _ x: DenseMatrix, _ b: DenseMatrix, leastSquares: Bool) -> Double {
        var worst = 0.0
        let at = leastSquares ? a.transposed() : a
        for j in 0..<b.columns {
            let bj = b.column(j)
            var r = a.multiply(x.column(j))
            for i in 0..<r.count { r[i] -= bj[i] }
            let value: Double
            if leastSquares {
                let atb = norm2(at.multiply(bj))
                value = atb > 0 ? norm2(at.multiply(r)) / atb : norm2(at.multiply(r))
            } else {
                let nb = norm2(bj)
                value = nb > 0 ? norm2(r) / nb : norm2(r)
            }
            worst = max(worst, value)
        }
        return worst
    }
}
