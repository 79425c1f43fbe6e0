import Foundation
import SparrowCore
import XCTest

/// `sparrow solve` through the executable: accuracy, errors, and identical
/// results at 1, 2 and 3 ranks for batches of right-hand sides and matrices.
final class SolveCLITests: XCTestCase {
    let fixtures = SparrowProcess.fixtures

    private func metrics(_ path: String) -> [String: Any] { readJSON(path)?["metrics"] as? [String: Any] ?? [:] }

    func testAccuracyOnTheAcceptanceMatrices() throws {
        let scratch = ScratchDirectory()
        // bcsstk13 by Cholesky with b = A·1: report and independent residual agree, ≤ 1e-12.
        var outcome = SparrowProcess.run(["solve", fixtures + "/bcsstk13.mtx", "--rhs", "rowsums", "--method", "cholesky",
                                          "-o", scratch.join("x.mtx"), "--report", scratch.join("r.json"), "--quiet"])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let a = try NaiveMatrix(path: fixtures + "/bcsstk13.mtx")
        let x = try NaiveMatrix.denseValues(path: scratch.join("x.mtx"))
        let r = a.relativeResidual(x: x, b: a.multiply([Double](repeating: 1, count: a.columns)))
        let reported = metrics(scratch.join("r.json"))["relative_residual"] as? Double ?? 1
        XCTAssertLessThanOrEqual(r, 1e-12)
        XCTAssertLessThanOrEqual(reported, 1e-12)
        XCTAssertEqual(reported, r, accuracy: 1e-14)
        // LU on bayer10 and west0067.
        for name in ["bayer10.mtx", "west0067.mtx"] {
            outcome = SparrowProcess.run(["solve", fixtures + "/" + name, "--rhs", "rowsums", "--method", "lu", "-o", scratch.join("x.mtx"),
                                          "--report", scratch.join("r.json"), "--quiet"], ranks: 2)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            XCTAssertLessThanOrEqual(metrics(scratch.join("r.json"))["relative_residual"] as? Double ?? 1, 1e-10, name)
            // Recomputed here, by a reader and product that share no code with Sparrow.
            let reference = try NaiveMatrix(path: fixtures + "/" + name)
            let solution = try NaiveMatrix.denseValues(path: scratch.join("x.mtx"))
            XCTAssertLessThanOrEqual(reference.relativeResidual(x: solution, b: reference.multiply([Double](repeating: 1, count: reference.columns))),
                                     1e-10, name)
        }
        // Least squares on ash219 by auto (rectangular → QR): normal-equations residual.
        outcome = SparrowProcess.run(["solve", fixtures + "/ash219.mtx", "--rhs", "ones", "--method", "auto", "-o", scratch.join("x.mtx"),
                                      "--report", scratch.join("r.json"), "--quiet"])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertEqual(metrics(scratch.join("r.json"))["method"] as? String, "qr")
        XCTAssertEqual(try MatrixMarket.readDense(path: scratch.join("x.mtx")).rows, 85)
        // Against the normal equations solved densely here (ash219 is well conditioned).
        try assertLeastSquares(path: fixtures + "/ash219.mtx", solution: scratch.join("x.mtx"))
    }

    /// x from `solution` equals the least-squares solution for b = 1, computed by
    /// the normal equations in the test (not by QR, not from the report).
    private func assertLeastSquares(path: String, solution: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try NaiveMatrix(path: path)
        let reference = a.leastSquaresByNormalEquations([Double](repeating: 1, count: a.rows))
        let x = try NaiveMatrix.denseValues(path: solution)
        XCTAssertEqual(x.count, reference.count, file: file, line: line)
        let difference = zip(x, reference).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        XCTAssertLessThanOrEqual(difference, 1e-10 * norm2(reference), path, file: file, line: line)
    }

    func testLaplacianByCholeskyAndByPCGWithASparsifiedFactor() throws {
        let scratch = ScratchDirectory()
        let lap = scratch.join("lap40.mtx")
        XCTAssertEqual(SparrowProcess.run(["generate", "grid3d", "--n", "40", "--shift", "0.01", "-o", lap, "--quiet"], ranks: 2).status, 0)
        var outcome = SparrowProcess.run(["solve", lap, "--rhs", "random:1", "--method", "cholesky", "-o", scratch.join("xc.mtx"),
                                          "--report", scratch.join("c.json"), "--quiet"])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertLessThanOrEqual(metrics(scratch.join("c.json"))["relative_residual"] as? Double ?? 1, 1e-12)
        // The residual again, recomputed here from the files (b = random:1 is its documented seeded vector).
        let reference = try NaiveMatrix(path: lap)
        let b = try DenseSpec.parse("random:1", rows: reference.rows, field: "rhs").values
        XCTAssertLessThanOrEqual(reference.relativeResidual(x: try NaiveMatrix.denseValues(path: scratch.join("xc.mtx")), b: b), 1e-12)
        for ranks in [1, 3] {
            outcome = SparrowProcess.run(["solve", lap, "--rhs", "random:1", "--method", "pcg", "--preconditioner", "band:40",
                                          "--tol", "1e-10", "-o", scratch.join("xp.mtx"), "--report", scratch.join("p.json"), "--quiet"], ranks: ranks)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            let m = metrics(scratch.join("p.json"))
            XCTAssertEqual(m["converged"] as? Bool, true)
            XCTAssertGreaterThan(m["iterations"] as? Int ?? 0, 1)
            XCTAssertEqual((readJSON(scratch.join("p.json"))?["history"] as? [Any])?.count, m["iterations"] as? Int)
            let xc = try MatrixMarket.readDense(path: scratch.join("xc.mtx")).values
            let xp = try MatrixMarket.readDense(path: scratch.join("xp.mtx")).values
            let difference = zip(xc, xp).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            XCTAssertLessThanOrEqual(difference, 1e-6 * norm2(xc), "PCG and Cholesky agree (P=\(ranks))")
        }
    }

    func testErrorsAreClearAndNeverCrash() throws {
        let scratch = ScratchDirectory()
        let indefinite = scratch.join("indefinite.mtx")
        try "%%MatrixMarket matrix coordinate real symmetric\n3 3 4\n1 1 4\n2 1 1\n2 2 3\n3 3 -2\n".write(toFile: indefinite, atomically: true, encoding: .utf8)
        var outcome = SparrowProcess.run(["solve", indefinite, "--method", "cholesky", "--ordering", "natural", "-o", scratch.join("x.mtx")], ranks: 2)
        XCTAssertEqual(outcome.status, 1)
        XCTAssertEqual(outcome.stderrLines, ["sparrow: error: matrix is not positive definite: the factorization fails at column 3"])
        let singular = scratch.join("singular.mtx")
        try "%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 1\n2 2 2\n3 2 4\n".write(toFile: singular, atomically: true, encoding: .utf8)
        outcome = SparrowProcess.run(["solve", singular, "--method", "lu", "-o", scratch.join("x.mtx")])
        XCTAssertEqual(outcome.status, 1)
        XCTAssertEqual(outcome.stderrLines, ["sparrow: error: matrix is singular: LU found a zero pivot (UMFPACK)"])
        let wrongRows = scratch.join("b.mtx")
        try "%%MatrixMarket matrix array real general\n5 1\n1\n2\n3\n4\n5\n".write(toFile: wrongRows, atomically: true, encoding: .utf8)
        outcome = SparrowProcess.run(["solve", fixtures + "/west0067.mtx", "--rhs", wrongRows, "-o", scratch.join("x.mtx")], ranks: 2)
        XCTAssertEqual(outcome.status, 2)
        XCTAssertEqual(outcome.stderrLines, ["sparrow: error: \(wrongRows):2: has 5 rows, expected 67 to match the matrix"])
        outcome = SparrowProcess.run(["solve", fixtures + "/west0067.mtx", "--method", "cholesky", "-o", scratch.join("x.mtx")])
        XCTAssertEqual(outcome.status, 2)
        XCTAssertTrue(outcome.stderr.contains("Cholesky needs a symmetric matrix"), outcome.stderr)
        outcome = SparrowProcess.run(["solve", fixtures + "/ash219.mtx", "--method", "lu", "-o", scratch.join("x.mtx")])
        XCTAssertEqual(outcome.status, 2)
        XCTAssertTrue(outcome.stderr.contains("LU needs a square matrix, got 219 × 85"), outcome.stderr)
        outcome = SparrowProcess.run(["solve", fixtures + "/west0067.mtx", "--method", "magic"])
        XCTAssertEqual(outcome.stderrLines, ["sparrow: error: --method: expected cholesky, lu, qr, auto or pcg, got 'magic'"])
        XCTAssertFalse(scratch.entries.contains("x.mtx"), "no output after a failure")
    }

    func testSixtyFourRightHandSidesGiveIdenticalXAtOneTwoThreeRanks() throws {
        let scratch = ScratchDirectory()
        var outputs: [Data] = []
        for ranks in [1, 2, 3] {
            let out = scratch.join("X\(ranks).mtx")
            let outcome = SparrowProcess.run(["solve", fixtures + "/bcsstk13.mtx", "--rhs", "random:64", "--method", "cholesky", "-o", out,
                                              "--report", scratch.join("r\(ranks).json"), "--quiet"], ranks: ranks)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            outputs.append(scratch.bytes("X\(ranks).mtx") ?? Data())
            let perRank = readJSON(scratch.join("r\(ranks).json"))?["per_rank"] as? [[String: Any]] ?? []
            XCTAssertEqual(perRank.compactMap { $0["columns"] as? Int }.reduce(0, +), 64)
        }
        XCTAssertEqual(try MatrixMarket.readDense(path: scratch.join("X1.mtx")).columns, 64)
        XCTAssertEqual(outputs[0], outputs[1])
        XCTAssertEqual(outputs[0], outputs[2])
        // A·X = B column by column, recomputed here (B = random:64, the documented seeded columns).
        let a = try NaiveMatrix(path: fixtures + "/bcsstk13.mtx")
        let b = try DenseSpec.parse("random:64", rows: a.rows, field: "rhs")
        let x = try NaiveMatrix.denseValues(path: scratch.join("X2.mtx"))
        XCTAssertEqual(x.count, a.columns * 64)
        for k in 0..<64 {
            let column = Array(x[(k * a.columns)..<((k + 1) * a.columns)])
            let rhs = Array(b.values[(k * a.rows)..<((k + 1) * a.rows)])
            XCTAssertLessThanOrEqual(a.relativeResidual(x: column, b: rhs), 1e-10, "column \(k)")
        }
    }

    func testTwelveMatricesWithManyGiveIdenticalResultsAtOneTwoThreeRanks() throws {
        let scratch = ScratchDirectory()
        var inputs = ["bcsstk13.mtx", "bayer10.mtx", "west0067.mtx", "ash219.mtx"].map { fixtures + "/" + $0 }
        for (k, args) in [["grid2d", "--n", "30", "--shift", "0.1"], ["grid2d", "--n", "45"], ["grid3d", "--n", "8", "--shift", "1"],
                          ["grid3d", "--n", "12", "--shift", "0.5"], ["grid2d", "--n", "10", "--shift", "2"], ["grid3d", "--n", "5"],
                          ["grid2d", "--n", "60", "--shift", "0.01"], ["grid3d", "--n", "14", "--shift", "0.1"]].enumerated() {
            let path = scratch.join("g\(k).mtx")
            var full = ["generate"] + args + ["-o", path, "--quiet"]
            if !args.contains("--shift") { full += ["--shift", "0.3"] }
            XCTAssertEqual(SparrowProcess.run(full).status, 0)
            inputs.append(path)
        }
        XCTAssertEqual(inputs.count, 12)
        var results: [[Data]] = []
        for ranks in [1, 2, 3] {
            let dir = scratch.join("out\(ranks)")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let outcome = SparrowProcess.run(["solve", "--many"] + inputs + ["--rhs", "ones", "--method", "auto", "-o", dir,
                                              "--report", scratch.join("many\(ranks).json"), "--quiet"], ranks: ranks)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
            XCTAssertEqual(files.count, 12, "\(files)")
            results.append(files.map { FileManager.default.contents(atPath: dir + "/" + $0) ?? Data() })
            let history = readJSON(scratch.join("many\(ranks).json"))?["history"] as? [[String: Any]] ?? []
            XCTAssertEqual(history.count, 12)
            let usedRanks = Set(history.compactMap { $0["rank"] as? Int })
            XCTAssertEqual(usedRanks.count, ranks, "work spread over every rank")
        }
        XCTAssertEqual(results[0], results[1])
        XCTAssertEqual(results[0], results[2])
        // Each X recomputed here from the files: A x = 1 by a triplet loop, or for the
        // rectangular ash219 the least-squares solution by the normal equations.
        for input in inputs {
            let stem = (input as NSString).lastPathComponent.replacingOccurrences(of: ".mtx", with: "")
            let solution = scratch.join("out2/\(stem).x.mtx")
            if stem == "ash219" { try assertLeastSquares(path: input, solution: solution); continue }
            let a = try NaiveMatrix(path: input)
            let residual = a.relativeResidual(x: try NaiveMatrix.denseValues(path: solution),
                                              b: [Double](repeating: 1, count: a.rows))
            XCTAssertLessThanOrEqual(residual, stem == "bayer10" ? 1e-9 : 1e-10, stem)
        }
    }
}
