import Foundation
import XCTest

/// Every verb's report, `sparrow run`'s report and a spool job record carry
/// the provenance of docs/provenance.md, checked against references taken
/// another way (coreutils' sha256sum, git, mpirun --version, SuiteSparse's
/// header, the verb's own --help); `sparrow verify` finds one changed byte.
final class ProvenanceCLITests: XCTestCase {
    let fixtures = SparrowProcess.fixtures
    let examples = SparrowProcess.packageRoot + "/docs/examples"

    private func command(_ executable: String, _ arguments: [String]) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : ""
    }

    private func sha256sum(_ path: String) -> String { String(command("/usr/bin/sha256sum", [path]).prefix(64)) }

    /// The verb's long flags as its --help lists them under OPTIONS (an option's line starts with
    /// two spaces and a dash; help and version aside), snake_case.
    private func flags(_ verb: String) -> [String] {
        let help = SparrowProcess.run([verb, "--help"]).stdout
        let names = help.split(separator: "\n").filter { $0.hasPrefix("  -") }.compactMap { line in
            line.split(whereSeparator: { " ,".contains($0) }).first { $0.hasPrefix("--") }.map { String($0.dropFirst(2)) }
        }
        XCTAssertGreaterThan(names.count, 3, verb)
        return names.filter { !["help", "version"].contains($0) }.map { $0.replacingOccurrences(of: "-", with: "_") }
    }

    private lazy var expectedLibraries: [String: String] = {
        // "mpirun (Open MPI) 4.1.4" and SuiteSparse_config.h's version macros.
        let mpirun = command("/usr/bin/mpirun", ["--version"]).split(separator: "\n").first.map(String.init) ?? ""
        let header = (try? String(contentsOfFile: "/usr/include/suitesparse/SuiteSparse_config.h", encoding: .utf8)) ?? ""
        func macro(_ name: String) -> String {
            header.split(separator: "\n").first { $0.hasPrefix("#define \(name) ") }?.split(separator: " ").last.map(String.init) ?? "?"
        }
        return ["openmpi": String(mpirun.split(separator: " ").last ?? ""),
                "suitesparse": "\(macro("SUITESPARSE_MAIN_VERSION")).\(macro("SUITESPARSE_SUB_VERSION")).\(macro("SUITESPARSE_SUBSUB_VERSION"))"]
    }()

    private lazy var gitHead: String? = {
        let head = command("/usr/bin/git", ["-C", SparrowProcess.packageRoot, "rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
        return head.count == 40 ? head : nil
    }()

    /// Checks one report's provenance; `files`: input name → file the verb read.
    private func checkProvenance(_ report: [String: Any]?, verb: String, ranks: Int, files: [String: String], seed: Int? = nil,
                                 began: Date, file: StaticString = #filePath, line: UInt = #line) {
        guard let provenance = report?["provenance"] as? [String: Any] else { return XCTFail("\(verb): no provenance", file: file, line: line) }
        let version = SparrowProcess.run(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(provenance["version"] as? String, version, verb, file: file, line: line)
        let commit = provenance["commit"] as? String ?? ""
        if let gitHead { XCTAssertTrue(commit.hasPrefix(gitHead), "\(verb): commit \(commit), checkout \(gitHead)", file: file, line: line) }
        let libraries = provenance["libraries"] as? [String: Any] ?? [:]
        for (name, version) in expectedLibraries { XCTAssertEqual(libraries[name] as? String, version, "\(verb): \(name)", file: file, line: line) }
        for name in ["zlib", "bzip2", "xz", "openssl"] { XCTAssertNotNil(libraries[name] as? String, "\(verb): \(name)", file: file, line: line) }
        XCTAssertTrue(libraries["mumps"] is NSNull && libraries["hypre"] is NSNull, "\(verb): not linked, said so", file: file, line: line)
        let inputs = provenance["inputs"] as? [String: Any] ?? [:]
        XCTAssertEqual(Set(inputs.keys), Set(files.keys), verb, file: file, line: line)
        for (name, path) in files {
            let input = inputs[name] as? [String: Any] ?? [:]
            XCTAssertEqual(input["sha256"] as? String, sha256sum(path), "\(verb): \(name)", file: file, line: line)
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
            XCTAssertEqual(input["bytes"] as? Int, size, "\(verb): \(name)", file: file, line: line)
            XCTAssertEqual(input["absolute_path"] as? String, URL(fileURLWithPath: path).resolvingSymlinksInPath().path, file: file, line: line)
        }
        let options = provenance["options"] as? [String: Any] ?? [:]
        for flag in flags(verb) { XCTAssertNotNil(options[flag], "\(verb): option \(flag) after defaults", file: file, line: line) }
        // (A job's own defaults.threads may differ from the command line's: its plan records it.)
        if verb != "run", let threads = report?["threads"] as? Int { XCTAssertEqual(options["threads"] as? Int, threads, verb, file: file, line: line) }
        if let seed { XCTAssertEqual(provenance["seed"] as? Int, seed, verb, file: file, line: line) }
        XCTAssertEqual(provenance["ranks"] as? Int, ranks, verb, file: file, line: line)
        let host = command("/bin/uname", ["-n"]).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(provenance["host_of_rank"] as? [String], Array(repeating: host, count: ranks), verb, file: file, line: line)
        XCTAssertEqual(provenance["hosts"] as? [String], [host], "\(verb): hosts", file: file, line: line)
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let started = format.date(from: provenance["started"] as? String ?? "")
        let finished = format.date(from: provenance["finished"] as? String ?? "")
        XCTAssertNotNil(started, verb, file: file, line: line)
        if let started, let finished {
            XCTAssertLessThanOrEqual(started, finished, verb, file: file, line: line)
            XCTAssertGreaterThanOrEqual(started.timeIntervalSince(began), -1, verb, file: file, line: line)
            XCTAssertLessThanOrEqual(finished.timeIntervalSinceNow, 1, verb, file: file, line: line)
        }
    }

    func testEveryVerbReportsProvenanceAtOneAndTwoRanks() throws {
        let scratch = ScratchDirectory()
        let bcsstk = fixtures + "/bcsstk13.mtx", west = fixtures + "/west0067.mtx", graph = fixtures + "/fe_4elt2.mtx"
        let x = examples + "/data/clouds-x.mtx", y = examples + "/data/clouds-y.mtx"
        let train = examples + "/data/ratings-train.mtx", test = examples + "/data/ratings-test.mtx"
        let rhs = scratch.join("b.mtx")
        try "%%MatrixMarket matrix array real general\n67 1\n".appending(String(repeating: "1\n", count: 67)).write(toFile: rhs, atomically: true, encoding: .utf8)
        let cases: [(verb: String, arguments: [String], files: [String: String], seed: Int?)] = [
            ("info", [bcsstk], ["matrix": bcsstk], nil),
            ("generate", ["rmat", "--scale", "6", "--seed", "5", "-o", scratch.join("g.mtx")], [:], 5),
            ("convert", [west, "-o", scratch.join("w.petsc")], ["matrix": west], nil),
            ("spmv", [bcsstk, "-o", scratch.join("y.mtx")], ["a": bcsstk], nil),
            ("spgemm", [west, west, "-o", scratch.join("c.mtx")], ["a": west, "b": west], nil),
            ("solve", [west, "--method", "lu", "--rhs", rhs, "-o", scratch.join("x.mtx")], ["a": west, "rhs": rhs], nil),
            ("ot", ["--source-points", x, "--target-points", y, "--normalize", "--eta", "300", "--plan", scratch.join("p.mtx")],
             ["source_points": x, "target_points": y], nil),
            ("sparsify", [graph, "--density", "1.2", "--seed", "3", "-o", scratch.join("h.mtx")], ["graph": graph], 3),
            ("complete", [train, "--test", test, "--rank", "4", "--sweeps", "3", "--seed", "4", "-o", scratch.join("uv")],
             ["ratings": train, "test": test], 4),
            ("run", [examples + "/spgemm-and-solve.yaml", "--output-dir", scratch.join("out")],
             ["job": examples + "/spgemm-and-solve.yaml", "inputs.A": bcsstk], nil),
        ]
        for (verb, arguments, files, seed) in cases {
            for ranks in [1, 2] {
                let began = Date()
                let report = scratch.join("\(verb)-\(ranks).json")
                let outcome = SparrowProcess.run([verb] + arguments + ["--quiet", "--report", report], ranks: ranks)
                XCTAssertEqual(outcome.status, 0, "\(verb): \(outcome.stderr)")
                checkProvenance(readJSON(report), verb: verb, ranks: ranks, files: files, seed: seed, began: began)
            }
        }
        // A job's own options: its plan after defaults, and the seeds it holds.
        let job = readJSON(scratch.join("run-2.json"))?["provenance"] as? [String: Any]
        let steps = (job?["job"] as? [String: Any])?["steps"] as? [[String: Any]] ?? []
        XCTAssertEqual(steps.map { $0["name"] as? String ?? "" }, ["C", "C_figures", "x"])
        let solve = (steps.last?["operation"] as? [String: Any])?["solve"] as? [String: Any]
        XCTAssertEqual(solve?["ordering"] as? String, "amd", "a key the job file leaves out, after defaults")
        // verify's own report names the report it checked.
        let verified = scratch.join("verify.json")
        let outcome = SparrowProcess.run(["verify", scratch.join("spgemm-2.json"), "--quiet", "--report", verified], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        checkProvenance(readJSON(verified), verb: "verify", ranks: 2, files: ["report": scratch.join("spgemm-2.json")], began: Date(timeIntervalSinceNow: -60))
    }

    /// One changed byte in one of two inputs: verify names it, exit 1; restored, exit 0.
    func testVerifyReportsOneChangedByte() throws {
        let scratch = ScratchDirectory()
        let a = scratch.join("a.mtx"), b = scratch.join("b.mtx")
        try FileManager.default.copyItem(atPath: fixtures + "/west0067.mtx", toPath: a)
        try FileManager.default.copyItem(atPath: fixtures + "/west0067.mtx", toPath: b)
        let report = scratch.join("r.json")
        XCTAssertEqual(SparrowProcess.run(["spgemm", a, b, "-o", scratch.join("c.mtx"), "--quiet", "--report", report], ranks: 2).status, 0)
        for ranks in [1, 2] {
            let clean = SparrowProcess.run(["verify", report], ranks: ranks)
            XCTAssertEqual(clean.status, 0, clean.stderr)
            XCTAssertEqual(clean.stdout.split(separator: "\n").filter { $0.contains(": unchanged (sha256 ") }.count, 2, clean.stdout)
        }
        // One byte in the middle of b: a digit of a value, so the file stays a valid matrix.
        let original = try Data(contentsOf: URL(fileURLWithPath: b))
        var changed = original
        let half: Int = changed.count / 2
        let digit: Int = changed[half...].firstIndex { (48...56).contains($0) } ?? half
        changed[digit] += 1
        try changed.write(to: URL(fileURLWithPath: b))
        for ranks in [1, 2] {
            let outcome = SparrowProcess.run(["verify", report], ranks: ranks)
            XCTAssertEqual(outcome.status, 1, outcome.stderr)
            XCTAssertEqual(outcome.stderrLines, ["sparrow: error: \(report): 1 of 2 inputs not verified unchanged: b (changed)"])
            let lines = outcome.stdout.split(separator: "\n").map(String.init)
            XCTAssertTrue(lines.contains { $0.hasPrefix("b: ") && $0.contains("CHANGED: sha256 \(sha256sum(b).prefix(16))") }, outcome.stdout)
            XCTAssertTrue(lines.contains { $0.hasPrefix("a: ") && $0.contains("unchanged") }, outcome.stdout)
        }
        try original.write(to: URL(fileURLWithPath: b))
        XCTAssertEqual(SparrowProcess.run(["verify", report]).status, 0)
        // Declined digests: the report says so, and verify cannot vouch for the inputs.
        let declined = scratch.join("declined.json")
        let unhashed = SparrowProcess.run(["spgemm", a, b, "-o", scratch.join("d.mtx"), "--quiet", "--input-digests", "none", "--report", declined])
        XCTAssertEqual(unhashed.status, 0, unhashed.stderr)
        let recorded = (readJSON(declined)?["provenance"] as? [String: Any])?["inputs"] as? [String: [String: Any]]
        XCTAssertTrue(recorded?["a"]?["sha256"] is NSNull && recorded?["b"]?["sha256"] is NSNull, "\(recorded ?? [:])")
        let unverifiable = SparrowProcess.run(["verify", declined])
        XCTAssertEqual(unverifiable.status, 1)
        XCTAssertEqual(unverifiable.stderrLines, ["sparrow: error: \(declined): 2 of 2 inputs not verified unchanged: a (no digest recorded), b (no digest recorded)"])
        // Gone: unreadable, exit 1; a report that is not one: exit 2 with its line.
        try FileManager.default.removeItem(atPath: a)
        let missing = SparrowProcess.run(["verify", report])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderrLines, ["sparrow: error: \(report): 1 of 2 inputs not verified unchanged: a (unreadable)"])
        let broken = scratch.join("broken.json")
        try "{\"provenance\": {\"inputs\":\n  {\"a\": {\"path\": \"x\", \"sha256\": \"zz\"}}}}\n".write(toFile: broken, atomically: true, encoding: .utf8)
        let malformed = SparrowProcess.run(["verify", broken], ranks: 2)
        XCTAssertEqual(malformed.status, 2)
        XCTAssertEqual(malformed.stderrLines, ["sparrow: error: \(broken):2: provenance.inputs.a.sha256: expected 64 hex digits, got 'zz'"])
    }

    /// A spool job record: the job file (as filed in done/) and its input, hashed; verify agrees, then finds the change.
    func testSpoolJobRecordCarriesProvenanceAndVerifies() throws {
        let scratch = ScratchDirectory()
        let spool = scratch.join("spool")
        try FileManager.default.createDirectory(atPath: spool + "/incoming", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: spool + "/inputs", withIntermediateDirectories: true)
        let input = spool + "/inputs/west.mtx"
        try FileManager.default.copyItem(atPath: fixtures + "/west0067.mtx", toPath: input)
        let job = "job: p\ninputs:\n  A: \(input)\n  G: {generate: {kind: rmat, scale: 6, edge_factor: 4, seed: 9}}\nsteps:\n  - {name: C, op: spgemm, a: A, b: A}\noutputs:\n  C: C.mtx\n"
        try job.write(toFile: spool + "/incoming/p.yaml", atomically: true, encoding: .utf8)
        let began = Date()
        let outcome = SparrowProcess.run(["serve", "--spool", spool, "--exit-when-idle", "--poll", "0.05", "--quiet"], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let record = spool + "/done/000001-p.report.json"
        checkProvenance(readJSON(record), verb: "serve", ranks: 2, files: ["job": spool + "/done/000001-p.yaml", "inputs.A": input], began: began)
        let provenance = readJSON(record)?["provenance"] as? [String: Any]
        XCTAssertEqual((provenance?["seeds"] as? [String: Any])?.values.compactMap { $0 as? Int }, [9])
        XCTAssertEqual(SparrowProcess.run(["verify", record]).status, 0)
        try "%%MatrixMarket matrix coordinate real general\n1 1 1\n1 1 1\n".write(toFile: input, atomically: false, encoding: .utf8)
        let changed = SparrowProcess.run(["verify", record])
        XCTAssertEqual(changed.status, 1)
        XCTAssertEqual(changed.stderrLines, ["sparrow: error: \(record): 1 of 2 inputs not verified unchanged: inputs.A (changed)"])
    }
}
