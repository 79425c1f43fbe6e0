import Foundation
import SparrowCore
import XCTest

/// `sparrow spgemm` at 1, 2, 3 ranks and 1, 2 threads, private and atomic paths,
/// against a product computed in-process by a plain reference.
final class SpGEMMCLITests: XCTestCase {
    let fixtures = SparrowProcess.fixtures

    private func reference(_ a: CSRMatrix, _ b: CSRMatrix) -> CSRMatrix {
        var t = TripletBuilder(rows: a.rows, columns: b.columns)
        for i in 0..<a.rows {
            var row: [Int: Double] = [:]
            for p in a.rowRange(i) {
                for q in b.rowRange(Int(a.columnIndices[p])) { row[Int(b.columnIndices[q]), default: 0] += a.values[p] * b.values[q] }
            }
            for (j, v) in row { t.append(row: i, column: j, value: v) }
        }
        return t.csr()
    }

    /// Sorted output is one file, whatever the rank count, thread count and
    /// pass structure (one pass, two passes, or each rank's own sampled choice).
    func testSortedOutputIsIdenticalAcrossRanksAndPasses() throws {
        let scratch = ScratchDirectory()
        for (kind, seed) in [("er", "3"), ("rmat", "4")] {
            let input = scratch.join("\(kind).mtx")
            XCTAssertEqual(SparrowProcess.run(["generate", kind, "--scale", "12", "--edge-factor", "8", "--seed", seed, "-o", input, "--quiet"]).status, 0)
            var first: Data?
            for ranks in [1, 2, 3] {
                for (threads, passes) in [("1", "automatic"), ("2", "one"), ("2", "two")] {
                    let out = scratch.join("C-\(ranks)-\(threads)-\(passes).mtx"), report = scratch.join("r.json")
                    let outcome = SparrowProcess.run(["spgemm", input, input, "--sorted", "--threads", threads, "--passes", passes,
                                                      "-o", out, "--quiet", "--report", report], ranks: ranks)
                    let label = "\(kind) P=\(ranks) T=\(threads) passes=\(passes)"
                    XCTAssertEqual(outcome.status, 0, "\(label): \(outcome.stderr)")
                    let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
                    if let first { XCTAssertEqual(bytes, first, label) } else { first = bytes }
                    let used = ((readJSON(report)?["per_rank"] as? [[String: Any]]) ?? []).map { $0["passes"] as? Int }
                    XCTAssertEqual(used.count, ranks, label)
                    switch passes {
                    // The sampled choice: ER does not compress (one pass), R-MAT does (two).
                    case "automatic" where ranks == 1: XCTAssertEqual(used, [kind == "er" ? 1 : 2], label)
                    case "two": XCTAssertEqual(used, Array(repeating: 2, count: ranks), label)
                    case "one" where kind == "er": XCTAssertEqual(used, Array(repeating: 1, count: ranks), label)
                    default: break
                    }
                }
            }
        }
    }

    func testProductsAtSeveralRankAndThreadCounts() throws {
        let scratch = ScratchDirectory()
        let rmat = scratch.join("rmat12.mtx"), er = scratch.join("er12.mtx")
        XCTAssertEqual(SparrowProcess.run(["generate", "rmat", "--scale", "12", "--edge-factor", "8", "--seed", "1", "-o", rmat, "--quiet"]).status, 0)
        XCTAssertEqual(SparrowProcess.run(["generate", "er", "--scale", "12", "--edge-factor", "8", "--seed", "2", "-o", er, "--quiet"]).status, 0)
        let bayer = try MatrixMarket.readCSR(path: fixtures + "/bayer10.mtx")
        let ash = try MatrixMarket.readCSR(path: fixtures + "/ash219.mtx")
        let bcsstk = try MatrixMarket.readCSR(path: fixtures + "/bcsstk13.mtx")
        let west = try MatrixMarket.readCSR(path: fixtures + "/west0067.mtx")
        let rmatA = try MatrixMarket.readCSR(path: rmat), erA = try MatrixMarket.readCSR(path: er)
        let cases: [(String, [String], CSRMatrix)] = [
            ("bcsstk13²", [fixtures + "/bcsstk13.mtx", fixtures + "/bcsstk13.mtx"], reference(bcsstk, bcsstk)),
            ("bayer10²", [fixtures + "/bayer10.mtx", fixtures + "/bayer10.mtx"], reference(bayer, bayer)),
            ("bayer10·bayer10ᵀ", [fixtures + "/bayer10.mtx", fixtures + "/bayer10.mtx", "--transpose-b"], reference(bayer, bayer.transposed())),
            ("ash219ᵀ·ash219", [fixtures + "/ash219.mtx", fixtures + "/ash219.mtx", "--transpose-a"], reference(ash.transposed(), ash)),
            ("west0067²", [fixtures + "/west0067.mtx", fixtures + "/west0067.mtx"], reference(west, west)),
            ("rmat12²", [rmat, rmat], reference(rmatA, rmatA)),
            ("er12²", [er, er], reference(erA, erA)),
        ]
        for (name, arguments, expected) in cases {
            for ranks in [1, 2, 3] {
                for (threads, heavy) in [("1", nil), ("2", nil), ("2", "1"), ("1", "1")] as [(String, String?)] {
                    // The forced-atomic runs at every rank count would triple the time: P = 2 covers them.
                    if heavy != nil, ranks != 2, name != "bcsstk13²" { continue }
                    let out = scratch.join("C.mtx")
                    var args = ["spgemm"] + arguments + ["-o", out, "--threads", threads, "--quiet", "--report", scratch.join("r.json")]
                    if let heavy { args += ["--heavy-threshold", heavy] }
                    if ranks == 3 { args += ["--balance", "flops"] }
                    let outcome = SparrowProcess.run(args, ranks: ranks)
                    let label = "\(name) P=\(ranks) T=\(threads) heavy=\(heavy ?? "auto")"
                    XCTAssertEqual(outcome.status, 0, "\(label): \(outcome.stderr)")
                    let c = try MatrixMarket.readCSR(path: out)
                    XCTAssertEqual(c.rows, expected.rows, label)
                    XCTAssertEqual(c.columns, expected.columns, label)
                    XCTAssertLessThanOrEqual(c.frobeniusDistance(to: expected), 1e-12 * expected.frobeniusNorm, label)
                    let report = readJSON(scratch.join("r.json"))
                    let metrics = report?["metrics"] as? [String: Any]
                    XCTAssertEqual(metrics?["nnz_c"] as? Int, expected.nonzeros, label)
                    if heavy == "1" { XCTAssertGreaterThan(metrics?["heavy_rows"] as? Int ?? 0, 0, label) }
                    let timings = report?["timings"] as? [String: Any]
                    for phase in ["symbolic", "numeric", "communication", "total_multiply", "total"] {
                        XCTAssertNotNil(timings?[phase], "\(label): \(phase)")
                    }
                    XCTAssertEqual((report?["per_rank"] as? [[String: Any]])?.count, ranks)
                }
            }
        }
    }

    func testShapeMismatchAndEmptyOperands() throws {
        let scratch = ScratchDirectory()
        var outcome = SparrowProcess.run(["spgemm", fixtures + "/ash219.mtx", fixtures + "/ash219.mtx", "-o", scratch.join("C.mtx")], ranks: 2)
        XCTAssertEqual(outcome.status, 2)
        XCTAssertEqual(outcome.stderrLines, ["sparrow: error: shape mismatch: A is 219 × 85 but B is 219 × 85"])
        XCTAssertEqual(scratch.entries, [], "no output on failure")
        // An all-zero operand (no stored entries) and a 0-column product.
        let empty = scratch.join("empty.mtx")
        try "%%MatrixMarket matrix coordinate real general\n85 7 0\n".write(toFile: empty, atomically: true, encoding: .utf8)
        outcome = SparrowProcess.run(["spgemm", fixtures + "/ash219.mtx", empty, "-o", scratch.join("C.mtx")], ranks: 3)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let c = try MatrixMarket.read(path: scratch.join("C.mtx"))
        XCTAssertEqual([c.header.rows, c.header.columns, c.header.declaredEntries], [219, 7, 0])
        let zeroColumns = scratch.join("zc.mtx")
        try "%%MatrixMarket matrix coordinate real general\n85 0 0\n".write(toFile: zeroColumns, atomically: true, encoding: .utf8)
        outcome = SparrowProcess.run(["spgemm", fixtures + "/ash219.mtx", zeroColumns, "-o", scratch.join("D.mtx")])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertEqual(try MatrixMarket.read(path: scratch.join("D.mtx")).header.columns, 0)
    }
}
