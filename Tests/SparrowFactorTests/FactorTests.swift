import Foundation
import SparrowCore
import SparrowFactor
import XCTest

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures").path
func fixture(_ name: String) throws -> CSRMatrix { try MatrixMarket.readCSR(path: fixtures + "/" + name) }

/// Independent residual: dense arithmetic on the CSR, no library helpers.
func residual(_ a: CSRMatrix, _ x: [Double], _ b: [Double]) -> Double {
    var r = 0.0, nb = 0.0
    for i in 0..<a.rows {
        var s = 0.0
        for p in a.rowRange(i) { s += a.values[p] * x[Int(a.columnIndices[p])] }
        r += (s - b[i]) * (s - b[i])
        nb += b[i] * b[i]
    }
    return (r / nb).squareRoot()
}

final class FactorTests: XCTestCase {
    /// `sampled:KEEP` is uniform sampling; the old spelling that promised a sparsifier is refused with the new one.
    func testSampledPreconditionerSpellingAndTheRetiredName() throws {
        XCTAssertEqual(try PreconditionerSpelling.parse("sampled:0.5", plugins: [], field: "--preconditioner"), .sampled(keep: 0.5))
        XCTAssertThrowsError(try PreconditionerSpelling.parse("sparsified:0.5", plugins: [], field: "--preconditioner")) { error in
            XCTAssertEqual((error as? SparrowError)?.description,
                           "--preconditioner: 'sparsified:0.5' is now spelled sampled:KEEP (uniform sampling of the off-diagonals, not a spectral sparsifier; for that use sparsifier[:DENSITY])")
        }
        XCTAssertThrowsError(try PreconditionerSpelling.parse("sampled:0", plugins: [], field: "--preconditioner"))
    }

    func testCholeskyOnBcsstk13() throws {
        let a = try fixture("bcsstk13.mtx")
        let f = try CholeskyFactorization(a)
        // b = A·1: the residual measures the factorization, not the conditioning of b.
        let b = a.multiply([Double](repeating: 1, count: a.rows))
        let x = try f.solve(b)
        let r = residual(a, x, b)
        XCTAssertLessThanOrEqual(r, 1e-12)
        let solver = try DirectSolver(a, method: .cholesky)
        let bd = DenseMatrix(rows: a.rows, columns: 1, values: b)
        XCTAssertEqual(solver.relativeResidual(try solver.solve(bd), bd), r, accuracy: 1e-15, "report and independent residual agree")
        XCTAssertGreaterThan(f.factorNonzeros, a.nonzeros / 2)
        // Multiple right-hand sides at once equal one-by-one solves.
        let many = try DenseSpec.parse("random:5", rows: a.rows, field: "rhs")
        let xs = try f.solve(many)
        for j in 0..<5 {
            let single = try f.solve(many.column(j))
            let difference = zip(xs.column(j), single).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            XCTAssertLessThanOrEqual(difference, 1e-8 * norm2(single), "column \(j)")
        }
    }

    func testOrderingsAgreeAndLogDeterminant() throws {
        // log det of the 2D Laplacian + 1·I against the closed form via eigenvalues.
        let n = 12
        let a = GeneratorSpec.grid2d(n: n, shift: 1).matrix()
        // The graph Laplacian of a path has eigenvalues 2 − 2cos(πk/n), k = 0..n−1,
        // and the grid's are the sums of two of them.
        var exact = 0.0
        for i in 0..<n { for j in 0..<n {
            exact += log(1 + (2 - 2 * cos(Double.pi * Double(i) / Double(n))) + (2 - 2 * cos(Double.pi * Double(j) / Double(n))))
        } }
        for ordering in CholeskyFactorization.Ordering.allCases {
            let f = try CholeskyFactorization(a, ordering: ordering)
            XCTAssertEqual(f.logDeterminant, exact, accuracy: 1e-9 * abs(exact), "\(ordering)")
        }
    }

    func testPredictedFactorNonzerosMatchTheFactor() throws {
        // The analysis alone (batch solves' cost estimate) against a simplicial
        // factor's own column counts, for each ordering, on a 3-D grid with fill.
        let a = GeneratorSpec.grid3d(n: 9, shift: 0.5).matrix()
        for ordering in CholeskyFactorization.Ordering.allCases {
            let predicted = try CholeskyFactorization.predictedFactorNonzeros(a, ordering: ordering)
            let factored = try CholeskyFactorization(a, ordering: ordering, simplicial: true).factorNonzeros
            XCTAssertEqual(predicted, factored, "\(ordering)")
            XCTAssertGreaterThan(predicted, a.nonzeros / 2 + a.rows, "fill beyond the lower triangle, \(ordering)")
        }
        XCTAssertThrowsError(try CholeskyFactorization.predictedFactorNonzeros(CSRMatrix(rows: 2, columns: 3)))
    }

    func testRefactorizeReusesAnalysis() throws {
        let a = GeneratorSpec.grid3d(n: 6, shift: 0.5).matrix()
        let f = try CholeskyFactorization(a)
        var shifted = a
        for i in 0..<a.rows { for p in a.rowRange(i) where Int(a.columnIndices[p]) == i { shifted.values[p] += 1 } }
        try f.refactorize(shifted)
        let b = [Double](repeating: 1, count: a.rows)
        XCTAssertLessThanOrEqual(residual(shifted, try f.solve(b), b), 1e-13)
        XCTAssertThrowsError(try f.refactorize(GeneratorSpec.grid3d(n: 5, shift: 0.5).matrix()))
    }

    func testIndefiniteMatrixNamesTheColumn() throws {
        var t = TripletBuilder(rows: 4, columns: 4)
        for (i, d) in [4.0, 3, -1, 5].enumerated() { t.append(row: i, column: i, value: d) }
        t.append(row: 0, column: 1, value: 1)
        t.append(row: 1, column: 0, value: 1)
        XCTAssertThrowsError(try CholeskyFactorization(t.csr(), ordering: .natural)) { error in
            XCTAssertEqual("\(error)", "matrix is not positive definite: the factorization fails at column 3")
            XCTAssertEqual((error as? SparrowError)?.exitCode, 1)
        }
        XCTAssertThrowsError(try CholeskyFactorization(try fixture("west0067.mtx"))) { error in
            XCTAssertTrue("\(error)".hasPrefix("Cholesky needs a symmetric matrix"), "\(error)")
        }
    }

    func testLUOnBayer10AndWest0067() throws {
        for name in ["bayer10.mtx", "west0067.mtx"] {
            let a = try fixture(name)
            let lu = try LUFactorization(a)
            // b = A·1 (bayer10 is ill-conditioned: with b = 1 the floor is ~2e-10, as with SuperLU).
            let b = a.multiply([Double](repeating: 1, count: a.rows))
            let x = try lu.solve(DenseMatrix(rows: a.rows, columns: 1, values: b)).values
            XCTAssertLessThanOrEqual(residual(a, x, b), 1e-10, name)
            // Transposed solve.
            let bt = a.transposed().multiply([Double](repeating: 1, count: a.rows))
            let xt = try lu.solve(DenseMatrix(rows: a.rows, columns: 1, values: bt), transpose: true).values
            XCTAssertLessThanOrEqual(residual(a.transposed(), xt, bt), 1e-10, name)
        }
    }

    func testSingularLUIsAnError() throws {
        var t = TripletBuilder(rows: 3, columns: 3)
        t.append(row: 0, column: 0, value: 1)
        t.append(row: 1, column: 1, value: 2)
        t.append(row: 2, column: 1, value: 4)
        XCTAssertThrowsError(try LUFactorization(t.csr())) { error in
            XCTAssertTrue("\(error)".contains("singular"), "\(error)")
        }
    }

    func testLeastSquaresAgreesWithNormalEquations() throws {
        let a = try fixture("ash219.mtx")
        let b = (0..<a.rows).map { Double($0 % 5) - 1.5 }
        let x = try QRFactorization(a).solve(DenseMatrix(rows: a.rows, columns: 1, values: b)).values
        // Normal equations AᵀA x = Aᵀb solved independently by CHOLMOD.
        let at = a.transposed()
        var normal = TripletBuilder(rows: a.columns, columns: a.columns)
        for i in 0..<a.rows {
            for p in a.rowRange(i) { for q in a.rowRange(i) {
                normal.append(row: Int(a.columnIndices[p]), column: Int(a.columnIndices[q]), value: a.values[p] * a.values[q])
            } }
        }
        let xn = try CholeskyFactorization(normal.csr()).solve(at.multiply(b))
        let difference = zip(x, xn).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        XCTAssertLessThanOrEqual(difference, 1e-10 * norm2(xn))
    }

    func testAutoChoosesAndFallsBack() throws {
        XCTAssertEqual(try DirectSolver(try fixture("bcsstk13.mtx"), method: .auto).method, .cholesky)
        XCTAssertEqual(try DirectSolver(try fixture("bayer10.mtx"), method: .auto).method, .lu)
        XCTAssertEqual(try DirectSolver(try fixture("ash219.mtx"), method: .auto).method, .qr)
        // Symmetric, positive diagonal, indefinite: Cholesky fails, LU takes over.
        var t = TripletBuilder(rows: 2, columns: 2)
        t.append(row: 0, column: 0, value: 1); t.append(row: 1, column: 1, value: 1)
        t.append(row: 0, column: 1, value: 2); t.append(row: 1, column: 0, value: 2)
        let solver = try DirectSolver(t.csr(), method: .auto)
        XCTAssertEqual(solver.method, .lu)
        XCTAssertTrue(solver.note.contains("fell back to LU"))
        let x = try solver.solve(DenseMatrix(rows: 2, columns: 1, values: [3, 3])).values
        XCTAssertEqual(x[0], 1, accuracy: 1e-14)
        XCTAssertEqual(x[1], 1, accuracy: 1e-14)
    }

    func testShapeMismatchAndNaN() throws {
        let solver = try DirectSolver(try fixture("west0067.mtx"), method: .lu)
        XCTAssertThrowsError(try solver.solve(DenseMatrix(rows: 5, columns: 1))) { error in
            XCTAssertEqual("\(error)", "shape mismatch: A is 67 × 67 but B has 5 rows")
        }
        XCTAssertThrowsError(try solver.solve(DenseMatrix(rows: 67, columns: 1, repeating: .nan)))
        var a = try fixture("west0067.mtx")
        a.values[3] = .infinity
        XCTAssertThrowsError(try DirectSolver(a, method: .lu))
    }

    func testPCGWithSparsifiedCholeskyOnShiftedLaplacian() throws {
        let a = GeneratorSpec.grid3d(n: 40, shift: 0.01).matrix()
        let b = (0..<a.rows).map { Double($0 % 11) - 5 }
        // Sampled copy: symmetric, row sums kept, and PCG still converges with it.
        let sampled = try RowSumPreservingCopy.sample(a, keep: 0.9, seed: 3)
        XCTAssertTrue(sampled.isSymmetric)
        XCTAssertLessThan(sampled.nonzeros, a.nonzeros)
        // Banded copy (couplings between grid planes moved to the diagonal): the cheap one.
        let copy = try RowSumPreservingCopy.band(a, width: 40)
        XCTAssertLessThan(copy.nonzeros, a.nonzeros - a.nonzeros / 4, "the copy is sparser")
        XCTAssertTrue(copy.isSymmetric)
        let rowSums = copy.multiply([Double](repeating: 1, count: a.rows))
        XCTAssertTrue(rowSums.allSatisfy { abs($0 - 0.01) < 1e-9 }, "row sums preserved")
        let factor = try CholeskyFactorization(copy)
        var solver = ConjugateGradient()
        solver.tolerance = 1e-10
        let preconditioned = try solver.solve(b, apply: { a.multiply($0) }, precondition: { (r) throws(SparrowError) in try factor.solve(r) })
        XCTAssertTrue(preconditioned.converged)
        XCTAssertLessThanOrEqual(residual(a, preconditioned.solution, b), 1e-10)
        let jacobi = try solver.solve(b, apply: { a.multiply($0) }, precondition: { (r) throws(SparrowError) in try Preconditioner.jacobi(of: a).apply(r) })
        XCTAssertTrue(jacobi.converged)
        XCTAssertGreaterThan(preconditioned.iterations, 1, "an approximate factor needs several iterations")
        XCTAssertLessThan(preconditioned.iterations, jacobi.iterations, "and fewer than Jacobi")
        XCTAssertLessThan(factor.factorNonzeros * 10, try CholeskyFactorization(a).factorNonzeros, "at a tenth of the full factor's size")
        let sampledFactor = try CholeskyFactorization(sampled)
        let withSample = try solver.solve(b, apply: { a.multiply($0) }, precondition: { (r) throws(SparrowError) in try sampledFactor.solve(r) })
        XCTAssertTrue(withSample.converged)
        XCTAssertLessThan(withSample.iterations, jacobi.iterations)
        print("PCG iterations on the 40³ Laplacian (shift 0.01): Jacobi \(jacobi.iterations), band:40 \(preconditioned.iterations), sampled:0.9 \(withSample.iterations)")
        // Direct Cholesky of the 40³ Laplacian too.
        XCTAssertLessThanOrEqual(residual(a, try CholeskyFactorization(a).solve(b), b), 1e-12)
    }

    func testResidentMemoryStaysFlatOverAThousandFactorSolveCycles() throws {
        let a = GeneratorSpec.grid2d(n: 30, shift: 0.1).matrix()
        let lu = try fixture("west0067.mtx")
        let ls = try fixture("ash219.mtx")
        let b = DenseMatrix(rows: a.rows, columns: 1, repeating: 1)
        func cycle() throws {
            _ = try CholeskyFactorization(a).solve(b)
            _ = try LUFactorization(lu).solve(DenseMatrix(rows: 67, columns: 1, repeating: 1))
            _ = try QRFactorization(ls).solve(DenseMatrix(rows: 219, columns: 1, repeating: 1))
        }
        for _ in 0..<100 { try cycle() }
        let before = System.residentBytes()
        for _ in 0..<1000 { try cycle() }
        let after = System.residentBytes()
        print("resident memory after 100 cycles: \(before / 1024) KiB; after 1,100: \(after / 1024) KiB")
        XCTAssertGreaterThan(before, 0)
        // A leak of one factor per cycle would add ≥ 40 MiB here.
        XCTAssertLessThan(after - before, 4 << 20, "resident memory grew by \((after - before) / 1024) KiB")
    }
}
