import Foundation
import SparrowCore
import XCTest

/// One rank failing, inputs that cannot fit, inputs that used to crash, and
/// options that used to be ignored: each must end every rank promptly with one
/// line, the contract's exit code and no output.
final class HardeningCLITests: XCTestCase {
    let fixtures = SparrowProcess.fixtures
    /// "exits within 10 s" (issue 9): a run that takes longer is a hang and fails the test.
    let prompt: TimeInterval = 10

    private func write(_ text: String, _ path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func testWhenOneRankFailsEveryRankEndsPromptlyWithOneLine() throws {
        let scratch = ScratchDirectory()
        for ranks in [2, 3] {
            // Rank 0 alone reads the job file.
            var outcome = SparrowProcess.run(["run", scratch.join("missing.yaml")], ranks: ranks, timeout: prompt)
            XCTAssertEqual(outcome.status, 2)
            XCTAssertEqual(outcome.stderrLines, ["sparrow: error: \(scratch.join("missing.yaml")): cannot open: No such file or directory"])
            // Rank 0 alone writes outputs.
            outcome = SparrowProcess.run(["spgemm", fixtures + "/west0067.mtx", fixtures + "/west0067.mtx", "-o", scratch.join("no/C.mtx"), "--quiet"],
                                         ranks: ranks, timeout: prompt)
            XCTAssertEqual(outcome.status, 2)
            XCTAssertEqual(outcome.stderrLines.count, 1, outcome.stderr)
            XCTAssertTrue(outcome.stderr.contains("does not exist"), outcome.stderr)
            try write("not a directory", scratch.join("file"))
            outcome = SparrowProcess.run(["solve", "--many", fixtures + "/west0067.mtx", "-o", scratch.join("file")], ranks: ranks, timeout: prompt)
            XCTAssertEqual(outcome.status, 2)
            XCTAssertEqual(outcome.stderrLines, ["sparrow: error: \(scratch.join("file")): is not a directory (end it with '/' to have it created)"])
        }
        XCTAssertEqual(scratch.entries, ["file"], "no output after a failure")
    }

    /// Items are dealt unevenly (3 items, 2 ranks), the right-hand side is a
    /// sparse job value (once a collective per item), and the item on one rank fails.
    func testUnevenBatchItemsWithOneFailingItem() throws {
        let scratch = ScratchDirectory()
        let singular = scratch.join("singular.mtx")
        try write("%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 1\n2 2 2\n3 2 4\n", singular)
        let job = scratch.join("batch.yaml")
        try write("""
        inputs:
          g0: {generate: {kind: grid2d, n: 3, shift: 1}}
          g1: {generate: {kind: grid2d, n: 3, shift: 2}}
          S: {path: \(singular)}
          R: {generate: {kind: grid2d, n: 3, shift: 0}}
        steps:
          - {name: ok, op: solve_many, matrices: [g0, g1], rhs: R, method: lu}
          - {name: bad, op: solve_many, matrices: [g0, S, g1], rhs: ones, method: lu}
        outputs: {ok: ok.mtx, bad: bad.mtx}
        """, job)
        for ranks in [1, 2, 3] {
            let out = scratch.join("out\(ranks)")
            let outcome = SparrowProcess.run(["run", job, "--output-dir", out, "--quiet"], ranks: ranks, timeout: prompt)
            XCTAssertEqual(outcome.status, 1, outcome.stderr)
            XCTAssertEqual(outcome.stderrLines, ["sparrow: error: 1-S: matrix is singular: LU found a zero pivot (UMFPACK)"], "ranks \(ranks)")
            // All or nothing: the step before the failure finished, but its output is not kept either.
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/ok.mtx"))
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/bad.mtx"))
            XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [], [], "no temporary either")
        }
        // The first step alone succeeds, and its output is written.
        try write(String(try String(contentsOfFile: job, encoding: .utf8).split(separator: "\n").filter { !$0.contains("name: bad") }
            .joined(separator: "\n")).replacingOccurrences(of: ", bad: bad.mtx", with: ""), job)
        let outcome = SparrowProcess.run(["run", job, "--output-dir", scratch.join("alone"), "--quiet"], ranks: 2, timeout: prompt)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let ok = try MatrixMarket.readDense(path: scratch.join("alone/ok.mtx"))
        XCTAssertEqual(ok.rows, 18)
        XCTAssertEqual(ok.columns, 9, "R (9 × 9 Laplacian) densified as 9 right-hand sides")
    }

    func testInputsThatCannotFitAreRefusedBeforeAllocating() throws {
        let scratch = ScratchDirectory()
        let huge = scratch.join("huge.mtx")
        try write("%%MatrixMarket matrix coordinate real general\n2147483647 2147483647 0\n", huge)
        XCTAssertLessThan(try FileManager.default.attributesOfItem(atPath: huge)[.size] as? Int ?? 0, 80)
        let generator = scratch.join("generator.yaml")
        try write("inputs:\n  a: {generate: {kind: er, scale: 30, edge_factor: 1024}}\nsteps:\n  - {name: i, op: info, matrix: a}\n", generator)
        let rhs = scratch.join("rhs.mtx")
        try write("%%MatrixMarket matrix coordinate real general\n67 2147483647 0\n", rhs)
        for ranks in [1, 2] {
            let cases: [([String], String)] = [
                (["info", huge], "\(huge):2: coordinate 2147483647 × 2147483647 with 0 entries needs about"),
                (["convert", huge, "-o", scratch.join("out.mtx")], "\(huge):2: coordinate"),
                (["run", generator], "\(generator):2:17: inputs.a.generate: generating er scale=30 edge-factor=1024"),
                (["generate", "er", "--scale", "30", "--edge-factor", "1024", "-o", scratch.join("out.mtx")], "generator: generating er scale=30"),
                (["solve", fixtures + "/west0067.mtx", "--rhs", rhs, "-o", scratch.join("out.mtx")], "\(rhs):2: a dense 67 × 2147483647 right-hand side needs about"),
            ]
            for (arguments, start) in cases {
                let outcome = SparrowProcess.run(arguments, ranks: ranks, timeout: prompt)
                XCTAssertEqual(outcome.status, 2, "\(arguments): \(outcome.stderr)")
                XCTAssertEqual(outcome.stderrLines.count, 1, outcome.stderr)
                let line = outcome.stderrLines.first ?? ""
                XCTAssertTrue(line.hasPrefix("sparrow: error: " + start), line)
                XCTAssertTrue(line.contains("per rank, more than") && line.contains("iB"), "names the memory needed and available: \(line)")
            }
        }
        // A product whose C cannot fit is refused after its symbolic pass, before C is allocated (exit 1:
        // the inputs are fine, the computation cannot run within the budget). At 2 ranks the ranks' blocks differ.
        let product = scratch.join("g.mtx")
        XCTAssertEqual(SparrowProcess.run(["generate", "rmat", "--scale", "12", "--edge-factor", "16", "-o", product, "--quiet"]).status, 0)
        for ranks in [1, 2] {
            // 4 MiB: reading A (≈ 2.2 MiB at 1 rank) fits, C (≈ 1.4 million entries, 12 bytes each) does not.
            let outcome = SparrowProcess.run(["spgemm", product, product, "--memory-limit", "4M", "-o", scratch.join("outC.mtx"), "--quiet"],
                                             ranks: ranks, timeout: prompt)
            XCTAssertEqual(outcome.status, 1, outcome.stderr)
            XCTAssertEqual(outcome.stderrLines.count, 1, outcome.stderr)
            XCTAssertTrue(outcome.stderr.hasPrefix("sparrow: error: the product's ") && outcome.stderr.contains("more than the --memory-limit 4.0 MiB"),
                          outcome.stderr)
        }
        // The limit can be set, and a bad one is refused.
        var outcome = SparrowProcess.run(["info", fixtures + "/west0067.mtx", "--memory-limit", "1K"])
        XCTAssertEqual(outcome.status, 2)
        XCTAssertTrue(outcome.stderr.contains("more than the --memory-limit 1.0 KiB"), outcome.stderr)
        outcome = SparrowProcess.run(["info", fixtures + "/west0067.mtx", "--memory-limit", "lots"])
        XCTAssertEqual(outcome.stderrLines, ["sparrow: error: --memory-limit: expected a size such as 512M, 8G or 1.5T, got 'lots'"])
        XCTAssertEqual(SparrowProcess.run(["info", fixtures + "/west0067.mtx", "--memory-limit", "1G"]).status, 0)
        XCTAssertEqual(scratch.entries.filter { $0.hasPrefix("out") }, [], "no output after a refusal")
    }

    func testInputsThatUsedToCrashGiveCleanErrors() throws {
        let scratch = ScratchDirectory()
        // Batch item names with the characters that once separated records in transit.
        let odd = ["a\u{1E}b.mtx", "c\u{1F}d.mtx"].map { scratch.join($0) }
        for path in odd { try FileManager.default.copyItem(atPath: fixtures + "/west0067.mtx", toPath: path) }
        let out = scratch.join("x/")
        for ranks in [1, 2] {
            let outcome = SparrowProcess.run(["solve", "--many"] + odd + ["--rhs", "rowsums", "-o", out, "--quiet"], ranks: ranks, timeout: 60)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            for name in ["a\u{1E}b", "c\u{1F}d"] {
                let x = try MatrixMarket.readDense(path: out + name + ".x.mtx")
                XCTAssertLessThan(x.values.map { abs($0 - 1) }.max() ?? 1, 1e-8, "rowsums: x = 1")
            }
        }
        let big = scratch.join("big.mtx")
        try write("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1e19\n", big)
        var outcome = SparrowProcess.run(["convert", big, "--field", "integer", "-o", scratch.join("int.mtx")])
        XCTAssertEqual(outcome.status, 2)
        XCTAssertEqual(outcome.stderrLines, ["sparrow: error: cannot write \(scratch.join("int.mtx")) as integer: value 1e+19 is not an integer in the 64-bit range"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.join("int.mtx")))
        outcome = SparrowProcess.run(["supervise", "--window", "inf", "--", "true"])
        XCTAssertEqual(outcome.status, 2)
        XCTAssertTrue(outcome.stderr.contains("--window needs seconds in (0, 1e9]"), outcome.stderr)
    }

    /// Gathers, broadcasts and all-to-alls larger than one MPI call allows are
    /// split into several calls; a tiny per-call limit runs those paths here.
    func testTransfersSplitIntoSeveralCallsGiveTheSameResults() throws {
        let scratch = ScratchDirectory()
        let matrix = fixtures + "/bcsstk13.mtx"
        XCTAssertEqual(SparrowProcess.run(["spgemm", matrix, matrix, "-o", scratch.join("C1.mtx"), "--quiet"]).status, 0)
        XCTAssertEqual(SparrowProcess.run(["convert", matrix, "-o", scratch.join("A1.mtx")]).status, 0)
        for ranks in [2, 3] {
            let small = ["SPARROW_MPI_MAX_ELEMENTS": "1000"]
            var outcome = SparrowProcess.run(["spgemm", matrix, matrix, "-o", scratch.join("C\(ranks).mtx"), "--quiet"], ranks: ranks, environment: small)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            outcome = SparrowProcess.run(["convert", matrix, "-o", scratch.join("A\(ranks).mtx")], ranks: ranks, environment: small)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            XCTAssertEqual(scratch.bytes("C\(ranks).mtx"), scratch.bytes("C1.mtx"), "product at \(ranks) ranks")
            XCTAssertEqual(scratch.bytes("A\(ranks).mtx"), scratch.bytes("A1.mtx"), "gathered matrix at \(ranks) ranks")
        }
    }

    func testSuspectSolvesWarnAndIgnoredOptionsAreRefused() throws {
        let scratch = ScratchDirectory()
        // cond ≈ 4e15: LU solves it, but the answer deserves doubt.
        let ill = scratch.join("ill.mtx")
        try write("%%MatrixMarket matrix coordinate real general\n2 2 4\n1 1 1\n1 2 1\n2 1 1\n2 2 1.000000000000001\n", ill)
        var outcome = SparrowProcess.run(["solve", ill, "--method", "lu", "--report", scratch.join("r.json"), "-o", scratch.join("x.mtx"), "--quiet"])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertTrue(outcome.stderr.hasPrefix("sparrow: warning: matrix is ill-conditioned for lu: reciprocal condition estimate"), outcome.stderr)
        let warnings = readJSON(scratch.join("r.json"))?["warnings"] as? [String] ?? []
        XCTAssertEqual(warnings.count, 1)
        // A well-conditioned solve gives none.
        outcome = SparrowProcess.run(["solve", fixtures + "/bcsstk13.mtx", "--method", "cholesky", "--report", scratch.join("w.json"), "--quiet"])
        XCTAssertEqual(outcome.stderr, "")
        XCTAssertEqual((readJSON(scratch.join("w.json"))?["warnings"] as? [String])?.count, 0)
        // Options that do not apply are refused, not ignored.
        let refused: [([String], String)] = [
            (["solve", ill, "--method", "lu", "--tol", "1e-3"], "--tol: applies to --method pcg only"),
            (["solve", ill, "--method", "cholesky", "--preconditioner", "jacobi"], "--preconditioner: applies to --method pcg only"),
            (["solve", ill, "--method", "pcg", "--ordering", "metis"], "--ordering: has no effect with --method pcg and the jacobi preconditioner"),
            (["info", ill, "--balance", "flops"], "--balance: expected rows or nnz (flops applies to spgemm only), got 'flops'"),
        ]
        for (arguments, message) in refused {
            outcome = SparrowProcess.run(arguments)
            XCTAssertEqual(outcome.status, 2, "\(arguments)")
            XCTAssertEqual(outcome.stderrLines.first.map { $0.hasPrefix("sparrow: error: " + message) }, true, outcome.stderr)
        }
        // PCG that does not converge writes its report but no solution.
        let lap = scratch.join("lap.mtx")
        XCTAssertEqual(SparrowProcess.run(["generate", "grid2d", "--n", "30", "-o", lap]).status, 0)
        outcome = SparrowProcess.run(["solve", lap, "--method", "pcg", "--max-iterations", "3", "-o", scratch.join("p.mtx"), "--report", scratch.join("p.json")])
        XCTAssertEqual(outcome.status, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.join("p.mtx")))
        XCTAssertEqual((readJSON(scratch.join("p.json"))?["metrics"] as? [String: Any])?["converged"] as? Bool, false)
        // QR reports the size of its factor: R and the Householder vectors hold at least A's nonzeros.
        outcome = SparrowProcess.run(["solve", fixtures + "/ash219.mtx", "--method", "qr", "--report", scratch.join("q.json"), "--quiet"])
        XCTAssertEqual(outcome.status, 0)
        let qrNonzeros = (readJSON(scratch.join("q.json"))?["metrics"] as? [String: Any])?["factor_nnz"] as? Int ?? 0
        XCTAssertGreaterThanOrEqual(qrNonzeros, 438)
        // The README's batch example, with a directory that does not exist yet.
        let results = scratch.join("results") + "/"
        outcome = SparrowProcess.run(["solve", "--many", fixtures + "/west0067.mtx", fixtures + "/bcsstk13.mtx", "--rhs", "ones", "--method", "auto",
                                      "-o", results, "--quiet"], ranks: 3)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertEqual(((try? FileManager.default.contentsOfDirectory(atPath: results)) ?? []).sorted(), ["bcsstk13.x.mtx", "west0067.x.mtx"])
    }
}
