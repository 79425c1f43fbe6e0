import Foundation
import XCTest

/// Jobs keep their values distributed: dense results (direct and PCG
/// solutions, stacked batch solutions) stay split by rows between steps and
/// are written by every rank, a PCG right-hand side named in the job moves to
/// the matrix's rows, and `solve_many` sends each matrix only to the ranks
/// that estimate and solve it. References: residuals computed here with a
/// triplet loop, and the volume that replicating every matrix would move.
final class JobScaleOutCLITests: XCTestCase {
    /// SPD, with the first third of the rows much denser, so the nnz-balanced
    /// partition of S differs from the uniform one of a solve's solution.
    private static func writeUnevenSPD(_ path: String, n: Int) throws {
        var entries: [(Int, Int, Double)] = []
        var degree = [Double](repeating: 0, count: n)
        func couple(_ i: Int, _ j: Int) {
            guard j < n else { return }
            entries += [(i, j, -1), (j, i, -1)]
            degree[i] += 1; degree[j] += 1
        }
        for i in 0..<n {
            couple(i, i + 1)
            if i < n / 3 { for k in 2...6 { couple(i, i + k) } }
        }
        for i in 0..<n { entries.append((i, i, degree[i] + 0.5 + Double(i % 3))) }
        try write(path, rows: n, columns: n, entries)
    }

    private static func write(_ path: String, rows: Int, columns: Int, _ entries: [(Int, Int, Double)]) throws {
        let lines = entries.map { "\($0.0 + 1) \($0.1 + 1) \($0.2)\n" }.joined()
        try ("%%MatrixMarket matrix coordinate real general\n\(rows) \(columns) \(entries.count)\n" + lines)
            .write(toFile: path, atomically: true, encoding: .utf8)
    }

    func testDistributedJobValuesAgreeAtOneTwoThreeRanksAndSolveTheirSystems() throws {
        let scratch = ScratchDirectory()
        let n = 600
        try Self.writeUnevenSPD(scratch.join("S.mtx"), n: n)
        // A sparse right-hand side: one column, every seventh row.
        try Self.write(scratch.join("R.mtx"), rows: n, columns: 1, stride(from: 0, to: n, by: 7).map { ($0, 0, Double($0 % 5) - 1.5) })
        let sizes = [40, 75, 20, 90, 55]
        for (k, m) in sizes.enumerated() { try Self.writeUnevenSPD(scratch.join("M\(k).mtx"), n: m) }
        let job = """
        job: distributed-values
        inputs:
          S: {path: \(scratch.join("S.mtx"))}
          R: {path: \(scratch.join("R.mtx"))}
        \(sizes.indices.map { "  M\($0): {path: \(scratch.join("M\($0).mtx"))}" }.joined(separator: "\n"))
        steps:
          - {name: d, op: solve, matrix: S, rhs: rowsums, method: cholesky}
          - {name: x, op: pcg, matrix: S, rhs: d, tol: 1.0e-12, max_iterations: 3000}
          - {name: y, op: pcg, matrix: S, rhs: R, tol: 1.0e-12, max_iterations: 3000}
          - {name: many, op: solve_many, matrices: [\(sizes.indices.map { "M\($0)" }.joined(separator: ", "))], rhs: rowsums, method: cholesky}
        outputs: {d: d.mtx, x: x.mtx, y: y.mtx, many: many.mtx}
        """
        try job.write(toFile: scratch.join("job.yaml"), atomically: true, encoding: .utf8)
        for ranks in 1...3 {
            let outcome = SparrowProcess.run(["run", scratch.join("job.yaml"), "--output-dir", scratch.join("out\(ranks)"), "--quiet"], ranks: ranks)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
        }
        // Direct solutions are the same bytes at any rank count; PCG agrees closely.
        for name in ["d.mtx", "many.mtx"] {
            XCTAssertNotNil(scratch.bytes("out1/" + name))
            for ranks in 2...3 { XCTAssertEqual(scratch.bytes("out\(ranks)/" + name), scratch.bytes("out1/" + name), name) }
        }
        for name in ["x.mtx", "y.mtx"] {
            let one = try NaiveMatrix.denseValues(path: scratch.join("out1/" + name))
            for ranks in 2...3 {
                let other = try NaiveMatrix.denseValues(path: scratch.join("out\(ranks)/" + name))
                XCTAssertEqual(other.count, one.count)
                for i in one.indices { XCTAssertEqual(other[i], one[i], accuracy: 1e-9 * max(1, abs(one[i]))) }
            }
        }
        // Each system, checked by a triplet-loop product (at the largest rank count).
        let s = try NaiveMatrix(path: scratch.join("S.mtx"))
        let ones = [Double](repeating: 1, count: n)
        let d = try NaiveMatrix.denseValues(path: scratch.join("out3/d.mtx"))
        XCTAssertLessThan(s.relativeResidual(x: d, b: s.multiply(ones)), 1e-12)
        let x = try NaiveMatrix.denseValues(path: scratch.join("out3/x.mtx"))
        XCTAssertLessThan(s.relativeResidual(x: x, b: d), 1e-10, "pcg with the solve's (uniformly split) solution as b")
        let y = try NaiveMatrix.denseValues(path: scratch.join("out3/y.mtx"))
        XCTAssertLessThan(s.relativeResidual(x: y, b: try NaiveMatrix.denseValues(path: scratch.join("R.mtx"))), 1e-10,
                          "pcg with a sparse named right-hand side")
        let stacked = try NaiveMatrix.denseValues(path: scratch.join("out3/many.mtx"))
        XCTAssertEqual(stacked.count, sizes.reduce(0, +))
        var offset = 0
        for (k, m) in sizes.enumerated() {
            let a = try NaiveMatrix(path: scratch.join("M\(k).mtx"))
            let xk = Array(stacked[offset..<(offset + m)])
            XCTAssertLessThan(a.relativeResidual(x: xk, b: a.multiply([Double](repeating: 1, count: m))), 1e-12, "item \(k)")
            offset += m
        }
        XCTAssertEqual(((try? FileManager.default.contentsOfDirectory(atPath: scratch.join("out3"))) ?? []).filter { $0.hasPrefix(".") }, [], "a temporary file was left behind")
    }

    /// At P = 4, replicating every matrix makes the ranks together receive
    /// (P − 1) × the bytes of all matrices; delivering each to its estimating
    /// and its solving rank only receives 2 (P − 1)/P × those bytes, half as
    /// much (plus the stacked solution's rows on their way to their owners).
    func testSolveManySendsEachMatrixOnlyToTheRanksThatUseIt() throws {
        let scratch = ScratchDirectory()
        let ranks = 4
        let count = 6
        let job = """
        job: batch
        inputs: {\((0..<count).map { "g\($0): {generate: {kind: grid3d, n: \(9 + $0), shift: 0.5}}" }.joined(separator: ", "))}
        steps:
          - {name: many, op: solve_many, matrices: [\((0..<count).map { "g\($0)" }.joined(separator: ", "))], rhs: rowsums, method: cholesky}
        outputs: {many: many.mtx, \((0..<count).map { "g\($0): g\($0).mtx" }.joined(separator: ", "))}
        """
        try job.write(toFile: scratch.join("job.yaml"), atomically: true, encoding: .utf8)
        let (outcome, trace) = try MPITrace.run(["run", scratch.join("job.yaml"), "--output-dir", scratch.join("out"),
                                                 "--report", scratch.join("r.json"), "--quiet"], ranks: ranks, scratch: scratch)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        // A matrix on the wire: its row lengths (8 bytes each), column indices (4) and values (8).
        var matrixBytes = 0.0
        var stackedRows = 0
        for k in 0..<count {
            let a = try NaiveMatrix(path: scratch.join("out/g\(k).mtx"))
            matrixBytes += Double(8 * a.rows + 12 * a.entries.count)
            stackedRows += a.columns
        }
        // Bytes moved between ranks, counted by the MPI profiling layer (every send and
        // every rank's contribution to a collective, for each other rank).
        let received = Double(trace.totalBytes)
        let replication = Double(ranks - 1) * matrixBytes
        // Each matrix gathered twice, and the stacked solution's rows (index and value, 16 bytes) moved to their owners.
        let fraction = Double(ranks - 1) / Double(ranks)
        let expected = 2 * fraction * matrixBytes + fraction * 16 * Double(stackedRows)
        XCTAssertEqual(received, expected, accuracy: 0.1 * expected, "moved \(received) bytes")
        XCTAssertLessThan(received, 0.65 * replication, "moved \(received) bytes; replicating would take \(replication)")
        // The report's own counter agrees with the trace.
        let perRank = try XCTUnwrap(readJSON(scratch.join("r.json"))?["per_rank"] as? [[String: Any]])
        XCTAssertEqual(perRank.count, ranks)
        let reported = perRank.compactMap { ($0["bytes_received"] as? NSNumber)?.doubleValue }.reduce(0, +)
        XCTAssertEqual(reported, received, accuracy: 0.1 * received, "bytes_received against the trace")
        XCTAssertEqual(try NaiveMatrix.denseValues(path: scratch.join("out/many.mtx")).count, stackedRows)
    }
}
