import XCTest
import SparrowCore
import SparrowMPI
@testable import SparrowCompletion

/// A seeded generator independent of the product's counter-based one.
struct TestRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }
    mutating func normal() -> Double {
        let u = max(uniform(), 1e-300), v = uniform()
        return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * .pi * v)
    }
}

/// Solves a small dense SPD system by Gaussian elimination with partial pivoting (the reference).
func gaussianSolve(_ a: [[Double]], _ b: [Double]) -> [Double] {
    var m = a, x = b
    let n = b.count
    for c in 0..<n {
        let p = (c..<n).max { abs(m[$0][c]) < abs(m[$1][c]) }!
        m.swapAt(c, p); x.swapAt(c, p)
        for r in (c + 1)..<n {
            let f = m[r][c] / m[c][c]
            for k in c..<n { m[r][k] -= f * m[c][k] }
            x[r] -= f * x[c]
        }
    }
    for c in stride(from: n - 1, through: 0, by: -1) {
        var s = x[c]
        for k in (c + 1)..<n { s -= m[c][k] * x[k] }
        x[c] = s / m[c][c]
    }
    return x
}

/// A rank-k matrix U·Vᵀ observed on a random set of entries.
struct LowRankProblem {
    let m: Int, n: Int, k: Int
    var u: [Double], v: [Double]
    var rows: [Int32] = [], columns: [Int32] = [], values: [Double] = []

    init(m: Int, n: Int, k: Int, observed: Int, seed: UInt64) {
        self.m = m; self.n = n; self.k = k
        var random = TestRandom(state: seed)
        u = (0..<(m * k)).map { _ in random.normal() }
        v = (0..<(n * k)).map { _ in random.normal() }
        var chosen = Set<Int>()
        while chosen.count < observed { chosen.insert(Int(random.next() % UInt64(m * n))) }
        for index in chosen.sorted() {
            let i = index / n, j = index % n
            rows.append(Int32(i)); columns.append(Int32(j)); values.append(entry(i, j))
        }
    }

    func entry(_ i: Int, _ j: Int) -> Double {
        var s = 0.0
        for c in 0..<k { s += u[i * k + c] * v[j * k + c] }
        return s
    }

    func ratings(_ communicator: Communicator) throws -> DistributedRatings {
        let matrix = try DistributedCSR.assemble(rows: m, columns: n, rowIndices: rows, columnIndices: columns, values: values,
                                                 balance: .rows, communicator: communicator)
        return try DistributedRatings(matrix, source: "synthetic", communicator: communicator)
    }

    /// ‖U·Vᵀ − M‖_F / ‖M‖_F over every entry, computed from the model's factors.
    func relativeError(_ model: AlternatingMinimization) -> Double {
        let d = model.parameters.width
        var error = 0.0, norm = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for c in 0..<k { s += model.users[i * d + c] * model.items[j * d + c] }
                let truth = entry(i, j)
                error += (s - truth) * (s - truth)
                norm += truth * truth
            }
        }
        return (error / norm).squareRoot()
    }
}

final class CompletionTests: XCTestCase {
    let communicator = Communicator.initialize()

    /// A design matrix A (n × d, row-major) and targets t, and the reference solution of (AᵀA + ridge I) x = Aᵀt.
    func rowProblem(rows n: Int, width d: Int, ridge: Double, seed: UInt64) -> (RowWorkspace, [Double]) {
        var random = TestRandom(state: seed)
        let w = RowWorkspace(width: d)
        w.reserve(rows: n)
        var a = [[Double]](repeating: [Double](repeating: 0, count: d), count: d), b = [Double](repeating: 0, count: d)
        var design = [[Double]]()
        for e in 0..<n {
            let row = (0..<d).map { _ in random.normal() }
            design.append(row)
            for l in 0..<d { w.design[e * d + l] = row[l] }
            w.target[e] = random.normal()
        }
        for p in 0..<d {
            for q in 0..<d { for e in 0..<n { a[p][q] += design[e][p] * design[e][q] } }
            a[p][p] += ridge
            for e in 0..<n { b[p] += design[e][p] * w.target[e] }
        }
        return (w, gaussianSolve(a, b))
    }

    func testExactRowSolveMatchesGaussianElimination() {
        for (n, d, ridge) in [(40, 7, 0.5), (12, 12, 0.0), (200, 21, 3.0)] {
            let (w, reference) = rowProblem(rows: n, width: d, ridge: ridge, seed: UInt64(n * d))
            var x = [Double](repeating: 0, count: d)
            XCTAssertTrue(ExactRegression.solve(w, rows: n, ridge: ridge, x: &x))
            for l in 0..<d { XCTAssertEqual(x[l], reference[l], accuracy: 1e-9 * max(1, abs(reference[l]))) }
        }
    }

    func testSingularRowSolveFallsBackToATinyRidge() {
        // Two observations, five unknowns, no ridge: G is singular; the fallback still fits the observations.
        let (w, _) = rowProblem(rows: 2, width: 5, ridge: 0, seed: 9)
        var x = [Double](repeating: 0, count: 5)
        XCTAssertFalse(ExactRegression.solve(w, rows: 2, ridge: 0, x: &x))
        for e in 0..<2 {
            var fit = 0.0
            for l in 0..<5 { fit += w.design[e * 5 + l] * x[l] }
            XCTAssertEqual(fit, w.target[e], accuracy: 1e-6)
        }
    }

    /// The workspace's design and targets posed as a half-sweep sees them: partner rows stored
    /// in reverse order, read in place through slots.
    func withDesignView<R>(_ w: RowWorkspace, rows n: Int, _ body: (DesignView) -> R) -> R {
        let d = w.width
        var partners = [Double](repeating: 0, count: n * d)
        for e in 0..<n { for l in 0..<d { partners[(n - 1 - e) * d + l] = w.design[e * d + l] } }
        let slots = (0..<n).map { Int32(n - 1 - $0) }
        let observations = (0..<n).map { w.target[$0] }
        return partners.withUnsafeBufferPointer { p in
            slots.withUnsafeBufferPointer { s in
                observations.withUnsafeBufferPointer { v in
                    body(DesignView(partners: p.baseAddress!, slots: s.baseAddress!, values: v.baseAddress!, offset: 0,
                                    count: n, width: d, rank: d, biases: false))
                }
            }
        }
    }

    /// f(x) = ‖A x − t‖² + ridge·‖x‖², from the design as first stored (before any solve overwrites the workspace).
    func objective(_ design: [Double], _ target: [Double], width d: Int, ridge: Double, _ x: [Double]) -> Double {
        var f = ridge * x.map { $0 * $0 }.reduce(0, +)
        for e in 0..<target.count {
            var fit = 0.0
            for l in 0..<d { fit += design[e * d + l] * x[l] }
            f += (target[e] - fit) * (target[e] - fit)
        }
        return f
    }

    func testInexactRowSolveConvergesToTheExactSolution() {
        let (w, reference) = rowProblem(rows: 90, width: 10, ridge: 1.0, seed: 5)
        func solve(_ x: inout [Double], steps: Int) -> Int {
            withDesignView(w, rows: 90) { InexactRegression.solve(w, design: $0, ridge: 1.0, x: &x, steps: steps) }
        }
        var x = [Double](repeating: 0, count: 10)
        // d steps of CG solve a d-dimensional SPD system (up to rounding); a restart polishes.
        _ = solve(&x, steps: 10)
        _ = solve(&x, steps: 10)
        for l in 0..<10 { XCTAssertEqual(x[l], reference[l], accuracy: 1e-9) }
        // Few steps from zero make progress but are not exact.
        var rough = [Double](repeating: 0, count: 10)
        XCTAssertEqual(solve(&rough, steps: 2), 2)
        let before = reference.map { $0 * $0 }.reduce(0, +)
        let after = zip(reference, rough).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
        XCTAssertLessThan(after, 0.5 * before)
        XCTAssertGreaterThan(after, 1e-12 * before)
    }

    func testSketchedRowSolveMeetsItsStatedAccuracyOnAnIllConditionedRow() {
        // 600 observations of 40 unknowns whose columns span six orders of magnitude: Jacobi-free CG
        // would need far more than d steps; the sketch (s = 160 rows) makes G well conditioned.
        let (n, d, ridge) = (600, 40, 1e-3)
        let (w, _) = rowProblem(rows: n, width: d, ridge: ridge, seed: 17)
        let sketched = RowWorkspace(width: d, sketchRows: SketchedRegression.sketchRows(width: d, ratio: 4))
        sketched.reserve(rows: n)
        var random = TestRandom(state: 99)
        var design = [Double](repeating: 0, count: n * d), target = [Double](repeating: 0, count: n)
        for e in 0..<n {
            for l in 0..<d { design[e * d + l] = w.design[e * d + l] * pow(10, Double(l) * 6 / Double(d)) }
            target[e] = w.target[e] + random.normal()
        }
        for q in 0..<(n * d) { sketched.design[q] = design[q] }
        for e in 0..<n { sketched.target[e] = target[e] }
        // The reference minimum by Gaussian elimination on the normal equations, in the test.
        var g = [[Double]](repeating: [Double](repeating: 0, count: d), count: d), b = [Double](repeating: 0, count: d)
        for p in 0..<d {
            for q in 0..<d { for e in 0..<n { g[p][q] += design[e * d + p] * design[e * d + q] } }
            g[p][p] += ridge
            for e in 0..<n { b[p] += design[e * d + p] * target[e] }
        }
        let best = objective(design, target, width: d, ridge: ridge, gaussianSolve(g, b))
        for epsilon in [1e-2, 1e-6, 1e-12] {
            var x = [Double](repeating: 0, count: d)
            let outcome = withDesignView(sketched, rows: n) {
                SketchedRegression.solve(sketched, design: $0, ridge: ridge, x: &x, accuracy: epsilon, seed: 7)
            }
            XCTAssertTrue(outcome.sketched && outcome.converged, "ε = \(epsilon)")
            XCTAssertLessThanOrEqual(outcome.steps, 60, "ε = \(epsilon): the sketch preconditions")
            let f = objective(design, target, width: d, ridge: ridge, x)
            XCTAssertLessThanOrEqual(f, best / (1 - epsilon) * (1 + 1e-12), "ε = \(epsilon)")
            if epsilon == 1e-2 { XCTAssertGreaterThan(f, best * (1 + 1e-9), "a loose ε stops early") }
        }
        // A row shorter than twice the sketch is solved exactly.
        let (short, reference) = rowProblem(rows: 50, width: 10, ridge: 0.5, seed: 3)
        let shortWorkspace = RowWorkspace(width: 10, sketchRows: 40)
        shortWorkspace.reserve(rows: 50)
        for q in 0..<500 { shortWorkspace.design[q] = short.design[q] }
        for e in 0..<50 { shortWorkspace.target[e] = short.target[e] }
        var x = [Double](repeating: 0, count: 10)
        let outcome = withDesignView(shortWorkspace, rows: 50) {
            SketchedRegression.solve(shortWorkspace, design: $0, ridge: 0.5, x: &x, accuracy: 0.1, seed: 1)
        }
        XCTAssertFalse(outcome.sketched)
        for l in 0..<10 { XCTAssertEqual(x[l], reference[l], accuracy: 1e-9) }
    }

    func testEveryMethodRecoversALowRankMatrixFromThreeTimesItsDegreesOfFreedom() throws {
        let (m, n, k) = (300, 250, 5)
        let problem = LowRankProblem(m: m, n: n, k: k, observed: 3 * k * (m + n - k), seed: 11)
        let ratings = try problem.ratings(communicator)
        for method in CompletionParameters.Method.allCases {
            var p = CompletionParameters(rank: k)
            p.lambda = 0
            p.sweeps = 100
            p.method = method
            p.threads = 2
            // Rows hold about 27 observations: a sketch of 2d rows (12) leaves most of them sketched.
            p.sketchRatio = 2
            let model = AlternatingMinimization(ratings: ratings, parameters: p)
            try model.initialize(communicator: communicator)
            let initial = problem.relativeError(model)
            try model.run(checkpoint: nil, every: 1, communicator: communicator) { _ in }
            let final = problem.relativeError(model)
            XCTAssertLessThan(initial, 1, "\(method): the spectral start is informative")
            XCTAssertLessThan(final, 1e-8, "\(method): relative Frobenius error over all entries")
            if method == .robust { XCTAssertGreaterThan(model.statistics.sketchedRows, 0, "the sketched path was taken") }
        }
    }

    func testSpectralInitializationOfAFullyObservedLowRankMatrixIsExact() throws {
        let (m, n, k) = (60, 45, 4)
        let problem = LowRankProblem(m: m, n: n, k: k, observed: m * n, seed: 2)
        var p = CompletionParameters(rank: k)
        p.sweeps = 1
        let model = AlternatingMinimization(ratings: try problem.ratings(communicator), parameters: p)
        try model.initialize(communicator: communicator)
        XCTAssertLessThan(problem.relativeError(model), 1e-10, "the top-k SVD of an exactly rank-k matrix reproduces it")
    }

    func testRatingsRefuseNaNAndDuplicates() throws {
        let withNaN = try DistributedCSR.assemble(rows: 3, columns: 3, rowIndices: [0, 1], columnIndices: [0, 1], values: [1, .nan],
                                                  balance: .rows, communicator: communicator)
        XCTAssertThrowsError(try DistributedRatings(withNaN, source: "r.mtx", communicator: communicator)) {
            XCTAssertTrue("\($0)".contains("not finite"), "\($0)")
        }
        let duplicated = try DistributedCSR.assemble(rows: 3, columns: 3, rowIndices: [0, 0, 2], columnIndices: [1, 1, 2], values: [4, 5, 1],
                                                     balance: .rows, communicator: communicator)
        XCTAssertEqual(duplicated.mergedDuplicates, 1)
        XCTAssertThrowsError(try DistributedRatings(duplicated, source: "r.mtx", communicator: communicator)) {
            XCTAssertTrue("\($0)".contains("duplicates are refused"), "\($0)")
        }
    }

    func testTopListsEqualABruteForceRanking() throws {
        let (m, n, k) = (37, 29, 3)
        var problem = LowRankProblem(m: m, n: n, k: k, observed: 400, seed: 8)
        problem.values = problem.values.map { $0 + 0.1 } // a non-zero mean
        var p = CompletionParameters(rank: k)
        p.biases = true
        p.lambda = 0.05
        p.sweeps = 3
        let model = AlternatingMinimization(ratings: try problem.ratings(communicator), parameters: p)
        try model.initialize(communicator: communicator)
        try model.run(checkpoint: nil, every: 1, communicator: communicator) { _ in }
        let top = try TopRecommendations.compute(model, count: 5, communicator: communicator).local
        let observed = Set(zip(problem.rows, problem.columns).map { Int($0) * n + Int($1) })
        let d = p.width
        for i in 0..<m {
            var scored: [(Int, Double)] = []
            for j in 0..<n where !observed.contains(i * n + j) {
                var s = model.offset + model.users[i * d + k] + model.items[j * d + k]
                for c in 0..<k { s += model.users[i * d + c] * model.items[j * d + c] }
                scored.append((j, s))
            }
            let best = scored.sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }.prefix(5)
            let got = top.rowRange(i).map { (Int(top.columnIndices[$0]), top.values[$0]) }
            XCTAssertEqual(Set(got.map(\.0)), Set(best.map(\.0)), "row \(i)")
            for (j, s) in got { XCTAssertEqual(s, best.first { $0.0 == j }?.1 ?? .nan, accuracy: 1e-12) }
        }
    }
}
