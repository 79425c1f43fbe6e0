import Foundation
import XCTest
@testable import SparrowJobs

/// Every option of every verb, and every key of every job step, given the
/// values that broke earlier versions — 0, −1, tiny (1e-310), huge (1e308,
/// Int.max), inf and nan — ends in exit 0, or in one `sparrow: error:` line
/// with exit 1 or 2: never a trap, a hang or a temporary left behind. The
/// options are read from the executable's own description of itself
/// (`--experimental-dump-help`), so a new option is covered the day it lands.
/// A job's `run --check` refuses exactly what its run refuses.
final class OptionRangePropertyCLITests: XCTestCase {
    static let extremes = ["0", "-1", "1e-310", "1e308", "9223372036854775807", "inf", "nan"]

    /// A verb's command line that succeeds on the scratch fixtures (option values may be replaced).
    struct Base {
        let verb: String
        let arguments: [String]
    }

    func bases(_ s: ScratchDirectory) -> [Base] {
        [Base(verb: "info", arguments: ["A.mtx"]),
         Base(verb: "generate", arguments: ["grid2d", "--n", "4", "-o", "g.mtx"]),
         Base(verb: "convert", arguments: ["A.mtx", "-o", "B.mtx"]),
         Base(verb: "spmv", arguments: ["A.mtx", "-o", "y.mtx"]),
         Base(verb: "spgemm", arguments: ["A.mtx", "A.mtx", "-o", "C2.mtx"]),
         Base(verb: "solve", arguments: ["A.mtx", "--method", "pcg", "-o", "x.mtx"]),
         Base(verb: "solve", arguments: ["A.mtx", "--method", "cholesky", "-o", "x.mtx"]),
         Base(verb: "ot", arguments: ["--cost", "C.mtx", "--eta", "20", "--duals", "d.mtx", "--plan", "p.mtx"]),
         Base(verb: "ot", arguments: ["--source-points", "X.mtx", "--target-points", "Y.mtx", "--kernel", "sparse", "--eta", "200", "--tol", "1e-6"]),
         Base(verb: "sparsify", arguments: ["A.mtx", "--density", "1.2", "-o", "H.mtx"]),
         Base(verb: "sparsify", arguments: ["A.mtx", "--density", "1.2", "--updates", "u.txt", "-o", "H.mtx"]),
         Base(verb: "complete", arguments: ["R.mtx", "--rank", "2", "--sweeps", "2", "-o", "fit"]),
         Base(verb: "run", arguments: ["job.yaml"]),
         Base(verb: "serve", arguments: ["--spool", "spool", "--exit-when-idle"])]
    }

    /// The options of each verb (long or short spelling), from the executable itself.
    static func optionsByVerb() throws -> [String: [String]] {
        let outcome = SparrowProcess.run(["--experimental-dump-help"])
        let root = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
        let subcommands = (root?["command"] as? [String: Any])?["subcommands"] as? [[String: Any]] ?? []
        var result: [String: [String]] = [:]
        for sub in subcommands {
            guard let name = sub["commandName"] as? String else { continue }
            for argument in sub["arguments"] as? [[String: Any]] ?? [] where argument["kind"] as? String == "option" {
                guard let preferred = argument["preferredName"] as? [String: Any], let spelled = preferred["name"] as? String else { continue }
                result[name, default: []].append((preferred["kind"] as? String == "short" ? "-" : "--") + spelled)
            }
        }
        return result
    }

    static func replacing(_ arguments: [String], _ option: String, with value: String) -> [String] {
        var out = arguments
        if let k = out.firstIndex(of: option), k + 1 < out.count { out[k + 1] = value } else { out += [option, value] }
        return out + ["--quiet"]
    }

    func makeFixtures(_ s: ScratchDirectory) throws {
        // A: a 6 × 6 grid Laplacian plus the identity (SPD, SDDM, a connected graph).
        XCTAssertEqual(SparrowProcess.run(["generate", "grid2d", "--n", "6", "--shift", "1", "-o", s.join("A.mtx"), "--quiet"]).status, 0)
        var random = SeededRandom(5)
        func uniform() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        try TransportCLITests.writeArray((0..<(12 * 10)).map { _ in uniform() }, rows: 12, columns: 10, to: s.join("C.mtx"))
        try TransportCLITests.writeArray((0..<(40 * 2)).map { _ in uniform() }, rows: 40, columns: 2, to: s.join("X.mtx"))
        try TransportCLITests.writeArray((0..<(40 * 2)).map { _ in uniform() }, rows: 40, columns: 2, to: s.join("Y.mtx"))
        var ratings = "%%MatrixMarket matrix coordinate real general\n12 9 40\n"
        var seen = Set<Int>()
        while seen.count < 40 {
            let (i, j) = (Int(random.next() % 12), Int(random.next() % 9))
            if seen.insert(i * 9 + j).inserted { ratings += "\(i + 1) \(j + 1) \(1 + (uniform() * 4).rounded())\n" }
        }
        try ratings.write(toFile: s.join("R.mtx"), atomically: true, encoding: .utf8)
        try "+ 1 8 2\n- 1 2\n".write(toFile: s.join("u.txt"), atomically: true, encoding: .utf8)
        try "inputs: {A: A.mtx}\nsteps: [{name: f, op: info, matrix: A}]\noutputs: {f: f.json}\n".write(toFile: s.join("job.yaml"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: s.join("spool/incoming"), withIntermediateDirectories: true)
    }

    /// The contract for one run: exit 0, or exit 1 or 2 with exactly one error line (a job file's
    /// validation may report several problems together, one located line each); no temporary left.
    func check(_ outcome: SparrowProcess.Outcome, _ what: String, _ s: ScratchDirectory, located: String? = nil,
               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue([0, 1, 2].contains(outcome.status), "\(what): exit \(outcome.status)\n\(outcome.stderr.suffix(600))", file: file, line: line)
        if outcome.status != 0 {
            let lines = outcome.stderrLines.filter { !$0.hasPrefix("sparrow: warning:") }
            if let located, lines.count > 1 {
                XCTAssertTrue(lines.allSatisfy { $0.hasPrefix("sparrow: error: \(located):") }, "\(what): \(lines)", file: file, line: line)
            } else {
                XCTAssertEqual(lines.count, 1, "\(what): one line\n\(outcome.stderr.suffix(600))", file: file, line: line)
            }
            XCTAssertTrue(lines.first?.hasPrefix("sparrow: error: ") ?? false, "\(what): \(lines)", file: file, line: line)
        }
        let temporaries = s.entries.filter { $0.hasPrefix(".sparrow-") }
        XCTAssertEqual(temporaries, [], "\(what): temporaries left", file: file, line: line)
    }

    func testEveryVerbOptionAtExtremeValuesExitsCleanlyAtOneAndTwoRanks() throws {
        let s = ScratchDirectory()
        try makeFixtures(s)
        let options = try Self.optionsByVerb()
        XCTAssertGreaterThanOrEqual(options.count, 11, "the verbs were found: \(options.keys.sorted())")
        var runs = 0, ran = 0, refused = 0
        for base in bases(s) {
            let verbOptions = options[base.verb] ?? []
            XCTAssertFalse(verbOptions.isEmpty, base.verb)
            let plain = SparrowProcess.run([base.verb] + base.arguments + ["--quiet"], directory: s.path)
            XCTAssertEqual(plain.status, 0, "base command \(base.verb) \(base.arguments): \(plain.stderr)")
            for option in verbOptions {
                var refusedAtOne = false
                for value in Self.extremes {
                    let arguments = [base.verb] + Self.replacing(base.arguments, option, with: value)
                    let one = SparrowProcess.run(arguments, timeout: 120, directory: s.path)
                    runs += 1
                    check(one, "\(arguments.joined(separator: " ")) at 1 rank", s)
                    // Two ranks: every value that reached the computation, and the first refused one.
                    if one.status != 2 || !refusedAtOne {
                        let two = SparrowProcess.run(arguments, ranks: 2, timeout: 120, directory: s.path)
                        runs += 1
                        check(two, "\(arguments.joined(separator: " ")) at 2 ranks", s)
                        XCTAssertEqual(two.status, one.status, "\(arguments.joined(separator: " ")): the same outcome at 1 and 2 ranks\n\(one.stderr)\n\(two.stderr)")
                    }
                    if one.status == 2 { refusedAtOne = true; refused += 1 } else { ran += 1 }
                }
            }
        }
        print("option property: \(runs) runs, \(ran) values accepted, \(refused) refused")
        XCTAssertGreaterThan(refused, 100)
    }

    /// A step of each op that runs on the fixtures (a key's value may be replaced).
    static let baseSteps: [String: [String]] = [
        "info": ["matrix: A"], "generate": ["kind: grid2d", "n: 4"], "transpose": ["matrix: A"], "scale": ["matrix: A", "alpha: 2"],
        "add": ["a: A", "b: A"], "spgemm": ["a: A", "b: A"], "solve": ["matrix: A", "method: cholesky"],
        "solve_many": ["matrices: [A, A]", "method: cholesky"], "pcg": ["matrix: A"], "complete": ["ratings: R", "rank: 2", "sweeps: 2"],
        "ot": ["cost: C", "eta: 20"], "sparsify": ["graph: A", "density: 1.2"],
    ]

    func testEveryJobStepKeyAtExtremeValuesIsRefusedByCheckExactlyWhenTheRunRefusesIt() throws {
        let s = ScratchDirectory()
        try makeFixtures(s)
        XCTAssertEqual(Set(StepSchema.operations), Set(Self.baseSteps.keys), "every step op has a base step here")
        var runs = 0
        for schema in StepSchema.all {
            let base = Self.baseSteps[schema.op] ?? []
            for key in schema.keys {
                for value in Self.extremes {
                    var fields = base.filter { !$0.hasPrefix(key + ":") }
                    fields.append("\(key): \(value)")
                    let job = "inputs: {A: A.mtx, R: R.mtx, C: C.mtx}\nsteps: [{name: s, op: \(schema.op), \(fields.joined(separator: ", "))}]\noutputs: {s: s.json}\n"
                    let path = s.join("k.yaml")
                    try job.write(toFile: path, atomically: true, encoding: .utf8)
                    let what = "\(schema.op).\(key) = \(value)"
                    let validated = SparrowProcess.run(["run", "k.yaml", "--check", "--quiet"], timeout: 60, directory: s.path)
                    let ran = SparrowProcess.run(["run", "k.yaml", "--quiet"], timeout: 120, directory: s.path)
                    runs += 2
                    check(validated, what + " (check)", s, located: "k.yaml")
                    check(ran, what, s, located: "k.yaml")
                    XCTAssertTrue(validated.status == 0 || validated.status == 2, "\(what): check exits \(validated.status)")
                    if validated.status == 2 {
                        XCTAssertEqual(ran.status, 2, "\(what): refused by check, so refused by the run")
                        XCTAssertEqual(ran.stderr, validated.stderr, "\(what): the same message")
                    } else {
                        XCTAssertNotEqual(ran.status, 2, "\(what): check accepted it, the run refused it: \(ran.stderr)")
                        if ran.status == 0 {
                            let two = SparrowProcess.run(["run", "k.yaml", "--quiet"], ranks: 2, timeout: 120, directory: s.path)
                            runs += 1
                            check(two, what + " at 2 ranks", s)
                            XCTAssertEqual(two.status, 0, "\(what) at 2 ranks: \(two.stderr)")
                        }
                    }
                }
            }
        }
        print("job key property: \(runs) runs")
    }
}
