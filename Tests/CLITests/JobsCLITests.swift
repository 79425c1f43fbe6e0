import Foundation
import SparrowCore
import XCTest

/// Job files and the spool service through the executable.
final class JobsCLITests: XCTestCase {
    let root = SparrowProcess.packageRoot
    var examples: String { root + "/docs/examples" }

    /// Rows of the table in docs/jobs.md: (example, output, check, value).
    private func statedValues() throws -> [(String, String, String, Double)] {
        let text = try String(contentsOfFile: root + "/docs/jobs.md", encoding: .utf8)
        return text.split(separator: "\n").compactMap { line -> (String, String, String, Double)? in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 4, cells[0].hasSuffix(".yaml"), let value = Double(cells[3]) else { return nil }
            return (cells[0], cells[1], cells[2], value)
        }
    }

    /// A regression check: every example still reproduces the figures that docs/jobs.md
    /// states for it (so the docs stay true); correctness is checked independently
    /// beside it, in testExampleOutputsAgreeWithIndependentReferences.
    func testEveryExampleRunsAtTwoRanksAndReproducesTheDocsJobsTable() throws {
        let stated = try statedValues()
        XCTAssertGreaterThanOrEqual(stated.count, 8)
        let scratch = ScratchDirectory()
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: examples)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThanOrEqual(names.count, 4)
        for name in names {
            let out = scratch.join(name)
            let outcome = SparrowProcess.run(["run", examples + "/" + name, "--output-dir", out, "--quiet", "--report", out + ".json"], ranks: 2)
            XCTAssertEqual(outcome.status, 0, "\(name): \(outcome.stderr)")
            XCTAssertTrue(stated.contains { $0.0 == name }, "\(name) has values stated in docs/jobs.md")
            for (_, output, check, value) in stated.filter({ $0.0 == name }) {
                let path = out + "/" + output
                if output.hasSuffix(".json") {
                    let figures = readJSON(path)
                    XCTAssertEqual((figures?[check] as? NSNumber)?.doubleValue, value, "\(name) \(output) \(check)")
                } else {
                    let x = try MatrixMarket.readDense(path: path)
                    switch check {
                    case "rows": XCTAssertEqual(Double(x.rows), value, "\(name) \(output)")
                    case "max_abs_error_vs_ones": XCTAssertLessThanOrEqual(x.values.map { abs($0 - 1) }.max() ?? 1, value, "\(name) \(output)")
                    default: XCTFail("unknown check \(check)")
                    }
                }
            }
            let history = readJSON(out + ".json")?["history"] as? [[String: Any]] ?? []
            XCTAssertFalse(history.isEmpty, "\(name): per-step report")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: examples + "/out"), "nothing written outside the output directory")
        XCTAssertEqual(Set(scratch.entries.filter { !$0.hasSuffix(".json") }), Set(names), "each job wrote only into its own directory")
    }

    /// The examples' outputs against references computed here from the inputs by plain
    /// loops: C = A·A and x = 1 (spgemm-and-solve), S = 2A + Aᵀ and P = AᵀA (transforms),
    /// L x = b for the documented seeded b (pcg).
    func testExampleOutputsAgreeWithIndependentReferences() throws {
        let scratch = ScratchDirectory()
        for name in ["spgemm-and-solve.yaml", "transforms.yaml", "pcg.yaml"] {
            let outcome = SparrowProcess.run(["run", examples + "/" + name, "--output-dir", scratch.join(name), "--quiet"], ranks: 2)
            XCTAssertEqual(outcome.status, 0, "\(name): \(outcome.stderr)")
        }
        // Entry by entry over both patterns (an entry stored in one and not the other must be ~0:
        // cancellation may leave a structural zero or drop it).
        func assertSame(_ got: [Int64: Double], _ expected: [Int64: Double], _ what: String) {
            let scale = expected.values.map(abs).max() ?? 1
            var worst = 0.0
            for key in Set(got.keys).union(expected.keys) { worst = max(worst, abs((got[key] ?? 0) - (expected[key] ?? 0))) }
            XCTAssertLessThanOrEqual(worst, 1e-13 * scale, "\(what): largest entry difference")
            XCTAssertGreaterThan(got.count, 0, what)
        }
        let bcsstk13 = try NaiveMatrix(path: SparrowProcess.fixtures + "/bcsstk13.mtx")
        assertSame(try NaiveMatrix(path: scratch.join("spgemm-and-solve.yaml/C.mtx")).map, bcsstk13.product(bcsstk13), "C = A·A")
        let x = try NaiveMatrix.denseValues(path: scratch.join("spgemm-and-solve.yaml/x.mtx"))
        XCTAssertLessThanOrEqual(bcsstk13.relativeResidual(x: x, b: bcsstk13.multiply([Double](repeating: 1, count: bcsstk13.rows))), 1e-12)
        let west = try NaiveMatrix(path: SparrowProcess.fixtures + "/west0067.mtx")
        var sum = west.map.mapValues { 2 * $0 }
        for (key, v) in west.transposed.map { sum[key, default: 0] += v }
        assertSame(try NaiveMatrix(path: scratch.join("transforms.yaml/S.mtx")).map, sum, "S = 2A + Aᵀ")
        assertSame(try NaiveMatrix(path: scratch.join("transforms.yaml/P.mtx")).map, west.transposed.product(west), "P = AᵀA")
        // pcg.yaml: the 20³ grid Laplacian (7-point, Neumann, + 0.01·I) built here, b = random:1.
        let n = 20
        var laplacian = NaiveMatrix()
        (laplacian.rows, laplacian.columns) = (n * n * n, n * n * n)
        for i in 0..<n { for j in 0..<n { for k in 0..<n {
            let v = (i * n + j) * n + k
            var degree = 0.0
            for (di, dj, dk) in [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)] {
                let (a, b, c) = (i + di, j + dj, k + dk)
                guard (0..<n).contains(a), (0..<n).contains(b), (0..<n).contains(c) else { continue }
                laplacian.entries.append((v, (a * n + b) * n + c, -1))
                degree += 1
            }
            laplacian.entries.append((v, v, degree + 0.01))
        } } }
        let b = try DenseSpec.parse("random:1", rows: n * n * n, field: "rhs").values
        let solution = try NaiveMatrix.denseValues(path: scratch.join("pcg.yaml/x.mtx"))
        XCTAssertLessThanOrEqual(laplacian.relativeResidual(x: solution, b: b), 1e-10, "pcg.yaml: L x = b")
    }

    func testTimeLimitStopsAJobWithAClearError() throws {
        let scratch = ScratchDirectory()
        let job = scratch.join("slow.yaml")
        try """
        defaults: {time_limit: 0.05}
        inputs: {L: {generate: {kind: grid3d, n: 40, shift: 0.0001}}}
        steps:
          - {name: x, op: pcg, matrix: L, rhs: random:1, preconditioner: none, tol: 1.0e-14, max_iterations: 100000}
        outputs: {x: x.mtx}
        """.write(toFile: job, atomically: true, encoding: .utf8)
        let outcome = SparrowProcess.run(["run", job, "--output-dir", scratch.join("out"), "--quiet"], ranks: 2)
        XCTAssertEqual(outcome.status, 1)
        XCTAssertEqual(outcome.stderrLines.count, 1, outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains("time limit of 0.05 s exceeded"), outcome.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.join("out/x.mtx")), "no output from an unfinished step")
    }

    func testBrokenJobsFailValidationComputeAndWriteNothing() throws {
        let table = try String(contentsOfFile: SparrowProcess.fixtures + "/jobs/broken/cases.tsv", encoding: .utf8)
        let cases = table.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: "\t").map(String.init) }
        XCTAssertGreaterThanOrEqual(cases.count, 25)
        let scratch = ScratchDirectory()
        for c in cases {
            let path = SparrowProcess.fixtures + "/jobs/broken/" + c[0]
            let out = scratch.join("out-" + c[0])
            let outcome = SparrowProcess.run(["run", path, "--output-dir", out, "--report", scratch.join("r.json")])
            XCTAssertEqual(outcome.status, 2, "\(c[0]): \(outcome.stderr)")
            XCTAssertTrue(outcome.stderrLines.contains { $0.hasPrefix("sparrow: error: \(path):\(c[1]): ") && $0.contains(c[2]) },
                          "\(c[0]): \(outcome.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(c[0]): nothing written")
        }
        XCTAssertEqual(scratch.entries, [], "no report or output after a failed validation")
    }

    private func writeJob(_ directory: String, _ name: String, _ text: String) throws {
        // Written elsewhere and moved in, as users should: the service never sees half a file.
        let temporary = directory + "/../." + name
        try text.write(toFile: temporary, atomically: true, encoding: .utf8)
        try FileManager.default.moveItem(atPath: temporary, toPath: directory + "/" + name)
    }

    func testServiceRunsTenJobsSevenDoneThreeFailed() throws {
        let scratch = ScratchDirectory()
        let spool = scratch.join("spool")
        try FileManager.default.createDirectory(atPath: spool + "/incoming", withIntermediateDirectories: true)
        let fixtures = SparrowProcess.fixtures
        for k in 0..<7 {
            try writeJob(spool + "/incoming", "job\(k).yaml", """
            inputs: {A: {path: \(fixtures)/west0067.mtx}, G: {generate: {kind: grid2d, n: \(10 + k), shift: 1}}}
            steps:
              - {name: x, op: solve, matrix: G, rhs: rowsums, method: cholesky}
              - {name: C, op: spgemm, a: A, b: A}
              - {name: f, op: info, matrix: C}
            outputs: {x: x.mtx, f: f.json}
            """)
        }
        try writeJob(spool + "/incoming", "broken1.yaml", "steps: [ {name: x, op: nonsense} ]\n")
        try writeJob(spool + "/incoming", "broken2.yaml", "inputs: {A: {path: /nonexistent.mtx}}\nsteps: [{name: t, op: transpose, matrix: A}]\n")
        // Valid, but fails when it runs: LU of a singular matrix.
        let singular = scratch.join("singular.mtx")
        try "%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1\n".write(toFile: singular, atomically: true, encoding: .utf8)
        try writeJob(spool + "/incoming", "broken3.yaml", "inputs: {S: \(singular)}\nsteps: [{name: x, op: solve, matrix: S, method: lu}]\n")
        let outcome = SparrowProcess.run(["serve", "--spool", spool, "--exit-when-idle", "--poll", "0.1", "--quiet",
                                          "--allow-inputs", fixtures, "--allow-inputs", scratch.path,
                                          "--report", scratch.join("serve.json")], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let serveMetrics = readJSON(scratch.join("serve.json"))?["metrics"] as? [String: Any]
        XCTAssertEqual(serveMetrics?["jobs_done"] as? Int, 7)
        XCTAssertEqual(serveMetrics?["jobs_failed"] as? Int, 3)
        let done = (try? FileManager.default.contentsOfDirectory(atPath: spool + "/done")) ?? []
        let failed = (try? FileManager.default.contentsOfDirectory(atPath: spool + "/failed")) ?? []
        // Jobs are taken in name order and numbered: broken1…3 get 1…3, job0…6 get 4…10.
        func id(_ k: Int) -> String { String(format: "%06d-job%d", 4 + k, k) }
        XCTAssertEqual(done.filter { $0.hasSuffix(".yaml") }.sorted(), (0..<7).map { id($0) + ".yaml" })
        XCTAssertEqual(failed.filter { $0.hasSuffix(".yaml") }.sorted(), ["000001-broken1.yaml", "000002-broken2.yaml", "000003-broken3.yaml"])
        for k in 0..<7 {
            XCTAssertTrue(done.contains(id(k) + ".report.json") && done.contains(id(k) + ".log"))
            XCTAssertEqual(readJSON(spool + "/done/" + id(k) + ".report.json")?["command"] as? String, "run")
        }
        let log1 = (try? String(contentsOfFile: spool + "/failed/000001-broken1.log", encoding: .utf8)) ?? ""
        XCTAssertTrue(log1.contains("got 'nonsense'"), log1)
        let log2 = (try? String(contentsOfFile: spool + "/failed/000002-broken2.log", encoding: .utf8)) ?? ""
        XCTAssertTrue(log2.contains("/nonexistent.mtx does not exist"), log2)
        let log3 = (try? String(contentsOfFile: spool + "/failed/000003-broken3.log", encoding: .utf8)) ?? ""
        XCTAssertTrue(log3.contains("singular"), log3)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: spool + "/incoming")) ?? ["?"], [])
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: spool + "/running")) ?? ["?"], [])
        for k in 0..<7 {
            let x = try MatrixMarket.readDense(path: spool + "/output/" + id(k) + "/x.mtx")
            XCTAssertEqual(x.rows, (10 + k) * (10 + k))
            XCTAssertLessThanOrEqual(x.values.map { abs($0 - 1) }.max() ?? 1, 1e-10)
            XCTAssertEqual(readJSON(spool + "/output/" + id(k) + "/f.json")?["nnz"] as? Int, 1061)
        }
    }
}

/// Fault handling: a rank killed with SIGKILL mid-job, the supervisor restarts
/// the service, the job resumes from its checkpoint and ends with the outputs
/// of an uninterrupted run.
final class SupervisorCLITests: XCTestCase {
    private func batchJob(_ directory: String) -> String {
        var inputs: [String] = []
        for k in 0..<12 { inputs.append("g\(k): {generate: {kind: grid3d, n: \(22 + k % 6), shift: \(0.1 + Double(k) / 10)}}") }
        return """
        inputs: {\(inputs.joined(separator: ", "))}
        steps:
          - name: solutions
            op: solve_many
            matrices: [\((0..<12).map { "g\($0)" }.joined(separator: ", "))]
            rhs: rowsums
            method: cholesky
        outputs: {solutions: solutions.mtx}
        """
    }

    func testKilledRankIsRestartedAndTheJobResumesFromItsCheckpoint() throws {
        let scratch = ScratchDirectory()
        let spool = scratch.join("spool")
        try FileManager.default.createDirectory(atPath: spool + "/incoming", withIntermediateDirectories: true)
        let job = batchJob(scratch.path)
        // Reference: the same job, uninterrupted.
        try job.write(toFile: scratch.join("reference.yaml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(SparrowProcess.run(["run", scratch.join("reference.yaml"), "--output-dir", scratch.join("reference"), "--quiet"], ranks: 2).status, 0)
        try job.write(toFile: scratch.join(".batch.yaml"), atomically: true, encoding: .utf8)
        try FileManager.default.moveItem(atPath: scratch.join(".batch.yaml"), toPath: spool + "/incoming/batch.yaml")

        let service = try SupervisedService(spool: spool, maxFailures: 3, window: 120)
        let supervisor = service.process, drained = service.errors
        // Wait until two items are recorded, then kill one rank (not mpirun) with SIGKILL.
        let checkpoints = spool + "/checkpoints/000001-batch"
        var deadline = Date().addingTimeInterval(120)
        var killed = false
        while Date() < deadline, supervisor.isRunning {
            let recorded = ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints)) ?? []).filter { $0.hasSuffix(".done") }
            if recorded.count >= 2 {
                let ranks = service.ranks
                if let victim = ranks.first {
                    kill(victim, SIGKILL)
                    killed = true
                }
                break
            }
            usleep(20_000)
        }
        XCTAssertTrue(killed, "a rank was killed mid-job")
        deadline = Date().addingTimeInterval(180)
        while supervisor.isRunning, Date() < deadline { usleep(50_000) }
        if supervisor.isRunning { supervisor.terminate(); XCTFail("supervisor did not finish") }
        supervisor.waitUntilExit()
        let log = drained.text()
        XCTAssertEqual(supervisor.terminationStatus, 0, log)
        XCTAssertTrue(log.contains("took the workers down (status 137"), log)
        XCTAssertTrue(log.contains("restart 1"), log)
        XCTAssertTrue(FileManager.default.fileExists(atPath: spool + "/done/000001-batch.yaml"), log)
        let report = readJSON(spool + "/done/000001-batch.report.json")
        XCTAssertEqual((report?["metrics"] as? [String: Any])?["resumed"] as? Bool, true)
        let step = (report?["history"] as? [[String: Any]])?.first ?? [:]
        let resumed = step["resumed_items"] as? Int ?? 0
        XCTAssertGreaterThanOrEqual(resumed, 2, "items solved before the kill are not solved again")
        XCTAssertEqual((step["solved_items"] as? Int ?? 0) + resumed, 12)
        XCTAssertEqual(FileManager.default.contents(atPath: spool + "/output/000001-batch/solutions.mtx"),
                       FileManager.default.contents(atPath: scratch.join("reference/solutions.mtx")),
                       "outputs equal those of an uninterrupted run")
        XCTAssertFalse(FileManager.default.fileExists(atPath: checkpoints), "checkpoint removed after success")
    }

    func testSupervisorGivesUpAfterQuickFailuresAndNeverRestartsUsageErrors() {
        var outcome = SparrowProcess.run(["supervise", "--max-failures", "2", "--", "/bin/false"])
        XCTAssertEqual(outcome.status, 1)
        XCTAssertTrue(outcome.stderrLines.last?.hasPrefix("sparrow supervise: error: /bin/false failed 2 times in a row") == true, outcome.stderr)
        outcome = SparrowProcess.run(["supervise", "--", "/bin/sh", "-c", "exit 2"])
        XCTAssertEqual(outcome.status, 2)
        XCTAssertTrue(outcome.stderr.contains("not restarting"), outcome.stderr)
        outcome = SparrowProcess.run(["supervise", "--max-failures", "x", "--", "true"])
        XCTAssertEqual(outcome.status, 2)
    }

    func testSIGTERMCheckpointsPCGAndARestartAtThreeRanksResumesIt() throws {
        let scratch = ScratchDirectory()
        let spool = scratch.join("spool")
        try FileManager.default.createDirectory(atPath: spool + "/incoming", withIntermediateDirectories: true)
        let job = """
        inputs: {L: {generate: {kind: grid3d, n: 30, shift: 0.001}}}
        steps:
          - {name: x, op: pcg, matrix: L, rhs: random:1, preconditioner: jacobi, tol: 1.0e-11, max_iterations: 5000}
        outputs: {x: x.mtx}
        """
        try job.write(toFile: scratch.join("reference.yaml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(SparrowProcess.run(["run", scratch.join("reference.yaml"), "--output-dir", scratch.join("reference"), "--quiet"]).status, 0)
        try job.write(toFile: scratch.join(".p.yaml"), atomically: true, encoding: .utf8)
        try FileManager.default.moveItem(atPath: scratch.join(".p.yaml"), toPath: spool + "/incoming/p.yaml")
        let service = Process()
        service.executableURL = URL(fileURLWithPath: SparrowProcess.binary)
        service.arguments = ["serve", "--spool", spool, "--exit-when-idle", "--poll", "0.1", "--quiet"]
        service.standardOutput = FileHandle.nullDevice
        service.standardError = FileHandle.nullDevice
        try service.run()
        let iterate = spool + "/checkpoints/000001-p/x.pcg.x.mtx"
        var deadline = Date().addingTimeInterval(120)
        while Date() < deadline, service.isRunning, !FileManager.default.fileExists(atPath: iterate) { usleep(10_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: iterate), "PCG recorded an iterate")
        service.terminate() // SIGTERM
        deadline = Date().addingTimeInterval(60)
        while service.isRunning, Date() < deadline { usleep(20_000) }
        service.waitUntilExit()
        XCTAssertEqual(service.terminationStatus, 0, "SIGTERM ends the service cleanly")
        XCTAssertTrue(FileManager.default.fileExists(atPath: spool + "/running/000001-p.yaml"), "the interrupted job waits in running/")
        XCTAssertTrue(FileManager.default.fileExists(atPath: iterate), "with its checkpoint")
        // A restart resumes it, at another rank count: each rank reads its own rows of the recorded iterate.
        let outcome = SparrowProcess.run(["serve", "--spool", spool, "--exit-when-idle", "--poll", "0.1", "--quiet"], ranks: 3)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let step = (readJSON(spool + "/done/000001-p.report.json")?["history"] as? [[String: Any]])?.first ?? [:]
        XCTAssertGreaterThan(step["resumed_at_iteration"] as? Int ?? 0, 0, "\(step)")
        let x = try MatrixMarket.readDense(path: spool + "/output/000001-p/x.mtx").values
        let reference = try MatrixMarket.readDense(path: scratch.join("reference/x.mtx")).values
        let difference = zip(x, reference).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        XCTAssertLessThanOrEqual(difference, 1e-8 * norm2(reference))
    }
}
