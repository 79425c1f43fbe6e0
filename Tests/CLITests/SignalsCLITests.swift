import Foundation
import SparrowCore
import XCTest

/// SIGTERM and SIGINT (CONVENTIONS: exit 143/130, temporaries removed, a
/// checkpoint written where --checkpoint is set) and resumes that refuse a
/// checkpoint that does not belong to the run.
final class SignalsCLITests: XCTestCase {
    /// Starts `sparrow ARGS` (alone or under mpirun) in `directory`, waits until `ready()` holds,
    /// sends `signal` to the process (mpirun forwards it to the ranks) and returns the outcome.
    func interrupt(_ arguments: [String], ranks: Int? = nil, signal: Int32 = SIGTERM, directory: String,
                   file: StaticString = #filePath, line: UInt = #line, when ready: () -> Bool) throws -> (status: Int32, stderr: String) {
        let process = Process()
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        if let ranks {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/mpirun")
            process.arguments = ["-q", "-n", String(ranks), "--oversubscribe", SparrowProcess.binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: SparrowProcess.binary)
            process.arguments = arguments
        }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let drained = DrainedPipe(errors)
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, !ready(), Date() < deadline { usleep(5_000) }
        XCTAssertTrue(process.isRunning, "still running when ready: \(arguments)", file: file, line: line)
        kill(process.processIdentifier, signal)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { process.terminate(); XCTFail("did not stop after the signal", file: file, line: line) }
        return (process.terminationStatus, drained.text())
    }

    func testAStopDuringAVerbRemovesItsTemporariesAndExits143Or130() throws {
        let s = ScratchDirectory()
        let temporary = { s.entries.contains { $0.hasPrefix(".sparrow-") } }
        for (signal, code) in [(SIGTERM, Int32(143)), (SIGINT, Int32(130))] {
            let outcome = try interrupt(["generate", "grid2d", "--n", "1500", "-o", "big.mtx", "--quiet"], signal: signal,
                                        directory: s.path, when: temporary)
            XCTAssertEqual(outcome.status, code, outcome.stderr)
            XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, outcome.stderr)
            XCTAssertTrue(outcome.stderr.contains("stopped by SIG"), outcome.stderr)
            XCTAssertEqual(s.entries, [], "no output, no temporary")
        }
        // Under mpirun: SIGUSR1, which mpirun forwards at once (its own SIGTERM reaches the ranks a second
        // later, then SIGKILL), is a stop request like SIGTERM; rank 0 held the temporary.
        var outcome = try interrupt(["generate", "grid2d", "--n", "1500", "-o", "big.mtx", "--quiet"], ranks: 2, signal: SIGUSR1,
                                    directory: s.path, when: temporary)
        XCTAssertEqual(outcome.status, 143, outcome.stderr)
        XCTAssertEqual(s.entries, [], "no output, no temporary under mpirun")
        // As srun delivers Slurm's signal: SIGTERM to every rank.
        let ranksOf = { processes(startingWith: SparrowProcess.binary + " generate grid2d --n 1500") }
        outcome = try interrupt(["generate", "grid2d", "--n", "1500", "-o", "big.mtx", "--quiet"], ranks: 2, signal: 0, directory: s.path) {
            guard temporary(), ranksOf().count == 2 else { return false }
            for rank in ranksOf() { kill(rank, SIGTERM) }
            return true
        }
        XCTAssertNotEqual(outcome.status, 0, outcome.stderr)
        XCTAssertEqual(s.entries, [], "no output, no temporary when each rank is signalled")
    }

    /// PCG, ot and complete with --checkpoint: SIGTERM writes the checkpoint at the next safe
    /// point (exit 143), and --resume at another rank count reaches an answer checked here.
    func testCheckpointingVerbsStopResumablyAndResumeAtAnotherRankCount() throws {
        let s = ScratchDirectory()
        XCTAssertEqual(SparrowProcess.run(["generate", "grid2d", "--n", "300", "--shift", "0.0001", "-o", s.join("L.mtx"), "--quiet"]).status, 0)
        let pcg = ["solve", "L.mtx", "--method", "pcg", "--preconditioner", "none", "--tol", "1e-10", "--max-iterations", "100000",
                   "--rhs", "random:1", "--checkpoint", "ck", "--every", "5", "-o", "x.mtx", "--quiet"]
        var outcome = try interrupt(pcg, ranks: 2, signal: SIGUSR1, directory: s.path) { FileManager.default.fileExists(atPath: s.join("ck/pcg.x.mtx")) }
        XCTAssertEqual(outcome.status, 143, outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains("stopped by SIGTERM at iteration") && outcome.stderr.contains("ck/pcg.x.mtx"), outcome.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: s.join("x.mtx")))
        let resumed = SparrowProcess.run(pcg + ["--resume", "--report", "r.json"], ranks: 3, directory: s.path)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertGreaterThan((readJSON(s.join("r.json"))?["metrics"] as? [String: Any])?["resumed_at_iteration"] as? Int ?? 0, 0)
        // The residual of the written solution against the seeded right-hand side (written by a one-rank run), with plain loops.
        let plain = SparrowProcess.run(Array(pcg.prefix(12)) + ["-o", "plain.mtx", "--quiet"], directory: s.path)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let a = try NaiveMatrix(path: s.join("L.mtx")), x = try NaiveMatrix(path: s.join("x.mtx")).entries.map(\.value)
        let reference = try NaiveMatrix(path: s.join("plain.mtx")).entries.map(\.value)
        var ax = [Double](repeating: 0, count: x.count), ar = [Double](repeating: 0, count: x.count)
        for (i, j, v) in a.entries { ax[i] += v * x[j]; ar[i] += v * reference[j] }
        // Both solve L x = b to 1e-10: their images agree to about that, relative to b.
        let difference = zip(ax, ar).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot(), size = ar.map { $0 * $0 }.reduce(0, +).squareRoot()
        XCTAssertLessThan(difference / size, 1e-9)

        // ot at 1 rank, stopped, resumed at 2: the same duals as a run never stopped.
        try TransportCLITests.writeArray(TransportCLITests.randomCost(150, 120, seed: 21), rows: 150, columns: 120, to: s.join("C.mtx"))
        let ot = ["ot", "--cost", "C.mtx", "--eta", "400", "--method", "sinkhorn", "--tol", "1e-10", "--checkpoint", "ot-ck", "--every", "50", "--quiet"]
        outcome = try interrupt(ot + ["--duals", "d.mtx"], directory: s.path) { FileManager.default.fileExists(atPath: s.join("ot-ck/ot.state")) }
        XCTAssertEqual(outcome.status, 143, outcome.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: s.join("d.mtx")))
        XCTAssertEqual(SparrowProcess.run(ot + ["--duals", "d.mtx", "--resume"], ranks: 2, directory: s.path).status, 0)
        XCTAssertEqual(SparrowProcess.run(Array(ot.prefix(9)) + ["--duals", "never-stopped.mtx", "--quiet"], directory: s.path).status, 0)
        let stopped = try NaiveMatrix(path: s.join("d.mtx")).entries.map(\.value)
        let neverStopped = try NaiveMatrix(path: s.join("never-stopped.mtx")).entries.map(\.value)
        XCTAssertLessThan(zip(stopped, neverStopped).map { abs($0 - $1) }.max() ?? 1, 1e-10)
    }

    /// Finding 7: a checkpoint with a dual of 1e308 is refused (not iterated on, not overwritten);
    /// a completion checkpoint made from other ratings of the same shape is refused.
    func testAResumeRefusesACheckpointThatIsNotTheRunsOrNotFinite() throws {
        let s = ScratchDirectory()
        try TransportCLITests.writeArray(TransportCLITests.randomCost(40, 30, seed: 2), rows: 40, columns: 30, to: s.join("C.mtx"))
        let ot = ["ot", "--cost", "C.mtx", "--eta", "100", "--checkpoint", "ck", "--every", "1", "--max-iterations", "6", "--quiet"]
        XCTAssertEqual(SparrowProcess.run(ot, directory: s.path).status, 1, "stops unconverged after 6 iterations, recorded")
        let duals = try XCTUnwrap(s.entries.isEmpty ? nil : (try FileManager.default.contentsOfDirectory(atPath: s.join("ck"))).first { $0.hasSuffix(".duals.mtx") })
        var lines = try String(contentsOfFile: s.join("ck/" + duals), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let first = try XCTUnwrap(lines.firstIndex { !$0.hasPrefix("%") }) + 1
        lines[first + 2] = "1e308"
        try lines.joined(separator: "\n").write(toFile: s.join("ck/" + duals), atomically: true, encoding: .utf8)
        let before = FileManager.default.contents(atPath: s.join("ck/" + duals))
        for ranks in [1, 2] {
            let outcome = SparrowProcess.run(ot.map { $0 == "6" ? "50" : $0 } + ["--resume"], ranks: ranks == 1 ? nil : 2, directory: s.path)
            XCTAssertEqual(outcome.status, 2, outcome.stderr)
            XCTAssertEqual(outcome.stderrLines.count, 1, outcome.stderr)
            XCTAssertTrue(outcome.stderr.contains("overflows") && outcome.stderr.contains(duals), outcome.stderr)
            XCTAssertEqual(FileManager.default.contents(atPath: s.join("ck/" + duals)), before, "the checkpoint is left as it was")
        }
        // Completion: the same shape and count, other values.
        var a = "%%MatrixMarket matrix coordinate real general\n10 8 30\n", b = a
        var random = SeededRandom(4), seen = Set<Int>()
        while seen.count < 30 {
            let (i, j) = (Int(random.next() % 10), Int(random.next() % 8))
            if seen.insert(i * 8 + j).inserted { a += "\(i + 1) \(j + 1) 3\n"; b += "\(i + 1) \(j + 1) 4\n" }
        }
        try a.write(toFile: s.join("a.mtx"), atomically: true, encoding: .utf8)
        try b.write(toFile: s.join("b.mtx"), atomically: true, encoding: .utf8)
        let complete = ["complete", "--rank", "2", "--sweeps", "3", "--checkpoint", "cc", "--quiet"]
        XCTAssertEqual(SparrowProcess.run(complete + ["a.mtx"], directory: s.path).status, 0)
        for ranks in [1, 2] {
            let outcome = SparrowProcess.run(complete + ["b.mtx", "--resume"], ranks: ranks == 1 ? nil : 2, directory: s.path)
            XCTAssertEqual(outcome.status, 2, outcome.stderr)
            XCTAssertTrue(outcome.stderr.contains("was made from other ratings"), outcome.stderr)
        }
        XCTAssertEqual(SparrowProcess.run(complete + ["a.mtx", "--resume"], ranks: 2, directory: s.path).status, 0, "its own data resumes")
    }
}
