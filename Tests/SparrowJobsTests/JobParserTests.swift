import Foundation
import SparrowCore
@testable import SparrowJobs
import XCTest

let jobFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/jobs").path
let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("docs/examples").path

final class JobParserTests: XCTestCase {
    func testEveryBrokenJobGivesItsErrorAtLineAndColumn() throws {
        let table = try String(contentsOfFile: jobFixtures + "/broken/cases.tsv", encoding: .utf8)
        let cases = table.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: "\t").map(String.init) }
        XCTAssertGreaterThanOrEqual(cases.count, 25)
        for c in cases {
            let path = jobFixtures + "/broken/" + c[0]
            let text = try String(contentsOfFile: path, encoding: .utf8)
            XCTAssertThrowsError(try JobParser.parse(text, file: path), c[0]) { error in
                let lines = (error as? SparrowError)?.lines ?? []
                XCTAssertTrue(lines.contains { $0.hasPrefix("\(path):\(c[1]): ") && $0.contains(c[2]) }, "\(c[0]): \(lines)")
            }
        }
    }

    func testAllProblemsAreReportedTogether() throws {
        let text = """
        defaults:
          threads: zero
        inputs:
          A: {path: missing.mtx}
        steps:
          - {name: B, op: spgemm, a: A, b: Q}
          - {name: C, op: frobnicate}
        outputs:
          B: ../b.mtx
        """
        XCTAssertThrowsError(try JobParser.parse(text, file: "/tmp/j.yaml")) { error in
            let lines = (error as? SparrowError)?.lines ?? []
            XCTAssertEqual(lines.count, 5, "\(lines)")
            XCTAssertTrue(lines.contains { $0.contains("'Q' is not defined") })
            XCTAssertTrue(lines[0].hasPrefix("/tmp/j.yaml:2:12: defaults.threads"), "\(lines)")
            XCTAssertTrue(lines.contains { $0.contains("missing.mtx does not exist") })
            XCTAssertTrue(lines.contains { $0.contains("got 'frobnicate'") })
            XCTAssertTrue(lines.contains { $0.contains("leaves the output directory") })
            XCTAssertEqual((error as? SparrowError)?.exitCode, 2)
        }
    }

    func testExamplesValidateAndStepsComeInDependencyOrder() throws {
        for name in ["spgemm-and-solve", "batch-solve", "pcg", "transforms"] {
            let path = examples + "/\(name).yaml"
            let plan = try JobParser.parse(try String(contentsOfFile: path, encoding: .utf8), file: path)
            var seen = Set(plan.inputs.map(\.name))
            for step in plan.steps {
                XCTAssertTrue(step.operation.uses.allSatisfy { seen.contains($0) }, "\(name): \(step.name)")
                seen.insert(step.name)
            }
            XCTAssertFalse(plan.outputs.isEmpty)
        }
        // Out-of-order steps are reordered, not rejected.
        let text = """
        inputs: {A: {generate: {kind: grid2d, n: 4}}}
        steps:
          - {name: D, op: spgemm, a: C, b: C}
          - {name: C, op: transpose, matrix: A}
        """
        let plan = try JobParser.parse(text, file: "/tmp/order.yaml")
        XCTAssertEqual(plan.steps.map(\.name), ["C", "D"])
    }

    func testOutputPathsStayInside() {
        XCTAssertEqual(JobParser.normalizedInside("a/./b/../c.mtx"), "a/c.mtx")
        XCTAssertNil(JobParser.normalizedInside("../x.mtx"))
        XCTAssertNil(JobParser.normalizedInside("a/../../x.mtx"))
        XCTAssertNil(JobParser.normalizedInside("/etc/passwd"))
        XCTAssertNil(JobParser.normalizedInside("."))
    }
}
