import XCTest
@testable import SparrowCore

final class SparseCoreTests: XCTestCase {
    private func dense(_ a: CSRMatrix) -> [[Double]] {
        var d = [[Double]](repeating: [Double](repeating: 0, count: a.columns), count: a.rows)
        for i in 0..<a.rows { for p in a.rowRange(i) { d[i][Int(a.columnIndices[p])] += a.values[p] } }
        return d
    }

    func testTripletsSumDuplicatesAndSort() {
        var t = TripletBuilder(rows: 3, columns: 4)
        t.append(row: 2, column: 3, value: 1)
        t.append(row: 0, column: 2, value: 2)
        t.append(row: 0, column: 1, value: 3)
        t.append(row: 0, column: 2, value: 4)
        let a = t.csr()
        XCTAssertEqual(a.rowPointers, [0, 2, 2, 3])
        XCTAssertEqual(a.columnIndices, [1, 2, 3])
        XCTAssertEqual(a.values, [3, 6, 1])
        XCTAssertTrue(a.columnsSorted)
    }

    func testTransposeAndSpMVAgainstDense() {
        let a = GeneratorSpec.erdosRenyi(scale: 6, edgeFactor: 4, seed: 9).matrix()
        let d = dense(a), dt = dense(a.transposed())
        for i in 0..<a.rows { for j in 0..<a.columns { XCTAssertEqual(d[i][j], dt[j][i]) } }
        let x = (0..<a.columns).map { Double($0 % 7) - 3 }
        let y = a.multiply(x)
        for i in 0..<a.rows {
            var s = 0.0
            for j in 0..<a.columns { s += d[i][j] * x[j] }
            XCTAssertEqual(y[i], s, accuracy: 1e-12 * max(1, abs(s)))
        }
    }

    func testFrobeniusAndTolerance() {
        let a = GeneratorSpec.grid2d(n: 5, shift: 0).matrix()
        XCTAssertEqual(a.frobeniusNorm, dense(a).joined().map { $0 * $0 }.reduce(0, +).squareRoot(), accuracy: 1e-12)
        var b = a
        b.values[0] += 1e-9
        XCTAssertTrue(a.isApproximatelyEqual(to: b, relativeTolerance: 1e-9))
        XCTAssertFalse(a.isApproximatelyEqual(to: b, relativeTolerance: 1e-12))
        XCTAssertTrue(a.isSymmetric)
    }

    func testSortColumnsInPlace() {
        var a = CSRMatrix(rows: 1, columns: 40, rowPointers: [0, 40], columnIndices: (0..<40).reversed().map { Int32($0) },
                          values: (0..<40).map(Double.init), columnsSorted: false)
        a.sortColumnsInPlace()
        XCTAssertEqual(a.columnIndices, (0..<40).map { Int32($0) })
        XCTAssertEqual(a.values.first, 39)
    }

    func testGeneratorsAreIndependentOfSplitting() {
        for spec in [GeneratorSpec.rmat(scale: 8, edgeFactor: 8, seed: 1), .erdosRenyi(scale: 8, edgeFactor: 4, seed: 2),
                     .grid2d(n: 9, shift: 0.5), .grid3d(n: 5, shift: 0)] {
            let whole = spec.matrix()
            for parts in [2, 3, 5] {
                var t = TripletBuilder(rows: spec.dimension, columns: spec.dimension)
                for range in evenRanges(count: spec.workItems, parts: parts) { t.append(contentsOf: spec.triplets(items: range)) }
                XCTAssertEqual(t.csr(), whole, "\(spec) in \(parts) parts")
            }
        }
    }

    func testGridLaplacianRowSumsAreTheShift() {
        let a = GeneratorSpec.grid3d(n: 4, shift: 0.25).matrix()
        XCTAssertEqual(a.rows, 64)
        for s in a.multiply([Double](repeating: 1, count: 64)) { XCTAssertEqual(s, 0.25, accuracy: 1e-15) }
        XCTAssertEqual(a.entry(0, 0), 3.25)
    }

    func testRMATIsSkewedAndSeeded() {
        let a = GeneratorSpec.rmat(scale: 10, edgeFactor: 16, seed: 1).matrix()
        let b = GeneratorSpec.rmat(scale: 10, edgeFactor: 16, seed: 2).matrix()
        XCTAssertNotEqual(a, b)
        let counts = a.rowCounts
        XCTAssertGreaterThan(counts[0], 20 * (counts.reduce(0, +) / counts.count), "row 0 is a hub with a = 0.57")
    }

    func testPartitionHelpers() {
        let ranges = [0, 10, 10, 30, 50].withUnsafeBufferPointer { balancedRanges(prefix: $0, parts: 2) }
        XCTAssertEqual(ranges, [0..<3, 3..<4], "first boundary where the prefix reaches half the total")
        XCTAssertEqual(evenRanges(count: 10, parts: 3), [0..<3, 3..<6, 6..<10])
    }

    func testAtomicWriterLeavesNothingOnFailure() throws {
        let dir = TemporaryDirectory()
        let writer = try AtomicFileWriter(path: dir.path + "/out.txt")
        try writer.write("partial")
        XCTAssertFalse(dir.entries.contains("out.txt"), "not visible before commit")
        writer.abandon()
        XCTAssertEqual(dir.entries, [])
        XCTAssertThrowsError(try AtomicFileWriter(path: dir.path + "/missing/out.txt"))
    }

    func testReportJSON() {
        var r = Report(command: "x", ranks: 2, threads: 1)
        r.time("read", 0.5)
        r.time("read", 0.25)
        r.metric("nnz", 7)
        r.metric("name", .string("a\"b\n"))
        let text = r.json.serialized()
        XCTAssertTrue(text.hasPrefix(#"{"command":"x","ranks":2,"threads":1,"inputs":{},"timings":{"read":0.75},"metrics":{"nnz":7,"name":"a\"b\n"},"per_rank":[],"history":[],"warnings":[],"provenance":{"version":"#), text)
    }
}
