import Foundation
import XCTest

/// `sparrow complete` as users run it: at 1, 2 and 3 ranks, resumed after a
/// killed rank, as a job step under the service, and on bad input. References
/// are recomputed here from the written files (factors, biases, the training
/// data), never taken from the program's report.
final class CompletionCLITests: XCTestCase {
    /// Ratings-like data: integers 1…5 from a rank-3 model with biases and noise, in shuffled file order.
    struct Ratings {
        var entries: [(Int, Int, Double)] = []
        let m: Int, n: Int

        init(m: Int, n: Int, count: Int, seed: UInt64, exact rank: Int? = nil) {
            self.m = m; self.n = n
            var random = SeededRandom(seed)
            let k = rank ?? 3
            let u = (0..<(m * k)).map { _ in random.normal() }, v = (0..<(n * k)).map { _ in random.normal() }
            let b = (0..<m).map { _ in 0.5 * random.normal() }, c = (0..<n).map { _ in 0.5 * random.normal() }
            var chosen = Set<Int>()
            while chosen.count < count { chosen.insert(Int(random.next() % UInt64(m * n))) }
            var order = Array(chosen)
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(random.next() % UInt64(i + 1))) }
            for index in order {
                let i = index / n, j = index % n
                var s = 0.0
                for l in 0..<k { s += u[i * k + l] * v[j * k + l] }
                if rank != nil { entries.append((i, j, s)); continue }
                let value = (3 + 0.6 * s + b[i] + c[j] + 0.3 * random.normal()).rounded()
                entries.append((i, j, min(5, max(1, value))))
            }
        }

        func write(_ path: String, _ slice: Range<Int>? = nil) throws {
            let part = slice.map { Array(entries[$0]) } ?? entries
            var text = "%%MatrixMarket matrix coordinate real general\n\(m) \(n) \(part.count)\n"
            for (i, j, x) in part { text += "\(i + 1) \(j + 1) \(x)\n" }
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }

    func dense(_ path: String) throws -> NaiveMatrix { try NaiveMatrix(path: path) }

    func value(_ m: NaiveMatrix, _ i: Int, _ j: Int) -> Double { m.entries[j * m.rows + i].value }

    func testSameFactorsAtOneTwoThreeRanksAndPredictionsRecomputedFromTheFactors() throws {
        let scratch = ScratchDirectory()
        let data = Ratings(m: 150, n: 120, count: 4000, seed: 7)
        try data.write(scratch.join("train.mtx"), 0..<3200)
        try data.write(scratch.join("test.mtx"), 3200..<4000)
        let common = ["--rank", "6", "--lambda", "0.1", "--biases", "--sweeps", "12", "--test", scratch.join("test.mtx"),
                      "--predict", scratch.join("test.mtx"), "--top", "4", "--quiet"]
        for ranks in [1, 2, 3] {
            let outcome = SparrowProcess.run(["complete", scratch.join("train.mtx")] + common
                                             + ["-o", scratch.join("p\(ranks)/fit"), "--report", scratch.join("r\(ranks).json")],
                                             ranks: ranks == 1 ? nil : ranks)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
        }
        let u1 = try dense(scratch.join("p1/fit.U.mtx")), v1 = try dense(scratch.join("p1/fit.V.mtx"))
        XCTAssertEqual(u1.rows, 150); XCTAssertEqual(u1.columns, 6); XCTAssertEqual(v1.rows, 120)
        for ranks in [2, 3] {
            for name in ["U", "V", "user_bias", "item_bias"] {
                let a = try dense(scratch.join("p1/fit.\(name).mtx")), b = try dense(scratch.join("p\(ranks)/fit.\(name).mtx"))
                let difference = zip(a.entries, b.entries).map { abs($0.value - $1.value) }.max() ?? .infinity
                XCTAssertLessThan(difference, 1e-10, "\(name) at \(ranks) ranks")
            }
        }
        // Predictions recomputed from the written factors, biases and the training mean.
        let train = Array(data.entries[0..<3200]), test = Array(data.entries[3200..<4000])
        let mean = train.map(\.2).reduce(0, +) / Double(train.count)
        let bu = try dense(scratch.join("p1/fit.user_bias.mtx")), bv = try dense(scratch.join("p1/fit.item_bias.mtx"))
        func predict(_ i: Int, _ j: Int) -> Double {
            var s = mean + value(bu, i, 0) + value(bv, j, 0)
            for c in 0..<6 { s += value(u1, i, c) * value(v1, j, c) }
            return s
        }
        let written = try NaiveMatrix(path: scratch.join("p1/fit.test.mtx"))
        XCTAssertEqual(written.entries.count, test.count)
        var squared = 0.0
        let truth = Dictionary(uniqueKeysWithValues: test.map { ($0.0 * 1000 + $0.1, $0.2) })
        for (i, j, x) in written.entries {
            XCTAssertEqual(x, predict(i, j), accuracy: 1e-9)
            squared += (x - truth[i * 1000 + j]!) * (x - truth[i * 1000 + j]!)
        }
        let rmse = (squared / Double(test.count)).squareRoot()
        let report = readJSON(scratch.join("r1.json"))?["metrics"] as? [String: Any]
        XCTAssertEqual(report?["test_rmse"] as? Double ?? 0, rmse, accuracy: 1e-9, "the report's test RMSE")
        XCTAssertLessThan(rmse, 1.0, "better than predicting the mean on 1…5 ratings")
        XCTAssertEqual(try NaiveMatrix(path: scratch.join("p1/fit.predictions.mtx")).entries.count, test.count)
        // Top lists: 4 unobserved items per user, each the best by the recomputed prediction.
        let top = try NaiveMatrix(path: scratch.join("p1/fit.top.mtx"))
        let observed = Set(train.map { $0.0 * 1000 + $0.1 })
        XCTAssertEqual(top.entries.count, 150 * 4)
        for i in [0, 77, 149] {
            let mine = top.entries.filter { $0.row == i }.map(\.column)
            let best = (0..<120).filter { !observed.contains(i * 1000 + $0) }.sorted { predict(i, $0) > predict(i, $1) }.prefix(4)
            XCTAssertEqual(Set(mine), Set(best), "top-4 of row \(i)")
        }
        let top3 = try NaiveMatrix(path: scratch.join("p3/fit.top.mtx"))
        XCTAssertEqual(top.entries.map(\.row), top3.entries.map(\.row))
        XCTAssertEqual(top.entries.map(\.column), top3.entries.map(\.column), "the same lists at 3 ranks")
        XCTAssertLessThan(zip(top.entries, top3.entries).map { abs($0.value - $1.value) }.max() ?? 1, 1e-10)
    }

    func testExactRecoveryAndAKilledRankResumesToTheUninterruptedResult() throws {
        let scratch = ScratchDirectory()
        let (m, k) = (1200, 8)
        let data = Ratings(m: m, n: m, count: 3 * k * (2 * m - k), seed: 3, exact: k)
        try data.write(scratch.join("r.mtx"))
        let arguments = ["complete", scratch.join("r.mtx"), "--rank", String(k), "--lambda", "0", "--sweeps", "120", "--method", "robust",
                         "--sketch-ratio", "2", // s = 16 sketch rows: rows of more than 32 observations (most: 48 on average) are sketched
                         "--every", "5", "--quiet"]
        let reference = SparrowProcess.run(arguments + ["--checkpoint", scratch.join("c0"), "-o", scratch.join("ref")], ranks: 2)
        XCTAssertEqual(reference.status, 0, reference.stderr)
        // Exact recovery: U·Vᵀ equals the rank-k matrix on entries never observed (a sample of them).
        let u = try dense(scratch.join("ref.U.mtx")), v = try dense(scratch.join("ref.V.mtx"))
        var observed = Set<Int>()
        for (i, j, _) in data.entries { observed.insert(i * m + j) }
        var regenerated = SeededRandom(3)
        let trueU = (0..<(m * k)).map { _ in regenerated.normal() }, trueV = (0..<(m * k)).map { _ in regenerated.normal() }
        var error = 0.0, norm = 0.0
        for i in stride(from: 0, to: m, by: 7) {
            for j in stride(from: 3, to: m, by: 5) where !observed.contains(i * m + j) {
                var fit = 0.0, truth = 0.0
                for c in 0..<k { fit += value(u, i, c) * value(v, j, c); truth += trueU[i * k + c] * trueV[j * k + c] }
                error += (fit - truth) * (fit - truth)
                norm += truth * truth
            }
        }
        XCTAssertLessThan((error / norm).squareRoot(), 1e-8, "relative error on unobserved entries")

        // The same run, one rank killed with SIGKILL after a checkpoint, then resumed at the same P.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mpirun")
        process.arguments = ["-q", "-n", "2", "--oversubscribe", SparrowProcess.binary] + arguments
            + ["--checkpoint", scratch.join("c1"), "-o", scratch.join("cut")]
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        process.environment = environment
        process.standardError = FileHandle.nullDevice
        try process.run()
        let state = scratch.join("c1/complete.state")
        var killed = false
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, process.isRunning {
            if let text = try? String(contentsOfFile: state, encoding: .utf8), text.contains("sweep 10\n") || text.contains("sweep 15\n") {
                let ranks = processes(startingWith: SparrowProcess.binary + " complete " + scratch.join("r.mtx"))
                if let victim = ranks.last { kill(victim, SIGKILL); killed = true }
                break
            }
            usleep(2_000)
        }
        process.waitUntilExit()
        XCTAssertTrue(killed, "a rank was killed mid-run")
        XCTAssertNotEqual(process.terminationStatus, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.join("cut.U.mtx")), "no output from the killed run")
        let resumed = SparrowProcess.run(arguments + ["--checkpoint", scratch.join("c1"), "--resume", "-o", scratch.join("cut"),
                                                      "--report", scratch.join("resumed.json")], ranks: 2)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let resumedAt = (readJSON(scratch.join("resumed.json"))?["metrics"] as? [String: Any])?["resumed_at_sweep"] as? Int ?? 0
        XCTAssertGreaterThanOrEqual(resumedAt, 10)
        XCTAssertLessThan(resumedAt, 120)
        // A checkpoint past the sweeps asked for is refused, not silently returned.
        var shorter = arguments
        shorter[shorter.firstIndex(of: "120")!] = "50"
        let refused = SparrowProcess.run(shorter + ["--checkpoint", scratch.join("c1"), "--resume", "-o", scratch.join("short")], ranks: 2)
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("is at sweep 120, past the 50 sweeps asked for"), refused.stderr)
        for name in ["U", "V"] {
            XCTAssertEqual(FileManager.default.contents(atPath: scratch.join("cut.\(name).mtx")),
                           FileManager.default.contents(atPath: scratch.join("ref.\(name).mtx")), "\(name) equals the uninterrupted run's")
        }
    }

    func testBadInputGivesOneLineErrorsAtOneAndTwoRanks() throws {
        let scratch = ScratchDirectory()
        let header = "%%MatrixMarket matrix coordinate real general\n"
        try (header + "4 5 3\n1 1 4\n2 3 nan\n4 5 1\n").write(toFile: scratch.join("nan.mtx"), atomically: true, encoding: .utf8)
        try (header + "4 5 4\n1 1 4\n2 3 2\n4 5 1\n2 3 5\n").write(toFile: scratch.join("dup.mtx"), atomically: true, encoding: .utf8)
        try (header + "4 5 2\n1 1 4\n5 3 2\n").write(toFile: scratch.join("outside.mtx"), atomically: true, encoding: .utf8)
        try (header + "4 5 3\n1 1 4\n2 3 2\n4 5 1\n").write(toFile: scratch.join("ok.mtx"), atomically: true, encoding: .utf8)
        try (header + "5 5 1\n1 1 4\n").write(toFile: scratch.join("wrongshape.mtx"), atomically: true, encoding: .utf8)
        let cases: [([String], Int32, String)] = [
            (["nan.mtx", "--rank", "2"], 2, "nan.mtx:4: value nan is not finite"),
            (["dup.mtx", "--rank", "2"], 2, "dup.mtx:6: entry (2, 3) repeats an earlier one; duplicates are refused"),
            (["outside.mtx", "--rank", "2"], 2, "outside.mtx:4:"),
            (["ok.mtx", "--rank", "4"], 2, "--rank: must be in 1..<min(m, n) = 1..<4"),
            (["ok.mtx", "--rank", "2", "--test", "wrongshape.mtx"], 2, "wrongshape.mtx:2: is 5 × 5, but the ratings are 4 × 5"),
            (["ok.mtx", "--rank", "2", "--lambda=-1"], 2, "--lambda: must be a finite number in [0, 1e12], got -1.0"),
            (["ok.mtx", "--rank", "2", "--inner-iterations", "4"], 2, "--inner-iterations applies to --method inexact only"),
            (["ok.mtx", "--rank", "2", "--method", "inexact", "--sketch-ratio", "4"], 2, "--row-accuracy and --sketch-ratio apply to --method robust only"),
            (["ok.mtx", "--rank", "2", "--method", "robust", "--row-accuracy", "0"], 2, "--row-accuracy: must be"),
            (["ok.mtx", "--rank", "2", "--method", "robust", "--sketch-ratio", "1"], 2, "--sketch-ratio: must be"),
            (["ok.mtx", "--rank", "2", "--method", "sketch"], 2, "--method: expected als, robust or inexact, got 'sketch'"),
            (["ok.mtx", "--rank", "2", "--resume"], 2, "--resume needs --checkpoint DIR"),
            (["ok.mtx", "--rank", "2", "--checkpoint", "none", "--resume"], 2, "no checkpoint to resume from"),
            (["missing.mtx", "--rank", "2"], 2, "missing.mtx"),
        ]
        for ranks in [1, 2] {
            for (arguments, status, message) in cases {
                let outcome = SparrowProcess.run(["complete"] + arguments.map { $0.hasSuffix(".mtx") || $0 == "none" ? scratch.join($0) : $0 }
                                                 + ["-o", scratch.join("out/x"), "--quiet"], ranks: ranks == 1 ? nil : ranks, timeout: 60)
                XCTAssertEqual(outcome.status, status, "\(arguments) at \(ranks): \(outcome.stderr)")
                XCTAssertEqual(outcome.stderrLines.count, 1, "\(arguments) at \(ranks): \(outcome.stderr)")
                XCTAssertTrue(outcome.stderr.contains(message), "\(arguments) at \(ranks): \(outcome.stderr)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.join("out/x.U.mtx")), "no output after a refused input")
    }

    func testCompleteStepUnderTheServiceResumesAfterAKilledRank() throws {
        let scratch = ScratchDirectory()
        let spool = scratch.join("spool")
        try FileManager.default.createDirectory(atPath: spool + "/incoming", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: spool + "/inputs", withIntermediateDirectories: true)
        let data = Ratings(m: 900, n: 800, count: 60_000, seed: 5)
        try data.write(spool + "/inputs/r.mtx")
        let job = """
        inputs: {R: \(spool)/inputs/r.mtx}
        steps:
          - {name: fit, op: complete, ratings: R, rank: 12, lambda: 0.1, biases: true, sweeps: 150, every: 5, top: 3}
        outputs: {fit.U: U.mtx, fit.V: V.mtx, fit.user_bias: b.mtx, fit.top: top.mtx, fit: fit.json}
        """
        // Reference: the CLI at one rank, the same parameters.
        let cli = SparrowProcess.run(["complete", spool + "/inputs/r.mtx", "--rank", "12", "--lambda", "0.1", "--biases", "--sweeps", "150",
                                      "-o", scratch.join("cli"), "--quiet"])
        XCTAssertEqual(cli.status, 0, cli.stderr)
        try job.write(toFile: scratch.join("reference.yaml"), atomically: true, encoding: .utf8)
        let run = SparrowProcess.run(["run", scratch.join("reference.yaml"), "--output-dir", scratch.join("reference"), "--quiet"], ranks: 2)
        XCTAssertEqual(run.status, 0, run.stderr)
        let jobU = try dense(scratch.join("reference/U.mtx")), cliU = try dense(scratch.join("cli.U.mtx"))
        XCTAssertLessThan(zip(jobU.entries, cliU.entries).map { abs($0.value - $1.value) }.max() ?? 1, 1e-10, "job step equals the CLI")

        try job.write(toFile: scratch.join(".fit.yaml"), atomically: true, encoding: .utf8)
        try FileManager.default.moveItem(atPath: scratch.join(".fit.yaml"), toPath: spool + "/incoming/fit.yaml")
        let service = try SupervisedService(spool: spool, maxFailures: 3, window: 120)
        let state = spool + "/checkpoints/000001-fit/fit.state"
        var killed = false
        var deadline = Date().addingTimeInterval(120)
        while Date() < deadline, service.process.isRunning {
            if let text = try? String(contentsOfFile: state, encoding: .utf8), text.contains("sweep 10\n") || text.contains("sweep 15\n") {
                if let victim = service.ranks.first { kill(victim, SIGKILL); killed = true }
                break
            }
            usleep(5_000)
        }
        XCTAssertTrue(killed, "a rank was killed mid-step")
        deadline = Date().addingTimeInterval(180)
        while service.process.isRunning, Date() < deadline { usleep(50_000) }
        if service.process.isRunning { service.process.terminate(); XCTFail("service did not finish") }
        service.process.waitUntilExit()
        let log = service.errors.text()
        XCTAssertTrue(FileManager.default.fileExists(atPath: spool + "/done/000001-fit.yaml"), log)
        let figures = readJSON(spool + "/output/000001-fit/fit.json")
        XCTAssertGreaterThanOrEqual(figures?["resumed_at_sweep"] as? Int ?? 0, 10, log)
        for name in ["U.mtx", "V.mtx", "b.mtx", "top.mtx"] {
            XCTAssertEqual(FileManager.default.contents(atPath: spool + "/output/000001-fit/" + name),
                           FileManager.default.contents(atPath: scratch.join("reference/" + name)), "\(name) equals the uninterrupted run's")
        }
    }
}

/// SplitMix64, seeded: the tests' own generator.
struct SeededRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func normal() -> Double {
        let u = max(Double(next() >> 11) * 0x1p-53, 1e-300), v = Double(next() >> 11) * 0x1p-53
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}
