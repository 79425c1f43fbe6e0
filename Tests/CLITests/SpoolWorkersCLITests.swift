import Foundation
import SparrowCore
import XCTest

/// A spool shared by several workers, jobs that crash their workers, and jobs
/// that run with their submitter's rights. Every expectation is read off the
/// file system (listings, owners, modes, outputs), not off the service's log.
final class SpoolWorkersCLITests: XCTestCase {
    private func submit(_ spool: String, _ name: String, _ text: String, owner: uid_t? = nil) throws {
        let temporary = spool + "/.submit-" + UUID().uuidString
        try text.write(toFile: temporary, atomically: true, encoding: .utf8)
        if let owner { XCTAssertEqual(chown(temporary, owner, owner), 0) }
        XCTAssertEqual(rename(temporary, spool + "/incoming/" + name), 0)
    }

    private func listing(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    private func makeSpool(_ scratch: ScratchDirectory) throws -> String {
        let spool = scratch.join("spool")
        try FileManager.default.createDirectory(atPath: spool + "/incoming", withIntermediateDirectories: true)
        return spool
    }

    static let quickJob = "inputs: {G: {generate: {kind: grid2d, n: 3, shift: 1}}}\nsteps: [{name: f, op: info, matrix: G}]\noutputs: {f: f.json}\n"

    /// Every valid job done exactly once under a unique ID, nothing failed or left running.
    private func assertAllDoneOnce(_ spool: String, names: [String], file: StaticString = #filePath, line: UInt = #line) {
        let done = listing(spool + "/done").filter { $0.hasSuffix(".yaml") }
        let ids = done.map { String($0.dropLast(5)) }
        XCTAssertEqual(Set(ids.map { $0.prefix(6) }).count, ids.count, "unique sequence numbers", file: file, line: line)
        XCTAssertEqual(ids.map { String($0.dropFirst(7)) }.sorted(), names.sorted(), "each job done once", file: file, line: line)
        for id in ids {
            XCTAssertEqual(readJSON(spool + "/output/\(id)/f.json")?["rows"] as? Int, 9, "\(id)'s output", file: file, line: line)
        }
        XCTAssertEqual(listing(spool + "/running"), [], "nothing left in running/", file: file, line: line)
    }

    func testConcurrentWorkersRunEveryJobOnceUnderUniqueIDs() throws {
        for workers in [2, 3, 4] {
            let scratch = ScratchDirectory()
            let spool = try makeSpool(scratch)
            let names = (1...100).map { String(format: "job-%03d", $0) }
            for name in names { try submit(spool, name + ".yaml", Self.quickJob) }
            // Started at once; one of them is a 2-rank worker.
            let group = DispatchGroup()
            let statuses = SharedStatuses(count: workers)
            for w in 0..<workers {
                group.enter()
                DispatchQueue.global().async {
                    let outcome = SparrowProcess.run(["serve", "--spool", spool, "--exit-when-idle", "--poll", "0.05", "--quiet"],
                                                     ranks: w == 0 ? 2 : nil, timeout: 300)
                    statuses.set(w, outcome.status, outcome.stderr)
                    group.leave()
                }
            }
            group.wait()
            for w in 0..<workers { XCTAssertEqual(statuses.status(w), 0, "worker \(w) of \(workers): \(statuses.stderr(w))") }
            assertAllDoneOnce(spool, names: names)
            XCTAssertEqual(listing(spool + "/failed"), [], "no false failure with \(workers) workers")
        }
    }

    /// Findings 1 and 11: two jobs that crash their workers, placed first, are failed with the crash
    /// line; the supervisor goes on, and the 100 valid jobs after them are done once each.
    func testCrashingJobsFirstDoNotStopTheSupervisedService() throws {
        let scratch = ScratchDirectory()
        let spool = try makeSpool(scratch)
        let crash = "inputs: {G: {generate: {kind: grid2d, n: 3}}}\nsteps: [{name: boom, op: info, matrix: G}]\n"
        try submit(spool, "a-crash.yaml", crash)
        try submit(spool, "b-crash.yaml", crash)
        let names = (1...100).map { String(format: "job-%03d", $0) }
        for name in names { try submit(spool, name + ".yaml", Self.quickJob) }
        let service = try SupervisedService(spool: spool, maxFailures: 2, window: 300, environment: ["SPARROW_FAULT_INJECTION": "crash-in-step:boom"])
        let deadline = Date().addingTimeInterval(300)
        while service.process.isRunning, Date() < deadline { usleep(50_000) }
        if service.process.isRunning { service.process.terminate(); XCTFail("the supervisor did not finish") }
        service.process.waitUntilExit()
        let log = service.errors.text()
        XCTAssertEqual(service.process.terminationStatus, 0, log)
        let failed = listing(spool + "/failed")
        for name in ["a-crash", "b-crash"] {
            let id = try XCTUnwrap(failed.first { $0.hasSuffix("-\(name).yaml") }.map { String($0.dropLast(5)) }, "\(failed)\n\(log)")
            let reason = (try? String(contentsOfFile: spool + "/failed/\(id).log", encoding: .utf8)) ?? ""
            XCTAssertTrue(reason.contains("crashed its workers") && reason.contains("SIGILL"), reason)
        }
        assertAllDoneOnce(spool, names: names)
    }

    /// Finding 10: as root, a job owned by one uid may read only what that uid may read, and its
    /// outputs, log and report are that uid's alone. (Skipped where the suite is not root.)
    func testJobsRunWithTheirSubmittersRights() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to own files by other uids") }
        let (alice, bob): (uid_t, uid_t) = (50_001, 50_002)
        let scratch = ScratchDirectory()
        let spool = try makeSpool(scratch)
        let data = scratch.join("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        for (name, mode) in [("secret.mtx", mode_t(0o600)), ("public.mtx", mode_t(0o644))] {
            try FileManager.default.copyItem(atPath: SparrowProcess.fixtures + "/west0067.mtx", toPath: data + "/" + name)
            XCTAssertEqual(chown(data + "/" + name, bob, bob), 0)
            XCTAssertEqual(chmod(data + "/" + name, mode), 0)
        }
        // A shared incoming/ must carry the sticky bit.
        XCTAssertEqual(chmod(spool + "/incoming", 0o777), 0)
        var outcome = SparrowProcess.run(["serve", "--spool", spool, "--allow-inputs", data, "--exit-when-idle", "--quiet"])
        XCTAssertEqual(outcome.status, 2)
        XCTAssertTrue(outcome.stderr.contains("lacks the sticky bit"), outcome.stderr)
        XCTAssertEqual(chmod(spool + "/incoming", 0o1777), 0)
        let job = { (input: String) in "inputs: {A: {path: \(data)/\(input)}}\nsteps: [{name: f, op: info, matrix: A}]\noutputs: {f: f.json}\n" }
        try submit(spool, "steal.yaml", job("secret.mtx"), owner: alice)
        try submit(spool, "mine.yaml", job("public.mtx"), owner: alice)
        outcome = SparrowProcess.run(["serve", "--spool", spool, "--allow-inputs", data, "--exit-when-idle", "--quiet"], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let stolen = try XCTUnwrap(listing(spool + "/failed").first { $0.hasSuffix("-steal.log") })
        let reason = (try? String(contentsOfFile: spool + "/failed/" + stolen, encoding: .utf8)) ?? ""
        XCTAssertTrue(reason.contains("not readable by the job's submitter"), reason)
        let id = try XCTUnwrap(listing(spool + "/done").first { $0.hasSuffix("-mine.yaml") }.map { String($0.dropLast(5)) })
        XCTAssertEqual(readJSON(spool + "/output/\(id)/f.json")?["nnz"] as? Int, 294, "the job read the 0644 input")
        for (path, mode) in [("output/\(id)", 0o700), ("output/\(id)/f.json", 0o600), ("done/\(id).log", 0o600), ("done/\(id).report.json", 0o600)] {
            var info = stat()
            XCTAssertEqual(lstat(spool + "/" + path, &info), 0, path)
            XCTAssertEqual(info.st_uid, alice, "\(path) belongs to the submitter")
            XCTAssertEqual(Int(info.st_mode & 0o777), mode, "\(path)'s mode")
        }
        // Read as the other uid, by the kernel's rules (setpriv is util-linux's, on every Debian).
        for path in ["output/\(id)/f.json", "done/\(id).log", "done/\(id).report.json"] {
            let read = Process()
            read.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            read.arguments = ["--reuid=\(bob)", "--regid=\(bob)", "--clear-groups", "/bin/cat", spool + "/" + path]
            read.standardOutput = FileHandle.nullDevice
            read.standardError = FileHandle.nullDevice
            try read.run()
            read.waitUntilExit()
            XCTAssertNotEqual(read.terminationStatus, 0, "uid \(bob) cannot read \(path)")
        }
    }
}

/// Exit statuses and standard error of concurrent workers.
final class SharedStatuses: @unchecked Sendable {
    private var values: [(Int32, String)]
    private let lock = NSLock()
    init(count: Int) { values = Array(repeating: (-1, ""), count: count) }
    func set(_ index: Int, _ status: Int32, _ stderr: String) { lock.lock(); values[index] = (status, stderr); lock.unlock() }
    func status(_ index: Int) -> Int32 { lock.lock(); defer { lock.unlock() }; return values[index].0 }
    func stderr(_ index: Int) -> String { lock.lock(); defer { lock.unlock() }; return values[index].1 }
}
