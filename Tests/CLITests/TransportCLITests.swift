import Foundation
import XCTest

/// `sparrow ot` at 1, 2 and 3 ranks, on bad input, after a killed rank, and as a
/// job step under the service. References are computed here from the written
/// duals with plain loops (not Sparrow's kernels).
final class TransportCLITests: XCTestCase {
    /// A seeded n × m cost with entries uniform in [0, 1).
    static func randomCost(_ n: Int, _ m: Int, seed: UInt64) -> [Double] {
        var random = SeededRandom(seed)
        return (0..<(n * m)).map { _ in Double(random.next() >> 11) / Double(1 << 53) }
    }

    /// Writes a row-major matrix as a Matrix Market array (column-major in the file).
    static func writeArray(_ rowMajor: [Double], rows: Int, columns: Int, to path: String) throws {
        var text = "%%MatrixMarket matrix array real general\n\(rows) \(columns)\n"
        for j in 0..<columns { for i in 0..<rows { text += "\(rowMajor[i * columns + j])\n" } }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Marginal L1 error of the plan exp(η(x_i + y_j − C_ij) − 1) against uniform marginals.
    static func marginalError(duals: [Double], cost: [Double], n: Int, m: Int, eta: Double) -> Double {
        var rows = [Double](repeating: 0, count: n), columns = [Double](repeating: 0, count: m)
        for i in 0..<n {
            for j in 0..<m {
                let p = Foundation.exp(eta * (duals[i] + duals[n + j] - cost[i * m + j]) - 1)
                rows[i] += p
                columns[j] += p
            }
        }
        return rows.map { abs($0 - 1 / Double(n)) }.reduce(0, +) + columns.map { abs($0 - 1 / Double(m)) }.reduce(0, +)
    }

    func duals(_ path: String) throws -> [Double] { try NaiveMatrix(path: path).entries.map(\.value) }

    func testSameDualsAtOneTwoThreeRanksAndTheErrorRecomputedFromThem() throws {
        let scratch = ScratchDirectory()
        let (n, m) = (180, 150)
        let cost = Self.randomCost(n, m, seed: 11)
        try Self.writeArray(cost, rows: n, columns: m, to: scratch.join("C.mtx"))
        for method in ["sns", "sinkhorn"] {
            for ranks in [1, 2, 3] {
                let outcome = SparrowProcess.run(["ot", "--cost", scratch.join("C.mtx"), "--eta", "300", "--method", method, "--tol", "1e-9",
                                                  "--duals", scratch.join("\(method)\(ranks).mtx"), "--plan", scratch.join("P\(method)\(ranks).mtx"),
                                                  "--report", scratch.join("\(method)\(ranks).json"), "--quiet"], ranks: ranks == 1 ? nil : ranks)
                XCTAssertEqual(outcome.status, 0, outcome.stderr)
            }
            let one = try duals(scratch.join("\(method)1.mtx"))
            XCTAssertEqual(one.count, n + m)
            for ranks in [2, 3] {
                let other = try duals(scratch.join("\(method)\(ranks).mtx"))
                XCTAssertLessThan(zip(one, other).map { abs($0 - $1) }.max() ?? 1, 1e-10, "\(method) duals at \(ranks) ranks")
            }
            let error = Self.marginalError(duals: one, cost: cost, n: n, m: m, eta: 300)
            XCTAssertLessThanOrEqual(error, 1e-9, method)
            let metrics = readJSON(scratch.join("\(method)1.json"))?["metrics"] as? [String: Any]
            let reported = metrics?["marginal_error"] as? Double ?? -1
            XCTAssertEqual(reported, error, accuracy: 1e-12 + 1e-3 * error, "the report's error, recomputed from the duals")
            let plan = try NaiveMatrix(path: scratch.join("P\(method)1.mtx"))
            var transport = 0.0
            for (i, j, p) in plan.entries { transport += p * cost[i * m + j] }
            XCTAssertEqual(metrics?["transport_cost"] as? Double ?? -1, transport, accuracy: 1e-9, "⟨C, P⟩ from the written plan")
        }
        let sns = readJSON(scratch.join("sns1.json"))?["metrics"] as? [String: Any]
        let sinkhorn = readJSON(scratch.join("sinkhorn1.json"))?["metrics"] as? [String: Any]
        XCTAssertLessThan(sns?["iterations"] as? Int ?? .max, sinkhorn?["iterations"] as? Int ?? 0, "Newton steps need fewer iterations")
        XCTAssertGreaterThan(sns?["newton_steps"] as? Int ?? 0, 0)
    }

    func testPointCloudsWithL1CostMatchTheDenseCostTheyDefine() throws {
        let scratch = ScratchDirectory()
        var random = SeededRandom(4)
        let (n, m, d) = (90, 70, 3)
        let source = (0..<(n * d)).map { _ in random.normal() }, target = (0..<(m * d)).map { _ in random.normal() + 0.5 }
        try Self.writeArray(source, rows: n, columns: d, to: scratch.join("X.mtx"))
        try Self.writeArray(target, rows: m, columns: d, to: scratch.join("Y.mtx"))
        var cost = [Double](repeating: 0, count: n * m)
        for i in 0..<n { for j in 0..<m { for k in 0..<d { cost[i * m + j] += abs(source[i * d + k] - target[j * d + k]) } } }
        let largest = cost.max()!
        try Self.writeArray(cost.map { $0 / largest }, rows: n, columns: m, to: scratch.join("C.mtx"))
        let points = SparrowProcess.run(["ot", "--source-points", scratch.join("X.mtx"), "--target-points", scratch.join("Y.mtx"),
                                         "--ground-cost", "l1", "--normalize", "--eta", "200", "--duals", scratch.join("a.mtx"),
                                         "--report", scratch.join("a.json"), "--quiet"], ranks: 2)
        XCTAssertEqual(points.status, 0, points.stderr)
        let dense = SparrowProcess.run(["ot", "--cost", scratch.join("C.mtx"), "--eta", "200", "--duals", scratch.join("b.mtx"), "--quiet"])
        XCTAssertEqual(dense.status, 0, dense.stderr)
        let a = try duals(scratch.join("a.mtx")), b = try duals(scratch.join("b.mtx"))
        XCTAssertLessThan(zip(a, b).map { abs($0 - $1) }.max() ?? 1, 1e-8)
        let metrics = readJSON(scratch.join("a.json"))?["metrics"] as? [String: Any]
        XCTAssertEqual(metrics?["cost_scale"] as? Double ?? 0, largest, accuracy: 1e-12 * largest)
    }

    func testSparseKernelReachesTheToleranceOnTheFullPlanAtOneAndTwoRanks() throws {
        let scratch = ScratchDirectory()
        var random = SeededRandom(8)
        let n = 1500
        let source = (0..<(2 * n)).map { _ in Double(random.next() >> 11) / Double(1 << 53) }
        let target = (0..<(2 * n)).map { _ in Double(random.next() >> 11) / Double(1 << 53) }
        try Self.writeArray(source, rows: n, columns: 2, to: scratch.join("X.mtx"))
        try Self.writeArray(target, rows: n, columns: 2, to: scratch.join("Y.mtx"))
        var cost = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { for k in 0..<2 { let d = source[i * 2 + k] - target[j * 2 + k]; cost[i * n + j] += d * d } } }
        var kept: [Int] = []
        for ranks in [1, 2] {
            let outcome = SparrowProcess.run(["ot", "--source-points", scratch.join("X.mtx"), "--target-points", scratch.join("Y.mtx"),
                                              "--kernel", "sparse", "--eta", "20000", "--tol", "1e-7", "--duals", scratch.join("s\(ranks).mtx"),
                                              "--report", scratch.join("s\(ranks).json"), "--quiet"], ranks: ranks == 1 ? nil : ranks)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            // The error of the whole plan (all n² entries), not only the kernel's.
            let error = Self.marginalError(duals: try duals(scratch.join("s\(ranks).mtx")), cost: cost, n: n, m: n, eta: 20000)
            XCTAssertLessThanOrEqual(error, 1.5e-7, "\(ranks) ranks")
            let metrics = readJSON(scratch.join("s\(ranks).json"))?["metrics"] as? [String: Any]
            kept.append(metrics?["kernel_entries"] as? Int ?? 0)
            XCTAssertGreaterThan((metrics?["stages"] as? [Any])?.count ?? 0, 1, "ε-scaling ran several stages")
        }
        XCTAssertLessThan(kept[0], n * n / 20, "the kernel is sparse")
        XCTAssertEqual(kept[0], kept[1], "the same kernel at two ranks")
    }

    func testBadInputGivesOneLineErrorsAtOneAndTwoRanks() throws {
        let scratch = ScratchDirectory()
        let array = "%%MatrixMarket matrix array real general\n"
        try (array + "2 2\n0.1\n0.2\n0.3\n0.4\n").write(toFile: scratch.join("C.mtx"), atomically: true, encoding: .utf8)
        try (array + "2 2\n0.1\n-0.5\n0.3\n0.4\n").write(toFile: scratch.join("negative.mtx"), atomically: true, encoding: .utf8)
        try (array + "2 2\n0.1\n0.2\nnan\n0.4\n").write(toFile: scratch.join("nan.mtx"), atomically: true, encoding: .utf8)
        try (array + "2 2\n0.1\n0.2\n0.3\n").write(toFile: scratch.join("short.mtx"), atomically: true, encoding: .utf8)
        try (array + "200000 200000\n").write(toFile: scratch.join("huge.mtx"), atomically: true, encoding: .utf8)
        try (array + "2 1\n0.5\n0.5\n").write(toFile: scratch.join("r.mtx"), atomically: true, encoding: .utf8)
        try (array + "2 1\n0.5\n1.5\n").write(toFile: scratch.join("heavy.mtx"), atomically: true, encoding: .utf8)
        try (array + "3 1\n0.2\n0.3\n0.5\n").write(toFile: scratch.join("three.mtx"), atomically: true, encoding: .utf8)
        try (array + "2 1\n0.5\n-0.5\n").write(toFile: scratch.join("negr.mtx"), atomically: true, encoding: .utf8)
        try (array + "2 2\n0\n1\n0\n1\n").write(toFile: scratch.join("X.mtx"), atomically: true, encoding: .utf8)
        try (array + "2 3\n0\n1\n0\n1\n0\n1\n").write(toFile: scratch.join("Y3.mtx"), atomically: true, encoding: .utf8)
        let cost = ["--cost", "C.mtx"]
        let cases: [([String], String)] = [
            (["--cost", "negative.mtx"], "negative.mtx:4: cost -0.5 is negative"),
            (["--cost", "nan.mtx"], "nan.mtx:5: value nan is not finite"),
            (["--cost", "short.mtx"], "short.mtx:5: file ends after 3 of the 4 entries"),
            (["--cost", "huge.mtx"], "huge.mtx: a dense 200000 × 200000 transport problem"),
            (["--cost", "missing.mtx"], "missing.mtx"),
            (cost + ["--r", "r.mtx", "--c", "heavy.mtx"], "heavy.mtx: sums to 2.0, but"),
            (cost + ["--r", "three.mtx"], "three.mtx:1: the row marginal has 3 entries; the problem needs 2"),
            (cost + ["--c", "negr.mtx"], "negr.mtx:4: the column marginal entry 2 is -0.5; marginals must be positive"),
            (["--source-points", "X.mtx", "--target-points", "Y3.mtx"], "source points are 2-dimensional"),
            (cost + ["--source-points", "X.mtx"], "give either --cost or --source-points"),
            (cost + ["--eta", "0"], "--eta: must be a finite number in [1e-9, 1e12], got 0.0"),
            (cost + ["--method", "newton"], "--method: expected sinkhorn or sns, got 'newton'"),
            (cost + ["--resume"], "--resume needs --checkpoint DIR"),
            (cost + ["--checkpoint", "none", "--resume"], "no checkpoint to resume from"),
        ]
        for ranks in [1, 2] {
            for (arguments, message) in cases {
                let outcome = SparrowProcess.run(["ot"] + arguments.map { $0.hasSuffix(".mtx") || $0 == "none" ? scratch.join($0) : $0 }
                                                 + ["--duals", scratch.join("out/d.mtx"), "--quiet"], ranks: ranks == 1 ? nil : ranks, timeout: 60)
                XCTAssertEqual(outcome.status, 2, "\(arguments) at \(ranks): \(outcome.stderr)")
                XCTAssertEqual(outcome.stderrLines.count, 1, "\(arguments) at \(ranks): \(outcome.stderr)")
                XCTAssertTrue(outcome.stderr.contains(message), "\(arguments) at \(ranks): \(outcome.stderr)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.join("out/d.mtx")), "no output after a refused input")
        let stalled = SparrowProcess.run(["ot", "--cost", scratch.join("C.mtx"), "--method", "sinkhorn", "--eta", "1000", "--tol", "1e-15",
                                          "--max-iterations", "3", "--quiet"], ranks: 2)
        XCTAssertEqual(stalled.status, 1, stalled.stderr)
        XCTAssertTrue(stalled.stderr.contains("did not reach marginal error 1e-15 in 3 iterations"), stalled.stderr)
    }

    /// Starts `arguments` under mpirun -n 2 and SIGKILLs one rank once the state file shows `marker`.
    func killMidRun(_ arguments: [String], state: String, marker: (String) -> Bool, match: String) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mpirun")
        process.arguments = ["-q", "-n", "2", "--oversubscribe", SparrowProcess.binary] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        process.environment = environment
        process.standardError = FileHandle.nullDevice
        try process.run()
        var killed = false
        // Deadlines here only guard against a hang: quiet, this takes ~40 s; a loaded
        // machine (fresh-debian with other work beside it) has run it past 180 s.
        let deadline = Date().addingTimeInterval(600)
        while Date() < deadline, process.isRunning {
            if let text = try? String(contentsOfFile: state, encoding: .utf8), marker(text) {
                if let victim = processes(startingWith: SparrowProcess.binary + " " + match).last { kill(victim, SIGKILL); killed = true }
                break
            }
            usleep(2_000)
        }
        process.waitUntilExit()
        XCTAssertNotEqual(process.terminationStatus, 0)
        return killed
    }

    static func sweeps(_ state: String) -> Int {
        state.split(separator: "\n").first { $0.hasPrefix("sweeps ") }.flatMap { Int($0.dropFirst(7)) } ?? 0
    }

    func testAKilledRankResumesFromTheCheckpointedDualsToTheSameAnswer() throws {
        let scratch = ScratchDirectory()
        let n = 150
        try Self.writeArray(Self.randomCost(n, n, seed: 5), rows: n, columns: n, to: scratch.join("C.mtx"))
        let arguments = ["ot", "--cost", scratch.join("C.mtx"), "--eta", "1000", "--method", "sinkhorn", "--tol", "1e-6", "--every", "100",
                         "--max-iterations", "1000000", "--quiet"]
        let reference = SparrowProcess.run(arguments + ["--duals", scratch.join("ref.mtx"), "--report", scratch.join("ref.json")], ranks: 2)
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let total = (readJSON(scratch.join("ref.json"))?["metrics"] as? [String: Any])?["iterations"] as? Int ?? 0
        XCTAssertGreaterThan(total, 2000, "long enough to be cut")
        let killed = try killMidRun(arguments + ["--checkpoint", scratch.join("c"), "--duals", scratch.join("cut.mtx")],
                                    state: scratch.join("c/ot.state"), marker: { Self.sweeps($0) >= 500 }, match: "ot --cost")
        XCTAssertTrue(killed, "a rank was killed mid-solve")
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.join("cut.mtx")), "no output from the killed run")
        let resumed = SparrowProcess.run(arguments + ["--checkpoint", scratch.join("c"), "--resume", "--duals", scratch.join("cut.mtx"),
                                                      "--report", scratch.join("resumed.json")], ranks: 2)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let resumedAt = (readJSON(scratch.join("resumed.json"))?["metrics"] as? [String: Any])?["resumed_at_iteration"] as? Int ?? 0
        XCTAssertGreaterThanOrEqual(resumedAt, 500)
        XCTAssertLessThan(resumedAt, total)
        let a = try duals(scratch.join("ref.mtx")), b = try duals(scratch.join("cut.mtx"))
        XCTAssertLessThan(zip(a, b).map { abs($0 - $1) }.max() ?? 1, 1e-10, "resumed duals equal the uninterrupted run's")
    }

    func testOtStepUnderTheServiceResumesAfterAKilledRank() throws {
        let scratch = ScratchDirectory()
        let spool = scratch.join("spool")
        try FileManager.default.createDirectory(atPath: spool + "/incoming", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: spool + "/inputs", withIntermediateDirectories: true)
        let n = 150
        try Self.writeArray(Self.randomCost(n, n, seed: 5), rows: n, columns: n, to: spool + "/inputs/C.mtx")
        let job = """
        inputs: {C: \(spool)/inputs/C.mtx}
        steps:
          - {name: T, op: ot, cost: C, eta: 1000, method: sinkhorn, tol: 1e-6, every: 100, max_iterations: 1000000}
        outputs: {T.duals: duals.mtx, T.plan: plan.mtx, T: T.json}
        """
        try job.write(toFile: scratch.join("reference.yaml"), atomically: true, encoding: .utf8)
        let run = SparrowProcess.run(["run", scratch.join("reference.yaml"), "--output-dir", scratch.join("reference"), "--quiet"], ranks: 2)
        XCTAssertEqual(run.status, 0, run.stderr)
        let cli = SparrowProcess.run(["ot", "--cost", spool + "/inputs/C.mtx", "--eta", "1000", "--method", "sinkhorn", "--tol", "1e-6",
                                      "--max-iterations", "1000000", "--duals", scratch.join("cli.mtx"), "--quiet"])
        XCTAssertEqual(cli.status, 0, cli.stderr)
        let reference = try duals(scratch.join("reference/duals.mtx"))
        XCTAssertLessThan(zip(reference, try duals(scratch.join("cli.mtx"))).map { abs($0 - $1) }.max() ?? 1, 1e-10, "job step equals the CLI")

        try job.write(toFile: scratch.join(".T.yaml"), atomically: true, encoding: .utf8)
        try FileManager.default.moveItem(atPath: scratch.join(".T.yaml"), toPath: spool + "/incoming/T.yaml")
        let service = try SupervisedService(spool: spool, maxFailures: 3, window: 120)
        let state = spool + "/checkpoints/000001-T/T.state"
        var killed = false
        // Hang guards only (see killMidRun): a loaded machine has needed more than 180 s after the kill.
        var deadline = Date().addingTimeInterval(600)
        while Date() < deadline, service.process.isRunning {
            if let text = try? String(contentsOfFile: state, encoding: .utf8), Self.sweeps(text) >= 500 {
                if let victim = service.ranks.first { kill(victim, SIGKILL); killed = true }
                break
            }
            usleep(5_000)
        }
        XCTAssertTrue(killed, "a rank was killed mid-step")
        deadline = Date().addingTimeInterval(600)
        while service.process.isRunning, Date() < deadline { usleep(50_000) }
        if service.process.isRunning { service.process.terminate(); XCTFail("service did not finish") }
        service.process.waitUntilExit()
        let log = service.errors.text()
        XCTAssertTrue(FileManager.default.fileExists(atPath: spool + "/done/000001-T.yaml"), log)
        let figures = readJSON(spool + "/output/000001-T/T.json")
        XCTAssertGreaterThanOrEqual(figures?["resumed_at_iteration"] as? Int ?? 0, 500, log)
        let resumed = try duals(spool + "/output/000001-T/duals.mtx")
        XCTAssertLessThan(zip(reference, resumed).map { abs($0 - $1) }.max() ?? 1, 1e-10, "resumed duals equal the uninterrupted run's")
    }
}
