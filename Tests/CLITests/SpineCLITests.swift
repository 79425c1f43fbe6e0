import Foundation
import SparrowCore
import XCTest

/// The spine's user-facing contract, through the real executable at 1, 2 and 3 ranks.
final class SpineCLITests: XCTestCase {
    let fixtures = SparrowProcess.fixtures

    func testInfoReportsShapeAndNonzerosOfEveryFixture() {
        let expected: [(String, Int, Int, Int)] = [
            ("ash219.mtx", 219, 85, 438), ("bayer10.mtx", 13436, 13436, 94926), ("bcspwr10.mtx", 5300, 5300, 21842),
            ("bcsstk13.mtx", 2003, 2003, 83883), ("jagmesh7.mtx", 1138, 1138, 7450), ("karate.mtx", 34, 34, 156),
            ("west0067.mtx", 67, 67, 294), ("fe_4elt2.mtx", 11143, 11143, 65636),
        ]
        let scratch = ScratchDirectory()
        for (name, rows, columns, nnz) in expected {
            let outcome = SparrowProcess.run(["info", fixtures + "/" + name, "--report", scratch.join("r.json")])
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            XCTAssertTrue(outcome.stdout.contains("rows: \(rows)\ncolumns: \(columns)\n"), outcome.stdout)
            XCTAssertTrue(outcome.stdout.contains("nonzeros: \(nnz)"), outcome.stdout)
            let metrics = readJSON(scratch.join("r.json"))?["metrics"] as? [String: Any]
            XCTAssertEqual(metrics?["nnz"] as? Int, nnz)
        }
    }

    func testInfoUnderMPIReportsNonzerosPerRank() {
        let scratch = ScratchDirectory()
        let outcome = SparrowProcess.run(["info", fixtures + "/bcsstk13.mtx", "--report", scratch.join("r.json")], ranks: 3)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertTrue(outcome.stdout.contains("nnz per rank: 0: "), outcome.stdout)
        let report = readJSON(scratch.join("r.json"))
        XCTAssertEqual(report?["ranks"] as? Int, 3)
        let perRank = report?["per_rank"] as? [[String: Any]] ?? []
        XCTAssertEqual(perRank.count, 3)
        XCTAssertEqual(perRank.compactMap { $0["nnz"] as? Int }.reduce(0, +), 83883)
        XCTAssertNotNil((report?["timings"] as? [String: Any])?["total"])
    }

    func testMalformedInputsFailWithOneLineNamingFileAndLine() throws {
        let text = try String(contentsOfFile: fixtures + "/malformed/cases.tsv", encoding: .utf8)
        let cases = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: "\t").map(String.init) }
        XCTAssertGreaterThanOrEqual(cases.count, 20)
        for ranks in [nil, 2] as [Int?] {
            // Under mpirun a failing job takes ~2 s to wind down: every third case is enough there.
            for (k, c) in cases.enumerated() where ranks == nil || k % 3 == 0 {
                let path = fixtures + "/malformed/" + c[0]
                let outcome = SparrowProcess.run(["info", path, "--quiet"], ranks: ranks, timeout: 60)
                XCTAssertEqual(outcome.status, 2, "\(c[0]) ranks \(ranks ?? 1): \(outcome.stderr)")
                XCTAssertEqual(outcome.stderrLines.count, 1, "\(c[0]): \(outcome.stderr)")
                XCTAssertEqual(outcome.stderrLines.first.map { $0.hasPrefix("sparrow: error: \(path):\(c[1]): ") }, true,
                               "\(c[0]): \(outcome.stderr)")
                XCTAssertTrue(outcome.stderr.contains(c[2]), "\(c[0]): \(outcome.stderr)")
                XCTAssertEqual(outcome.stdout, "")
            }
        }
    }

    func testMissingFileUnknownFlagAndBadOutputDirectory() {
        var outcome = SparrowProcess.run(["info", "/nonexistent.mtx"])
        XCTAssertEqual(outcome.status, 2)
        XCTAssertEqual(outcome.stderrLines, ["sparrow: error: /nonexistent.mtx: cannot open: No such file or directory"])
        outcome = SparrowProcess.run(["info", fixtures + "/karate.mtx", "--frobnicate"])
        XCTAssertEqual(outcome.status, 2)
        XCTAssertEqual(outcome.stderrLines.count, 1, outcome.stderr)
        outcome = SparrowProcess.run(["convert", fixtures + "/karate.mtx", "-o", "/nonexistent/dir/x.mtx"], ranks: 2)
        XCTAssertEqual(outcome.status, 2)
        XCTAssertEqual(outcome.stderrLines.count, 1, outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains("/nonexistent/dir/x.mtx: directory /nonexistent/dir does not exist"), outcome.stderr)
        outcome = SparrowProcess.run(["generate", "rmat", "--scale", "99", "-o", "/tmp/never.mtx"])
        XCTAssertEqual(outcome.stderrLines, ["sparrow: error: --scale: must be an integer in 1...30, got 99"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/never.mtx"))
    }

    func testHelpHasExamplesForEveryVerb() {
        for verb in ["info", "generate", "convert", "spmv", "spgemm"] {
            let outcome = SparrowProcess.run([verb, "--help"])
            XCTAssertEqual(outcome.status, 0)
            XCTAssertTrue(outcome.stdout.contains("sparrow \(verb)"), verb)
            XCTAssertTrue(outcome.stdout.contains("Example"), verb)
        }
    }

    func testGatheredMatrixEqualsSerialReadAtOneTwoThreeRanks() throws {
        let scratch = ScratchDirectory()
        for name in ["bcsstk13.mtx", "bayer10.mtx", "ash219.mtx", "west0067.mtx"] {
            let serial = try MatrixMarket.readCSR(path: fixtures + "/" + name)
            for ranks in [1, 2, 3] {
                for method in ["parallel", "scatter"] {
                    for balance in ["rows", "nnz"] {
                        let out = scratch.join("\(ranks)-\(method)-\(balance)-\(name)")
                        let outcome = SparrowProcess.run(["convert", fixtures + "/" + name, "-o", out, "--load", method, "--balance", balance],
                                                         ranks: ranks)
                        XCTAssertEqual(outcome.status, 0, outcome.stderr)
                        XCTAssertEqual(try MatrixMarket.readCSR(path: out), serial, "\(name) P=\(ranks) \(method) \(balance)")
                    }
                }
            }
            let transposed = scratch.join("T-\(name)")
            XCTAssertEqual(SparrowProcess.run(["convert", fixtures + "/" + name, "--transpose", "-o", transposed], ranks: 3).status, 0)
            XCTAssertEqual(try MatrixMarket.readCSR(path: transposed), serial.transposed())
        }
        XCTAssertFalse(scratch.entries.contains { $0.hasPrefix(".") }, "no temporary files left")
    }

    func testDistributedSpMVEqualsSerial() throws {
        let scratch = ScratchDirectory()
        for name in ["bcsstk13.mtx", "bayer10.mtx", "ash219.mtx"] {
            // y = A x by a triplet loop over the file as read by a reader that shares no code with Sparrow.
            let a = try NaiveMatrix(path: fixtures + "/" + name)
            let x = try DenseSpec.parse("random:1", rows: a.columns, field: "x").values
            let expected = a.multiply(x)
            for ranks in [1, 2, 3] {
                let out = scratch.join("y\(ranks).mtx")
                let outcome = SparrowProcess.run(["spmv", fixtures + "/" + name, "--x", "random:1", "-o", out, "--repeat", "3"], ranks: ranks)
                XCTAssertEqual(outcome.status, 0, outcome.stderr)
                let y = try MatrixMarket.readDense(path: out).values
                XCTAssertEqual(y.count, expected.count)
                let difference = zip(y, expected).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
                XCTAssertLessThanOrEqual(difference, 1e-14 * norm2(expected), "\(name) P=\(ranks)")
            }
        }
    }

    func testGeneratorsGiveTheSameMatrixAtOneTwoThreeRanks() throws {
        let scratch = ScratchDirectory()
        for args in [["rmat", "--scale", "10", "--edge-factor", "8", "--seed", "3"], ["er", "--scale", "9", "--edge-factor", "4"],
                     ["grid2d", "--n", "17", "--shift", "0.5"], ["grid3d", "--n", "6"]] {
            var files: [Data] = []
            for ranks in [1, 2, 3] {
                let out = scratch.join("g\(ranks).mtx")
                let outcome = SparrowProcess.run(["generate"] + args + ["-o", out, "--quiet"], ranks: ranks)
                XCTAssertEqual(outcome.status, 0, outcome.stderr)
                files.append(scratch.bytes("g\(ranks).mtx") ?? Data())
            }
            XCTAssertFalse(files[0].isEmpty)
            XCTAssertEqual(files[0], files[1], args.joined(separator: " "))
            XCTAssertEqual(files[0], files[2], args.joined(separator: " "))
        }
        // And equals the expected files an independent Python implementation wrote (Fixtures/generated/make_expected.py).
        for (args, expected) in [(["rmat", "--scale", "6", "--edge-factor", "4", "--seed", "3"], "rmat-s6-e4-seed3.mtx"),
                                 (["er", "--scale", "6", "--edge-factor", "4", "--seed", "5"], "er-s6-e4-seed5.mtx"),
                                 (["grid2d", "--n", "5", "--shift", "0.5"], "grid2d-n5-shift0.5.mtx"),
                                 (["grid3d", "--n", "3", "--shift", "0"], "grid3d-n3-shift0.mtx")] {
            for ranks in [1, 3] {
                let out = scratch.join("expected-check.mtx")
                XCTAssertEqual(SparrowProcess.run(["generate"] + args + ["-o", out, "--quiet"], ranks: ranks).status, 0)
                let made = try NaiveMatrix(path: out), reference = try NaiveMatrix(path: fixtures + "/generated/" + expected)
                XCTAssertEqual(made.rows, reference.rows, expected)
                XCTAssertEqual(made.entries.count, reference.entries.count, expected)
                for (m, r) in zip(made.entries, reference.entries) {
                    XCTAssertEqual(m.row, r.row, expected)
                    XCTAssertEqual(m.column, r.column, expected)
                    XCTAssertEqual(m.value, r.value, accuracy: 1e-15 * max(1, abs(r.value)), expected)
                }
            }
        }
        // And the file equals the library's serial generator.
        let out = scratch.join("er.mtx")
        _ = SparrowProcess.run(["generate", "er", "--scale", "8", "--edge-factor", "4", "--seed", "5", "-o", out, "--quiet"], ranks: 2)
        XCTAssertEqual(try MatrixMarket.readCSR(path: out), GeneratorSpec.erdosRenyi(scale: 8, edgeFactor: 4, seed: 5).matrix())
    }
}
