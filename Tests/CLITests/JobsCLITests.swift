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

    func testEveryExampleRunsAtTwoRanksAndMatchesDocsJobs() throws {
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
        let outcome = SparrowProcess.run(["serve", "--spool", spool, "--exit-when-idle", "--poll", "0.1", "--quiet"], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let done = (try? FileManager.default.contentsOfDirectory(atPath: spool + "/done")) ?? []
        let failed = (try? FileManager.default.contentsOfDirectory(atPath: spool + "/failed")) ?? []
        XCTAssertEqual(done.filter { $0.hasSuffix(".yaml") }.sorted(), (0..<7).map { "job\($0).yaml" })
        XCTAssertEqual(failed.filter { $0.hasSuffix(".yaml") }.sorted(), ["broken1.yaml", "broken2.yaml", "broken3.yaml"])
        for k in 0..<7 {
            XCTAssertTrue(done.contains("job\(k).report.json") && done.contains("job\(k).log"))
            XCTAssertEqual(readJSON(spool + "/done/job\(k).report.json")?["command"] as? String, "run")
        }
        let log1 = (try? String(contentsOfFile: spool + "/failed/broken1.log", encoding: .utf8)) ?? ""
        XCTAssertTrue(log1.contains("got 'nonsense'"), log1)
        let log2 = (try? String(contentsOfFile: spool + "/failed/broken2.log", encoding: .utf8)) ?? ""
        XCTAssertTrue(log2.contains("/nonexistent.mtx does not exist"), log2)
        let log3 = (try? String(contentsOfFile: spool + "/failed/broken3.log", encoding: .utf8)) ?? ""
        XCTAssertTrue(log3.contains("singular"), log3)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: spool + "/incoming")) ?? ["?"], [])
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: spool + "/running")) ?? ["?"], [])
        for k in 0..<7 {
            let x = try MatrixMarket.readDense(path: spool + "/output/job\(k)/x.mtx")
            XCTAssertEqual(x.rows, (10 + k) * (10 + k))
            XCTAssertLessThanOrEqual(x.values.map { abs($0 - 1) }.max() ?? 1, 1e-10)
            XCTAssertEqual(readJSON(spool + "/output/job\(k)/f.json")?["nnz"] as? Int, 1061)
        }
    }
}
