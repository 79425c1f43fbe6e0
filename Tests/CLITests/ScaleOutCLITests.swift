import Foundation
import XCTest

/// Scale-out contracts: memory per rank follows what the rank owns (not the
/// global row count), outputs written by every rank in parallel are the same
/// bytes at any rank count, and sparse exchanges go to neighbours only.
/// References: files and products written here with plain loops.
final class ScaleOutCLITests: XCTestCase {
    /// Writes the n × n matrix with `value` at (i, (i + shift) mod n) for every i, in chunks.
    static func writeShift(_ path: String, n: Int, shift: Int, value: Int) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.write(contentsOf: Data("%%MatrixMarket matrix coordinate real general\n\(n) \(n) \(n)\n".utf8))
        try forEachShiftChunk(n: n, shift: shift, value: value) { try handle.write(contentsOf: $0) }
    }

    /// The data lines "i j value", j = (i + shift) mod n, in chunks of 2^20 lines.
    static func forEachShiftChunk(n: Int, shift: Int, value: Int, _ body: (Data) throws -> Void) rethrows {
        let suffix = Array(" \(value)\n".utf8)
        var chunk = [UInt8]()
        chunk.reserveCapacity(24 << 20)
        for start in stride(from: 0, to: n, by: 1 << 20) {
            chunk.removeAll(keepingCapacity: true)
            for i in start..<min(n, start + (1 << 20)) {
                chunk += Array(String(i + 1).utf8); chunk.append(32)
                chunk += Array(String((i + shift) % n + 1).utf8); chunk += suffix
            }
            try body(Data(chunk))
        }
    }

    /// 2^26 rows and 2^26 nonzeros at P = 4, A a cyclic shift by n/4: every row of
    /// B that a rank needs lives on the next rank, so each rank fetches 2^24 remote
    /// rows. Each rank owns 2^24 rows; what it legitimately holds at its peak
    /// (measured at 1,655–1,664 MiB): A and C (320 MiB each), the 2^24 B rows it fetches (320 MiB),
    /// C's formatted rows (≈ 330 MiB) and its share of the file's pages while
    /// parsing. The limit sits half an n-long Int32 array (128 MiB) above the
    /// highest peak measured, so one array per global row — Int32 (256 MiB) or
    /// Int (512 MiB) — pushes a rank past it.
    func testShiftOf2To26RowsLoadsMultipliesAndWritesAtFourRanksWithinOwnedMemory() throws {
        let scratch = ScratchDirectory()
        let n = 1 << 26
        let a = scratch.join("shift.mtx"), c = scratch.join("C.mtx"), report = scratch.join("r.json")
        try Self.writeShift(a, n: n, shift: n / 4, value: 3)
        let outcome = SparrowProcess.run(["spgemm", a, a, "-o", c, "--report", report, "--threads", "1", "--quiet"],
                                         ranks: 4, timeout: 600)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let limit = 1_792 << 20
        let perRank = try XCTUnwrap(readJSON(report)?["per_rank"] as? [[String: Any]])
        XCTAssertEqual(perRank.count, 4)
        for entry in perRank {
            let peak = try XCTUnwrap(entry["peak_resident_bytes"] as? Int)
            XCTAssertGreaterThan(peak, 960 << 20, "the peak must at least hold A, C and the fetched rows")
            XCTAssertLessThan(peak, limit, "rank \(entry["rank"] ?? "?") peaked at \(peak >> 20) MiB")
        }
        // C = A² is the shift by n/2 with 9s, byte for byte as written here.
        let written = try FileHandle(forReadingFrom: URL(fileURLWithPath: c))
        defer { try? written.close() }
        let header = Data("%%MatrixMarket matrix coordinate real general\n\(n) \(n) \(n)\n".utf8)
        XCTAssertEqual(try written.read(upToCount: header.count), header)
        var mismatch = false
        try Self.forEachShiftChunk(n: n, shift: n / 2, value: 9) { expected in
            if !mismatch, try written.read(upToCount: expected.count) != expected { mismatch = true }
        }
        XCTAssertFalse(mismatch, "C differs from the shift by n/2 with 9s")
        XCTAssertEqual(try written.readToEnd() ?? Data(), Data(), "C has bytes after the last entry")
        XCTAssertEqual(scratch.entries.filter { $0.hasPrefix(".") }, [], "a temporary file was left behind")
    }

    /// Every output a verb writes in parallel is the same file at P = 1, 2, 3,
    /// and holds what a plain-loop reference computes.
    func testParallelOutputsAreByteIdenticalAtOneTwoAndThreeRanks() throws {
        let scratch = ScratchDirectory()
        var generated: [Data] = [], products: [Data] = [], vectors: [Data] = []
        let lapPath = scratch.join("lap.mtx")
        XCTAssertEqual(SparrowProcess.run(["generate", "grid2d", "--n", "16", "--shift", "0.01", "-o", lapPath, "--quiet"]).status, 0)
        for ranks in 1...3 {
            let g = scratch.join("g\(ranks).mtx"), c = scratch.join("c\(ranks).mtx")
            let y = scratch.join("y\(ranks).mtx"), x = scratch.join("x\(ranks).mtx")
            var outcome = SparrowProcess.run(["generate", "er", "--scale", "9", "--edge-factor", "6", "--seed", "4", "-o", g, "--quiet"], ranks: ranks)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            outcome = SparrowProcess.run(["spgemm", g, g, "-o", c, "--balance", "flops", "--quiet"], ranks: ranks)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            outcome = SparrowProcess.run(["spmv", g, "--x", "random:1", "-o", y, "--quiet"], ranks: ranks)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            outcome = SparrowProcess.run(["solve", lapPath, "--method", "pcg", "--rhs", "random:2",
                                          "--preconditioner", "jacobi", "--tol", "1e-12", "-o", x, "--quiet"], ranks: ranks)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            generated.append(try XCTUnwrap(scratch.bytes("g\(ranks).mtx")))
            products.append(try XCTUnwrap(scratch.bytes("c\(ranks).mtx")))
            vectors.append(try XCTUnwrap(scratch.bytes("y\(ranks).mtx")))
        }
        for k in 1..<3 {
            XCTAssertEqual(generated[k], generated[0], "generate at \(k + 1) ranks")
            XCTAssertEqual(products[k], products[0], "spgemm at \(k + 1) ranks")
            XCTAssertEqual(vectors[k], vectors[0], "spmv at \(k + 1) ranks")
        }
        // PCG's reductions change with P (to rounding): the solutions agree to the tolerance, and are complete files.
        let xs = try (1...3).map { try NaiveMatrix.denseValues(path: scratch.join("x\($0).mtx")) }
        let lap = try NaiveMatrix(path: lapPath)
        XCTAssertEqual(xs[0].count, 2 * lap.rows)
        for k in 1..<3 { for i in 0..<xs[0].count { XCTAssertEqual(xs[k][i], xs[0][i], accuracy: 1e-8) } }
        // The product against a triplet-loop reference.
        let a = try NaiveMatrix(path: scratch.join("g1.mtx"))
        var reference: [Int: Double] = [:]
        var byRow: [Int: [(Int, Double)]] = [:]
        for e in a.entries { byRow[e.row, default: []].append((e.column, e.value)) }
        for e in a.entries { for (j, v) in byRow[e.column] ?? [] { reference[e.row * a.columns + j, default: 0] += e.value * v } }
        let product = try NaiveMatrix(path: scratch.join("c3.mtx"))
        XCTAssertEqual(product.entries.count, reference.count)
        for e in product.entries { XCTAssertEqual(e.value, reference[e.row * a.columns + e.column] ?? .nan, accuracy: 1e-9) }
        XCTAssertEqual(scratch.entries.filter { $0.hasPrefix(".") }, [], "a temporary file was left behind")
    }

    /// A banded matrix on 3 and 4 ranks: each rank exchanges ghost entries with
    /// its neighbours only (point to point), and y = A·x is what a loop gives,
    /// byte-identical to the all-to-all route.
    func testBandedSpMVTalksToNeighboursOnlyAndMatchesTheReference() throws {
        let scratch = ScratchDirectory()
        let a = scratch.join("band.mtx")
        let n = 3000
        var text = "%%MatrixMarket matrix coordinate real general\n\(n) \(n) \(3 * n - 2)\n"
        for i in 0..<n {
            if i > 0 { text += "\(i + 1) \(i) -1.5\n" }
            text += "\(i + 1) \(i + 1) \(4 + i % 7)\n"
            if i < n - 1 { text += "\(i + 1) \(i + 2) -0.25\n" }
        }
        try text.write(toFile: a, atomically: true, encoding: .utf8)
        let x = (0..<n).map { Double($0 % 11) - 5 }
        try ("%%MatrixMarket matrix array real general\n\(n) 1\n" + x.map { "\($0)\n" }.joined()).write(toFile: scratch.join("x.mtx"), atomically: true, encoding: .utf8)
        let expected = try NaiveMatrix(path: a).multiply(x)
        for ranks in [3, 4] {
            let y = scratch.join("y\(ranks).mtx"), report = scratch.join("r\(ranks).json")
            let (first, trace) = try MPITrace.run(["spmv", a, "--x", scratch.join("x.mtx"), "-o", y, "--report", report, "--quiet"],
                                                  ranks: ranks, scratch: scratch)
            XCTAssertEqual(first.status, 0, first.stderr)
            // Counted by the MPI profiling layer, not by Sparrow: the one product's halo is
            // one x entry (8 bytes) to each neighbouring rank and nothing to any other.
            for rank in 0..<ranks {
                let neighbours = [rank - 1, rank + 1].filter { (0..<ranks).contains($0) }
                XCTAssertEqual(trace.pointToPoint[rank], Dictionary(uniqueKeysWithValues: neighbours.map { ($0, MPITrace.Flow(bytes: 8, messages: 1)) }),
                               "rank \(rank)'s point-to-point sends at P = \(ranks)")
            }
            // The report's own neighbour counts agree with the trace.
            let perRank = try XCTUnwrap(readJSON(report)?["per_rank"] as? [[String: Any]])
            XCTAssertEqual(perRank.map { $0["neighbours"] as? Int }, trace.pointToPoint.map { $0.count })
            var outcome = first
            let got = try NaiveMatrix.denseValues(path: y)
            XCTAssertEqual(got, expected)
            outcome = SparrowProcess.run(["spmv", a, "--x", scratch.join("x.mtx"), "-o", scratch.join("z.mtx"), "--quiet"], ranks: ranks,
                                         environment: ["SPARROW_EXCHANGE": "alltoall"])
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            XCTAssertEqual(scratch.bytes("z.mtx"), scratch.bytes("y\(ranks).mtx"))
        }
    }
}
