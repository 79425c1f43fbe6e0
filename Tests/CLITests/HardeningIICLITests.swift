import Foundation
import SparrowCore
import XCTest

/// The findings of the second hardening review, each as the run that used to
/// trap, hang, leave a file or accept the wrong data, at 1 and 2 ranks where
/// ranks matter. References are recomputed here (plans from the written
/// duals, files listed on disk), never read from the program's report.
final class HardeningIICLITests: XCTestCase {
    private func write(_ text: String, _ path: String) throws { try text.write(toFile: path, atomically: true, encoding: .utf8) }
    private func points(_ n: Int, seed: UInt64, offset: Double = 0, scale: Double = 1) -> [Double] {
        var random = SeededRandom(seed)
        return (0..<(2 * n)).map { _ in offset + scale * Double(random.next() >> 11) / Double(1 << 53) }
    }

    /// A one-line error (status 1 or 2) and nothing else on standard error.
    private func assertOneLine(_ outcome: SparrowProcess.Outcome, _ status: Int32, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(outcome.status, status, "\(what): \(outcome.stderr)", file: file, line: line)
        XCTAssertEqual(outcome.stderrLines.count, 1, "\(what): \(outcome.stderr)", file: file, line: line)
        XCTAssertTrue(outcome.stderr.hasPrefix("sparrow: error: "), "\(what): \(outcome.stderr)", file: file, line: line)
    }

    /// Finding 1: densities of 1e308 used to trap (a Double turned into an Int unchecked), in the verbs
    /// and at run time of jobs that `run --check` had passed.
    func testHugeDensitiesAreRefusedByTheVerbsAndByRunCheck() throws {
        let s = ScratchDirectory()
        XCTAssertEqual(SparrowProcess.run(["generate", "grid2d", "--n", "5", "--shift", "1", "-o", s.join("L.mtx"), "--quiet"]).status, 0)
        try write("inputs: {L: L.mtx}\nsteps: [{name: h, op: sparsify, graph: L, density: 1e308}]\noutputs: {h: h.json}\n", s.join("job.yaml"))
        for ranks in [1, 2] {
            let r: Int? = ranks == 1 ? nil : 2
            var outcome = SparrowProcess.run(["sparsify", s.join("L.mtx"), "--density", "1e308", "--quiet"], ranks: r)
            XCTAssertEqual(outcome.stderrLines, ["sparrow: error: --density: must be a finite number in (0, 1e6], got 1e+308"])
            outcome = SparrowProcess.run(["solve", s.join("L.mtx"), "--method", "pcg", "--preconditioner", "sparsifier:1e308", "--quiet"], ranks: r)
            XCTAssertEqual(outcome.stderrLines, ["sparrow: error: --preconditioner: DENSITY of 'sparsifier:1e308' must be a number in [1, 1e6]"])
            outcome = SparrowProcess.run(["run", s.join("job.yaml"), "--check"], ranks: r)
            XCTAssertEqual(outcome.status, 2, outcome.stderr)
            XCTAssertEqual(outcome.stderrLines, ["sparrow: error: \(s.join("job.yaml")):2:52: steps[0].density: must be a finite number in (0, 1e6], got 1e+308"])
            // A density above G's own keeps every edge (it used to overflow the edge budget).
            outcome = SparrowProcess.run(["sparsify", s.join("L.mtx"), "--density", "1e6", "-o", s.join("H\(ranks).mtx"), "--quiet"], ranks: r)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            XCTAssertEqual(try NaiveMatrix(path: s.join("H\(ranks).mtx")).entries.count, try NaiveMatrix(path: s.join("L.mtx")).entries.count)
        }
    }

    /// Finding 2: a rank holding no source point used to skip an allreduce the others waited in.
    func testSparseKernelWithFewerSourcePointsThanRanksFinishes() throws {
        let s = ScratchDirectory()
        try TransportCLITests.writeArray([0.30, 0.40], rows: 1, columns: 2, to: s.join("X1.mtx"))
        try TransportCLITests.writeArray([0.30, 0.40, 0.50, 0.60], rows: 2, columns: 2, to: s.join("X2.mtx"))
        try TransportCLITests.writeArray([0.30, 0.31, 0.32, 0.40, 0.41, 0.42], rows: 3, columns: 2, to: s.join("Y.mtx"))
        for (source, ranks) in [("X1.mtx", 2), ("X2.mtx", 3)] {
            let outcome = SparrowProcess.run(["ot", "--source-points", s.join(source), "--target-points", s.join("Y.mtx"), "--kernel", "sparse",
                                              "--duals", s.join("d\(ranks).mtx"), "--quiet"], ranks: ranks, timeout: 30)
            XCTAssertEqual(outcome.status, 0, "\(source) at \(ranks) ranks: \(outcome.stderr)")
            XCTAssertEqual(try NaiveMatrix(path: s.join("d\(ranks).mtx")).entries.count, (ranks == 2 ? 1 : 2) + 3)
        }
    }

    /// Finding 3: far-apart clouds, coordinates near 1e200, θ = 1e308 and η = 1e-300 each used to trap.
    func testSparseKernelOnUnusualCloudsEndsCleanly() throws {
        let s = ScratchDirectory()
        let n = 60
        try TransportCLITests.writeArray(points(n, seed: 1), rows: n, columns: 2, to: s.join("X.mtx"))
        try TransportCLITests.writeArray(points(n, seed: 2), rows: n, columns: 2, to: s.join("Y.mtx"))
        try TransportCLITests.writeArray(points(n, seed: 3, offset: 1e6), rows: n, columns: 2, to: s.join("far.mtx"))
        try TransportCLITests.writeArray(points(n, seed: 4, scale: 1e200), rows: n, columns: 2, to: s.join("huge.mtx"))
        let base = ["ot", "--target-points", s.join("Y.mtx"), "--kernel", "sparse", "--quiet", "--max-iterations", "2000"]
        for ranks in [1, 2] {
            let r: Int? = ranks == 1 ? nil : 2
            // Far apart, normalized: converges like the dense kernel does.
            var outcome = SparrowProcess.run(base + ["--source-points", s.join("far.mtx"), "--normalize"], ranks: r, timeout: 60)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            // Far apart in raw units: no trap; it may not converge (the dense kernel does not either).
            outcome = SparrowProcess.run(base + ["--source-points", s.join("far.mtx")], ranks: r, timeout: 60)
            XCTAssertTrue(outcome.status == 0 || outcome.status == 1, outcome.stderr)
            if outcome.status == 1 { assertOneLine(outcome, 1, "far apart") }
            outcome = SparrowProcess.run(base + ["--source-points", s.join("huge.mtx")], ranks: r, timeout: 60)
            assertOneLine(outcome, 2, "coordinates near 1e200")
            XCTAssertTrue(outcome.stderr.contains("huge.mtx"), outcome.stderr)
            outcome = SparrowProcess.run(base + ["--source-points", s.join("X.mtx"), "--truncation", "1e308"], ranks: r, timeout: 60)
            XCTAssertEqual(outcome.stderrLines, ["sparrow: error: --truncation: must be a finite number in [5, 700], got 1e+308"])
            outcome = SparrowProcess.run(base + ["--source-points", s.join("X.mtx"), "--eta", "1e-300"], ranks: r, timeout: 60)
            XCTAssertEqual(outcome.stderrLines, ["sparrow: error: --eta: must be a finite number in [1e-9, 1e12], got 1e-300"])
            XCTAssertFalse(outcome.stderr.contains("Backtrac"), "no backtracer pages")
        }
    }

    /// Finding 8: with the L1 cost the sparse kernel reaches the tolerance where the dense kernel does,
    /// measured on the whole plan recomputed here from the written duals.
    func testSparseKernelWithL1CostConvergesWhereTheDenseKernelDoes() throws {
        let s = ScratchDirectory()
        let n = 200
        let source = points(n, seed: 11), target = points(n, seed: 12)
        try TransportCLITests.writeArray(source, rows: n, columns: 2, to: s.join("X.mtx"))
        try TransportCLITests.writeArray(target, rows: n, columns: 2, to: s.join("Y.mtx"))
        var cost = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { cost[i * n + j] = abs(source[2 * i] - target[2 * j]) + abs(source[2 * i + 1] - target[2 * j + 1]) } }
        for kernel in ["dense", "sparse"] {
            for ranks in [1, 2] {
                let duals = s.join("\(kernel)\(ranks).mtx")
                let outcome = SparrowProcess.run(["ot", "--source-points", s.join("X.mtx"), "--target-points", s.join("Y.mtx"), "--ground-cost", "l1",
                                                  "--kernel", kernel, "--tol", "1e-8", "--duals", duals, "--quiet"], ranks: ranks == 1 ? nil : 2, timeout: 120)
                XCTAssertEqual(outcome.status, 0, "\(kernel) at \(ranks) ranks: \(outcome.stderr)")
                let error = TransportCLITests.marginalError(duals: try NaiveMatrix(path: duals).entries.map(\.value), cost: cost, n: n, m: n, eta: 1200)
                XCTAssertLessThanOrEqual(error, 2e-8, "\(kernel) at \(ranks) ranks: the whole plan's marginal error")
            }
        }
    }

    /// Finding 6: a solve that does not converge writes neither duals nor plan; --top and --predict
    /// are refused before the fit, and nothing is written.
    func testFailedRunsLeaveNoOutputs() throws {
        let s = ScratchDirectory()
        try TransportCLITests.writeArray(TransportCLITests.randomCost(30, 20, seed: 3), rows: 30, columns: 20, to: s.join("C.mtx"))
        for ranks in [1, 2] {
            let outcome = SparrowProcess.run(["ot", "--cost", s.join("C.mtx"), "--eta", "300", "--max-iterations", "3", "--duals", s.join("d.mtx"),
                                              "--plan", s.join("p.mtx"), "--quiet"], ranks: ranks == 1 ? nil : 2)
            assertOneLine(outcome, 1, "ot not converged")
            XCTAssertEqual(s.entries, ["C.mtx"], "no duals, no plan, no temporary")
        }
        // 12 users, 40 items: U (12 × 3) fits in the 1024-byte limit below, V (40 × 3) does not.
        var ratings = "%%MatrixMarket matrix coordinate real general\n12 40 200\n"
        var random = SeededRandom(9), seen = Set<Int>()
        while seen.count < 200 {
            let (i, j) = (Int(random.next() % 12), Int(random.next() % 40))
            if seen.insert(i * 40 + j).inserted { ratings += "\(i + 1) \(j + 1) \(Double(random.next() % 5) + 1)\n" }
        }
        try write(ratings, s.join("R.mtx"))
        try write("%%MatrixMarket matrix coordinate pattern general\n9 9 1\n1 1\n", s.join("wrong-shape.mtx"))
        for ranks in [1, 2] {
            let r: Int? = ranks == 1 ? nil : 2
            var outcome = SparrowProcess.run(["complete", s.join("R.mtx"), "--rank", "3", "--top", "1000000000000", "-o", s.join("fit")], ranks: r)
            assertOneLine(outcome, 2, "--top huge")
            outcome = SparrowProcess.run(["complete", s.join("R.mtx"), "--rank", "3", "--predict", s.join("wrong-shape.mtx"), "-o", s.join("fit")], ranks: r)
            XCTAssertEqual(outcome.stderrLines, ["sparrow: error: \(s.join("wrong-shape.mtx")):2: is 9 × 9, but the ratings are 12 × 40; the pairs must have the ratings' shape"])
            XCTAssertEqual(s.entries, ["C.mtx", "R.mtx", "wrong-shape.mtx"], "no U, no V")
        }
        // A full disk, imitated by a file-size limit (dash counts 512-byte blocks): U is written, V cannot be,
        // so neither stays.
        let limited = Process()
        limited.executableURL = URL(fileURLWithPath: "/bin/sh")
        limited.arguments = ["-c", "ulimit -f 2; exec \"$0\" \"$@\"", SparrowProcess.binary, "complete", s.join("R.mtx"), "--rank", "3",
                             "--sweeps", "2", "-o", s.join("fit"), "--quiet"]
        limited.standardError = FileHandle.nullDevice
        try limited.run()
        limited.waitUntilExit()
        XCTAssertEqual(limited.terminationStatus, 2, "a write past the limit fails as output (EFBIG), it does not kill the process")
        XCTAssertEqual(s.entries, ["C.mtx", "R.mtx", "wrong-shape.mtx"], "all or nothing")
        // A job: its small output is written, its large one cannot be; neither stays.
        try write("""
        inputs: {A: {generate: {kind: grid2d, n: 3, shift: 1}}, B: {generate: {kind: grid2d, n: 40, shift: 1}}}
        steps: [{name: a, op: info, matrix: A}]
        outputs: {a: a.json, A: small.mtx, B: large.mtx}
        """, s.join("job.yaml"))
        let job = Process()
        job.executableURL = URL(fileURLWithPath: "/bin/sh")
        job.arguments = ["-c", "ulimit -f 8; exec \"$0\" \"$@\"", SparrowProcess.binary, "run", s.join("job.yaml"), "--output-dir", s.join("out"), "--quiet"]
        job.standardError = FileHandle.nullDevice
        try job.run()
        job.waitUntilExit()
        XCTAssertEqual(job.terminationStatus, 2)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: s.join("out"))) ?? [], [], "no output, no temporary")
    }

    /// Finding 9: names close to the 255-byte limit, overflowing weights and ratings, misplaced
    /// option values, and messages that lacked the file and line.
    func testMessagesNameTheFileAndLineOrTheOption() throws {
        let s = ScratchDirectory()
        let long = String(repeating: "a", count: 250) + ".mtx"
        XCTAssertEqual(SparrowProcess.run(["generate", "grid2d", "--n", "3", "-o", s.join(long), "--quiet"]).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: s.join(long)))
        try write("%%MatrixMarket matrix coordinate real symmetric\n3 3 2\n2 1 1.0\n3 2 1e308\n", s.join("heavy.mtx"))
        var outcome = SparrowProcess.run(["sparsify", s.join("heavy.mtx"), "--density", "1.2", "--quiet"])
        XCTAssertEqual(outcome.stderrLines, ["sparrow: error: \(s.join("heavy.mtx")):4: entry (2, 3) is 1e+308; weights must be finite and at most 1e+100 in magnitude"])
        try write("%%MatrixMarket matrix coordinate real symmetric\n3 3 2\n2 1 1.0\n3 3 5\n", s.join("loop.mtx"))
        outcome = SparrowProcess.run(["sparsify", s.join("loop.mtx"), "--density", "1.2", "--as", "adjacency", "--quiet"])
        XCTAssertEqual(outcome.stderrLines, ["sparrow: error: \(s.join("loop.mtx")):4: self-loop at vertex 3 (weight 5.0); a graph's adjacency has a zero diagonal"])
        try write("%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 4\n2 2 1e308\n3 1 2\n", s.join("ratings.mtx"))
        outcome = SparrowProcess.run(["complete", s.join("ratings.mtx"), "--rank", "1", "--quiet"], ranks: 2)
        XCTAssertEqual(outcome.stderrLines, ["sparrow: error: \(s.join("ratings.mtx")):4: value 1e+308 is not finite or beyond 1e+100 in magnitude"])
        outcome = SparrowProcess.run(["ot", "--cost", s.join("ratings.mtx"), "--eta", "-1"])
        XCTAssertEqual(outcome.stderrLines, ["sparrow: error: --eta: must be a finite number in [1e-9, 1e12], got -1.0"])
        let array = "%%MatrixMarket matrix array real general\n"
        try write(array + "2 2\n0.1\n0.2\n0.3\n0.4\n", s.join("C.mtx"))
        try write(array + "2 1\n0.5\n0.5\n", s.join("r.mtx"))
        try write(array + "2 1\n0.5\n1.5\n", s.join("c.mtx"))
        outcome = SparrowProcess.run(["ot", "--cost", s.join("C.mtx"), "--r", s.join("r.mtx"), "--c", s.join("c.mtx")], ranks: 2)
        XCTAssertEqual(outcome.stderrLines, ["sparrow: error: \(s.join("c.mtx")): sums to 2.0, but \(s.join("r.mtx")) sums to 1.0; the marginals must have equal mass"])
    }
}
