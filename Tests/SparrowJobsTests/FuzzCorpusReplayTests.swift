import Foundation
import XCTest
import SparrowCore
@testable import SparrowJobs

/// Replays the job-parser fuzzer's committed corpus (fuzz/corpus/jobs): every
/// input validates or is refused with located errors; none may crash.
final class JobFuzzCorpusReplayTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/fuzz/corpus/jobs"

    func testEveryCorpusInputValidatesOrIsRefusedCleanly() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus).sorted()
        XCTAssertGreaterThanOrEqual(names.count, 20)
        var valid: [String] = []
        for name in names {
            let text = String(decoding: FileManager.default.contents(atPath: Self.corpus + "/" + name) ?? Data(), as: UTF8.self)
            do {
                _ = try JobParser.parse(text, file: name, outputDirectoryOverride: "/nonexistent-fuzz-output")
                valid.append(name)
            } catch {
                XCTAssertTrue(error.lines.allSatisfy { $0.hasPrefix(name + ":") }, "errors name the file and line: \(error.lines)")
            }
        }
        // The documented examples validate (their inputs are generated or relative to docs/examples, which
        // the corpus does not hold, so only those without file inputs count here).
        XCTAssertTrue(valid.contains("pcg.yaml"), "\(valid)")
        XCTAssertFalse(valid.contains("cycle.yaml"))
    }
}
