import CTransportKernels
import Foundation
import SparrowCore
import SparrowMPI
@testable import SparrowTransport
import XCTest

/// The solver on one rank against plain references: a textbook Sinkhorn in
/// scaling form, the libm exponential, and a sort for the Hessian threshold.
final class TransportTests: XCTestCase {
    let communicator = Communicator.initialize()

    static func problem(_ cost: [Double], n: Int, m: Int, r: [Double]? = nil, c: [Double]? = nil) -> TransportProblem {
        TransportProblem(rows: n, columns: m, partition: RowPartition.uniform(rows: n, parts: 1),
                         cost: LocalCost(denseRows: cost, columns: m), rowMarginal: r ?? [Double](repeating: 1 / Double(n), count: n),
                         columnMarginal: c ?? [Double](repeating: 1 / Double(m), count: m))
    }

    static func cost(_ n: Int, _ m: Int, seed: UInt64, low: Double = 0) -> [Double] {
        var state = seed
        return (0..<(n * m)).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return low + (1 - low) * Double(state >> 11) / Double(1 << 53)
        }
    }

    func solve(_ p: TransportProblem, _ configure: (inout TransportParameters) -> Void) throws -> EntropicTransport {
        var parameters = TransportParameters()
        configure(&parameters)
        let solver = EntropicTransport(problem: p, parameters: parameters, communicator: communicator)
        solver.initialize()
        try solver.run(communicator: communicator) { (_: TransportRecord, _: Bool) throws(SparrowError) in }
        return solver
    }

    /// Textbook Sinkhorn on K = exp(−ηC): u = r / Kv, v = c / Kᵀu, in plain doubles (small η only).
    func scalingSinkhorn(_ cost: [Double], n: Int, m: Int, eta: Double, r: [Double], c: [Double]) -> [Double] {
        let k = cost.map { Foundation.exp(-eta * $0) }
        var u = [Double](repeating: 1, count: n), v = [Double](repeating: 1, count: m)
        for _ in 0..<20_000 {
            for i in 0..<n { var s = 0.0; for j in 0..<m { s += k[i * m + j] * v[j] }; u[i] = r[i] / s }
            for j in 0..<m { var s = 0.0; for i in 0..<n { s += k[i * m + j] * u[i] }; v[j] = c[j] / s }
        }
        return (0..<(n * m)).map { u[$0 / m] * k[$0] * v[$0 % m] }
    }

    func plan(_ s: EntropicTransport) -> [Double] {
        let p = s.problem, eta = s.parameters.eta
        return (0..<(p.rows * p.columns)).map { e in
            Foundation.exp(eta * (s.x[e / p.columns] + s.y[e % p.columns] - p.cost.values[e]) - 1)
        }
    }

    func testBothMethodsGiveTheTextbookSinkhornPlanWithUnequalMarginals() throws {
        let (n, m) = (40, 30)
        let cost = Self.cost(n, m, seed: 3)
        let r = (0..<n).map { Double($0 % 5 + 1) }, c = (0..<m).map { Double($0 % 3 + 2) }
        let rs = r.reduce(0, +), cs = c.reduce(0, +)
        let rn = r.map { $0 / rs }, cn = c.map { $0 / cs }
        let reference = scalingSinkhorn(cost, n: n, m: m, eta: 20, r: rn, c: cn)
        for method in TransportParameters.Method.allCases {
            let solver = try solve(Self.problem(cost, n: n, m: m, r: rn, c: cn)) { $0.eta = 20; $0.method = method; $0.tolerance = 1e-12 }
            XCTAssertTrue(solver.converged, method.rawValue)
            let mine = plan(solver)
            XCTAssertLessThan(zip(mine, reference).map { abs($0 - $1) }.max()!, 1e-12, method.rawValue)
        }
    }

    func testLargeEtaWithUnderflowingRowsStaysFinite() throws {
        // Costs in [0.5, 1] at η = 1e4: every exp(−ηC) is below 1e-2000, far below the smallest double.
        let (n, m) = (60, 60)
        let cost = Self.cost(n, m, seed: 9, low: 0.5)
        let solver = try solve(Self.problem(cost, n: n, m: m)) { $0.eta = 1e4; $0.tolerance = 1e-9 }
        XCTAssertTrue(solver.converged)
        XCTAssertTrue(solver.x.allSatisfy(\.isFinite) && solver.y.allSatisfy(\.isFinite))
        let p = plan(solver)
        var rows = [Double](repeating: 0, count: n), columns = [Double](repeating: 0, count: m)
        for e in p.indices { rows[e / m] += p[e]; columns[e % m] += p[e] }
        let error = rows.map { abs($0 - 1 / Double(n)) }.reduce(0, +) + columns.map { abs($0 - 1 / Double(m)) }.reduce(0, +)
        XCTAssertLessThanOrEqual(error, 1e-9)
        XCTAssertGreaterThan(solver.statistics.stabilizedPasses, 0, "the log-sum-exp path was taken")
    }

    func testVectorExponentialAgreesWithLibm() {
        // With η = 1, x_i = 1 and zero costs the kernel's argument is exactly y_j: the exponential alone is tested.
        let count = 4003
        let z = (0..<count).map { -745 + 1454 * Double($0) / Double(count - 1) } + [-1e-300, 0, 1e-300, -708.5, -707.9]
        let zeros = [Double](repeating: 0, count: z.count)
        var plan = [Double](repeating: 0, count: z.count)
        let total = sparrow_ot_plan_row(zeros, nil, z.count, z, 1, 1, &plan, nil)
        var sum = 0.0
        for j in z.indices {
            let exact = z[j] < -708 ? 0 : Foundation.exp(z[j])
            XCTAssertEqual(plan[j], exact, accuracy: 3e-16 * exact, "exp(\(z[j]))")
            sum += exact
        }
        XCTAssertEqual(total, sum, accuracy: 1e-15 * sum)
        // Gathered columns (a sparse kernel's rows) give the same values.
        let columns = (0..<Int32(z.count)).reversed().map { $0 }
        var gathered = [Double](repeating: 0, count: z.count)
        _ = sparrow_ot_plan_row(zeros, columns, z.count, z, 1, 1, &gathered, nil)
        for j in z.indices { XCTAssertEqual(gathered[j], plan[Int(columns[j])]) }
    }

    func testHessianThresholdDropsAtMostTheBudgetAndKeepsTheLargest() {
        let (n, m) = (50, 40)
        let plan = Self.cost(n, m, seed: 12).map { Foundation.exp(-30 * $0) }
        let cost = LocalCost(denseRows: [Double](repeating: 0, count: n * m), columns: m)
        let total = plan.reduce(0, +)
        let hessian = SparsifiedHessian.build(plan: plan, cost: cost, budget: 0.05 * total, maxKept: 1 << 30, threads: 2,
                                              communicator: communicator)
        let kept = hessian.values.reduce(0, +)
        XCTAssertLessThanOrEqual(total - kept, 0.05 * total)
        XCTAssertEqual(hessian.droppedMass, total - kept, accuracy: 1e-12 * total)
        // Exactly the entries at or above the threshold are kept (so every kept entry is
        // at least every dropped one) ...
        XCTAssertGreaterThan(hessian.threshold, 0)
        XCTAssertEqual(hessian.values.count, plan.filter { $0 >= hessian.threshold }.count)
        XCTAssertGreaterThanOrEqual(hessian.values.min()!, plan.filter { $0 < hessian.threshold }.max()!)
        // ... and the threshold is as high as the budget allows: raising it to the next
        // bin edge (a factor 2^(1/8)) would drop more than the budget.
        let nextEdge = hessian.threshold * Foundation.exp2(1 / SparsifiedHessian.binsPerOctave)
        XCTAssertGreaterThan(plan.filter { $0 < nextEdge }.reduce(0, +), 0.05 * total)
        for i in 0..<n {
            for e in hessian.rowStart[i]..<hessian.rowStart[i + 1] {
                XCTAssertEqual(hessian.values[e], plan[i * m + Int(hessian.columnIndices[e])])
            }
        }
    }
}
