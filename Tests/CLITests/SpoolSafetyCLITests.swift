import Foundation
import SparrowCore
import XCTest

/// The spool service cannot lose or leak data: hostile names, planted links,
/// FIFOs, inputs outside the allowed directories, a name submitted twice, and
/// a job that kills its worker twice.
final class SpoolSafetyCLITests: XCTestCase {
    let fixtures = SparrowProcess.fixtures

    /// Written elsewhere and moved in, as users should.
    private func submit(_ spool: String, _ name: String, _ text: String) throws {
        let temporary = spool + "/.submit-" + UUID().uuidString
        try text.write(toFile: temporary, atomically: true, encoding: .utf8)
        XCTAssertEqual(rename(temporary, spool + "/incoming/" + name), 0)
    }

    private func listing(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    /// Every file under `root` with its contents (symlinks as their targets), to prove nothing changed.
    private func snapshot(_ root: String) -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            let path = root + "/" + relative
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                files[relative] = Data(("link:" + target).utf8)
            } else {
                files[relative] = FileManager.default.contents(atPath: path) ?? Data("dir".utf8)
            }
        }
        return files
    }

    private func serve(_ spool: String, _ extra: [String] = [], ranks: Int = 2) -> SparrowProcess.Outcome {
        SparrowProcess.run(["serve", "--spool", spool, "--exit-when-idle", "--poll", "0.1", "--quiet"] + extra, ranks: ranks, timeout: 120)
    }

    func testHostileSubmissionsAreRejectedAndNothingOutsideTheSpoolChanges() throws {
        let scratch = ScratchDirectory()
        let spool = scratch.join("spool"), outside = scratch.join("outside"), allowed = scratch.join("allowed")
        for directory in [spool + "/incoming", outside + "/private", allowed] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        try "do not touch".write(toFile: outside + "/canary.txt", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: fixtures + "/west0067.mtx", toPath: outside + "/private/secret.mtx")
        try FileManager.default.copyItem(atPath: fixtures + "/west0067.mtx", toPath: allowed + "/west0067.mtx")
        try FileManager.default.copyItem(atPath: fixtures + "/bcsstk13.mtx", toPath: allowed + "/bcsstk13.mtx")
        let before = snapshot(outside)

        let valid = "inputs: {A: {path: \(allowed)/west0067.mtx}}\nsteps: [{name: f, op: info, matrix: A}]\noutputs: {f: f.json}\n"
        try submit(spool, "...yaml", valid)                 // would be job '..': the spool itself
        try submit(spool, ".hidden.yaml", valid)
        try submit(spool, "a b.yaml", valid)
        try submit(spool, "x\u{1E}y.yaml", valid)
        // A crafted job name inside the file ("a/b", "..") never reaches a path: files are keyed by the ID.
        try submit(spool, "named.yaml", "job: ../../a/b\n" + valid)
        try submit(spool, "steal.yaml", "inputs: {A: {path: \(outside)/private/secret.mtx}}\nsteps: [{name: f, op: info, matrix: A}]\noutputs: {f: f.json}\n")
        XCTAssertEqual(symlink(outside + "/canary.txt", spool + "/incoming/link.yaml"), 0)
        XCTAssertEqual(mkfifo(spool + "/incoming/fifo.yaml", 0o644), 0)
        // Links planted where a job's output and checkpoint directories would go if IDs were a plain count
        // (same.yaml is the sixth entry in name order).
        for directory in ["output", "checkpoints"] {
            try FileManager.default.createDirectory(atPath: spool + "/" + directory, withIntermediateDirectories: true)
            XCTAssertEqual(symlink(outside, spool + "/\(directory)/000006-same"), 0)
        }
        try submit(spool, "same.yaml", valid)

        var outcome = serve(spool, ["--allow-inputs", allowed])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        var failed = listing(spool + "/failed")
        let logs = failed.filter { $0.hasSuffix(".log") }.map { (try? String(contentsOfFile: spool + "/failed/" + $0, encoding: .utf8)) ?? "" }
        for reason in ["job name '..' must start with a letter or digit", "job name '.hidden' must start with a letter or digit",
                       "job name 'a b' may contain only letters", "job name 'x\u{1E}y' may contain only letters",
                       "'link.yaml' is not a regular file", "'fifo.yaml' is not a regular file",
                       "is outside the directories this service allows"] {
            XCTAssertEqual(logs.filter { $0.contains(reason) }.count, 1, "one rejection for: \(reason)\n\(logs)")
        }
        XCTAssertEqual(listing(spool + "/incoming"), [])
        let done = listing(spool + "/done")
        XCTAssertEqual(done.count, 6, "\(done)")
        let firstID = String(done.first { $0.hasSuffix("-same.yaml") }?.dropLast(5) ?? "")
        let namedID = String(done.first { $0.hasSuffix("-named.yaml") }?.dropLast(5) ?? "")
        XCTAssertEqual(done, [namedID + ".log", namedID + ".report.json", namedID + ".yaml", firstID + ".log", firstID + ".report.json", firstID + ".yaml"])
        XCTAssertEqual(readJSON(spool + "/output/\(namedID)/f.json")?["nnz"] as? Int, 294)
        XCTAssertNotEqual(firstID, "000006-same", "IDs skip every name already in the spool, planted ones too")
        XCTAssertEqual(readJSON(spool + "/output/\(firstID)/f.json")?["nnz"] as? Int, 294)
        XCTAssertEqual(System.entryKind(spool + "/output/\(firstID)"), .directory)

        // The same name again, with another input: a new ID, and the first result stays as it was.
        let first = snapshot(spool + "/output/\(firstID)")
        try submit(spool, "same.yaml", valid.replacingOccurrences(of: "west0067", with: "bcsstk13"))
        outcome = serve(spool, ["--allow-inputs", allowed])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let second = listing(spool + "/done").filter { $0.hasSuffix("-same.yaml") }.sorted()
        XCTAssertEqual(second.count, 2, "\(second)")
        let secondID = String(second.last?.dropLast(5) ?? "")
        XCTAssertNotEqual(secondID, firstID)
        XCTAssertEqual(readJSON(spool + "/output/\(secondID)/f.json")?["nnz"] as? Int, 83883)
        XCTAssertEqual(snapshot(spool + "/output/\(firstID)"), first, "an earlier result never changes")

        XCTAssertEqual(snapshot(outside), before, "nothing outside the spool is written or deleted")
        failed = listing(spool + "/failed")
        XCTAssertTrue(failed.contains { $0.hasSuffix(".rejected") }, "rejected entries kept for the operator: \(failed)")
    }

    /// A checkpoint write that fails on the one rank that solved an item: the job fails
    /// with the reason, every rank carries on, and the next job runs (2 and 3 ranks).
    func testACheckpointWriteFailingOnOneRankFailsTheJobNotTheService() throws {
        for ranks in [2, 3] {
            let scratch = ScratchDirectory()
            let spool = scratch.join("spool")
            try FileManager.default.createDirectory(atPath: spool + "/incoming", withIntermediateDirectories: true)
            // The state a crash leaves: the job in running/ with one start recorded and its checkpoint directory.
            try FileManager.default.createDirectory(atPath: spool + "/running", withIntermediateDirectories: true)
            try "1\n".write(toFile: spool + "/running/000001-a-batch.attempts", atomically: true, encoding: .utf8)
            try """
            inputs: {g0: {generate: {kind: grid2d, n: 6, shift: 1}}, g1: {generate: {kind: grid2d, n: 7, shift: 1}},
                     g2: {generate: {kind: grid2d, n: 8, shift: 1}}}
            steps: [{name: s, op: solve_many, matrices: [g0, g1, g2], rhs: rowsums, method: cholesky}]
            outputs: {s: s.mtx}
            """.write(toFile: spool + "/running/000001-a-batch.yaml", atomically: true, encoding: .utf8)
            try submit(spool, "b-next.yaml", "inputs: {G: {generate: {kind: grid2d, n: 5, shift: 1}}}\nsteps: [{name: f, op: info, matrix: G}]\noutputs: {f: f.json}\n")
            // Item 1's checkpoint file cannot be written: a directory holds its name.
            try FileManager.default.createDirectory(atPath: spool + "/checkpoints/000001-a-batch/s.item1.x.mtx", withIntermediateDirectories: true)
            let outcome = serve(spool, ranks: ranks)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            let log = (try? String(contentsOfFile: spool + "/failed/000001-a-batch.log", encoding: .utf8)) ?? ""
            XCTAssertTrue(log.contains("error: ") && log.contains("s.item1.x.mtx"), "ranks \(ranks): \(log)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: spool + "/output/000001-a-batch/s.mtx"), "no output from the failed job")
            XCTAssertEqual(readJSON(spool + "/output/000002-b-next/f.json")?["rows"] as? Int, 25, "the next job ran")
            XCTAssertEqual(listing(spool + "/running"), [])
        }
    }

    func testAJobThatKillsItsWorkerTwiceIsFailedAndTheNextJobRuns() throws {
        let scratch = ScratchDirectory()
        let spool = scratch.join("spool")
        try FileManager.default.createDirectory(atPath: spool + "/incoming", withIntermediateDirectories: true)
        // A job that never finishes by itself: a tolerance no PCG reaches in double precision (the old
        // job, tol 1e-14, converged in 436 iterations, 0.3 s: a restarted worker sometimes finished it
        // before the test's second kill, so the test failed by timing — finding 11).
        try submit(spool, "a-slow.yaml", """
        inputs: {L: {generate: {kind: grid3d, n: 40, shift: 0.00001}}}
        steps:
          - {name: x, op: pcg, matrix: L, rhs: random:1, preconditioner: none, tol: 1.0e-300, max_iterations: 10000000}
        """)
        try submit(spool, "b-quick.yaml", "inputs: {G: {generate: {kind: grid2d, n: 5, shift: 1}}}\nsteps: [{name: f, op: info, matrix: G}]\noutputs: {f: f.json}\n")
        let service = try SupervisedService(spool: spool, maxFailures: 5, window: 300)
        let supervisor = service.process, drained = service.errors
        var kills = 0
        var earlierWorkers: Set<pid_t> = []
        let deadline = Date().addingTimeInterval(180)
        // Each time a fresh worker has recorded its start of the slow job (start kills + 1), kill one of its ranks.
        while kills < 2, Date() < deadline, supervisor.isRunning {
            let starts = (try? String(contentsOfFile: spool + "/running/000001-a-slow.attempts", encoding: .utf8))
                .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
            let ranks = service.ranks
            if starts == kills + 1, ranks.count == 2, earlierWorkers.isDisjoint(with: ranks) {
                usleep(300_000)
                kill(ranks[0], SIGKILL)
                kills += 1
                earlierWorkers.formUnion(ranks)
            }
            usleep(20_000)
        }
        XCTAssertEqual(kills, 2, "the slow job's worker was killed twice")
        while supervisor.isRunning, Date() < deadline { usleep(50_000) }
        if supervisor.isRunning { supervisor.terminate(); XCTFail("supervisor did not finish") }
        supervisor.waitUntilExit()
        let state = ["running", "done", "failed"].map { "\($0): \(listing(spool + "/" + $0))" }.joined(separator: "; ")
        let finished = ["done", "failed"].compactMap { try? String(contentsOfFile: spool + "/\($0)/000001-a-slow.report.json", encoding: .utf8) }
        let log = drained.text() + "\nspool: " + state + "\n" + finished.joined(separator: "\n")
        XCTAssertEqual(supervisor.terminationStatus, 0, log)
        XCTAssertTrue(listing(spool + "/failed").contains("000001-a-slow.yaml"), log)
        let reason = (try? String(contentsOfFile: spool + "/failed/000001-a-slow.log", encoding: .utf8)) ?? ""
        XCTAssertTrue(reason.contains("not resumed again"), reason)
        XCTAssertTrue(listing(spool + "/done").contains("000002-b-quick.yaml"), log)
        XCTAssertEqual(readJSON(spool + "/output/000002-b-quick/f.json")?["rows"] as? Int, 25)
        XCTAssertEqual(listing(spool + "/running"), [])
    }
}
