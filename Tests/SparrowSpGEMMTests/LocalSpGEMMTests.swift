import Foundation
import SparrowCore
import SparrowSpGEMM
import XCTest

/// An independent reference: a dictionary per row, no hashing tricks, no threads.
func referenceProduct(_ a: CSRMatrix, _ b: CSRMatrix) -> CSRMatrix {
    var t = TripletBuilder(rows: a.rows, columns: b.columns)
    for i in 0..<a.rows {
        var row: [Int: Double] = [:]
        for p in a.rowRange(i) {
            let k = Int(a.columnIndices[p])
            for q in b.rowRange(k) { row[Int(b.columnIndices[q]), default: 0] += a.values[p] * b.values[q] }
        }
        for (j, v) in row { t.append(row: i, column: j, value: v) }
    }
    return t.csr()
}

let fixtureDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures").path

func fixture(_ name: String) throws -> CSRMatrix { try MatrixMarket.readCSR(path: fixtureDirectory + "/" + name) }

final class LocalSpGEMMTests: XCTestCase {
    /// The acceptance set: (name, A, B, scipy's ‖A·B‖_F or nil).
    func problems() throws -> [(String, CSRMatrix, CSRMatrix, Double?)] {
        let bcsstk13 = try fixture("bcsstk13.mtx"), bayer10 = try fixture("bayer10.mtx")
        let ash219 = try fixture("ash219.mtx"), west = try fixture("west0067.mtx")
        let rmat = GeneratorSpec.rmat(scale: 12, edgeFactor: 8, seed: 1).matrix()
        let er = GeneratorSpec.erdosRenyi(scale: 12, edgeFactor: 8, seed: 2).matrix()
        return [
            ("bcsstk13²", bcsstk13, bcsstk13, 1.6540833657023905e+25),
            ("bayer10²", bayer10, bayer10, 1776069.4387224976),
            ("bayer10·bayer10ᵀ", bayer10, bayer10.transposed(), 721129987.7053335),
            ("ash219ᵀ·ash219", ash219.transposed(), ash219, 53.49766350038102),
            ("west0067²", west, west, 21.253925221460037),
            ("rmat12²", rmat, rmat, nil),
            ("er12²", er, er, nil),
        ]
    }

    func testAgreesWithReferenceForThreadsAndHeavyPaths() throws {
        let workspace = SpGEMMWorkspace()
        for (name, a, b, scipyNorm) in try problems() {
            let reference = referenceProduct(a, b)
            if let scipyNorm {
                XCTAssertEqual(reference.frobeniusNorm, scipyNorm, accuracy: 1e-12 * scipyNorm, "\(name): reference vs scipy")
            }
            var privatePath: CSRMatrix?
            // (threads, heavy-row threshold, sorted): private and atomic paths, T = 1, 2, 3.
            // Both private accumulators (hash, dense) are exercised explicitly.
            // Pass structures: automatic, and each forced (one pass keeps two for heavy rows).
            let configurations: [(Int, Int?, Bool, AccumulatorChoice, PassChoice)] = [
                (1, nil, false, .automatic, .automatic), (1, nil, true, .hash, .two), (2, nil, false, .hash, .one),
                (2, nil, true, .dense, .one), (3, nil, true, .automatic, .one), (2, nil, false, .dense, .two),
                (1, 1, false, .automatic, .automatic), (2, 1, false, .automatic, .one), (2, 1, true, .automatic, .automatic),
                (3, 50, true, .hash, .one)]
            for (threads, threshold, sorted, accumulator, passes) in configurations {
                do {
                    do {
                        var options = SpGEMMOptions()
                        options.threads = threads
                        options.heavyRowThreshold = threshold
                        options.sortedOutput = sorted
                        options.accumulator = accumulator
                        options.passes = passes
                        var stats = SpGEMMStatistics()
                        let c = try LocalSpGEMM.multiply(a, b, options: options, workspace: workspace, statistics: &stats)
                        let label = "\(name) T=\(threads) threshold=\(threshold.map(String.init) ?? "auto") sorted=\(sorted) \(accumulator) passes=\(passes)"
                        XCTAssertEqual(c.rowPointers.count, a.rows + 1, label)
                        XCTAssertEqual(c.rowPointers.last, c.nonzeros, label)
                        if passes == .one { XCTAssertEqual(stats.passes, stats.heavyRows == 0 ? 1 : 2, label) }
                        if passes == .two { XCTAssertEqual(stats.passes, 2, label) }
                        XCTAssertEqual(c.rows, a.rows)
                        XCTAssertEqual(c.columns, b.columns)
                        XCTAssertEqual(c.nonzeros, reference.nonzeros, label)
                        XCTAssertLessThanOrEqual(c.frobeniusDistance(to: reference), 1e-12 * reference.frobeniusNorm, label)
                        XCTAssertEqual(c.columnsSorted, sorted)
                        if sorted {
                            for i in 0..<c.rows where c.rowRange(i).count > 1 {
                                let r = c.rowRange(i)
                                XCTAssertTrue(zip(c.columnIndices[r], c.columnIndices[r].dropFirst()).allSatisfy { $0 < $1 }, label)
                            }
                        }
                        if threshold == 1 {
                            // Every row with work went through the shared atomic table.
                            XCTAssertEqual(stats.heavyRows, (0..<a.rows).filter { i in a.rowRange(i).contains { b.rowRange(Int(a.columnIndices[$0])).count > 0 } }.count, label)
                        }
                        if threshold == nil, threads == 1 {
                            XCTAssertEqual(stats.heavyRows, 0, "T = 1 never splits rows by default")
                            if let privatePath { XCTAssertEqual(c.sortedColumns(), privatePath.sortedColumns()) } else { privatePath = c }
                        }
                        XCTAssertEqual(stats.multiplyAdds, (0..<a.rows).reduce(0) { s, i in
                            s + a.rowRange(i).reduce(0) { $0 + b.rowRange(Int(a.columnIndices[$1])).count } }, label)
                    }
                }
            }
        }
    }

    func testPrivatePathIsBitwiseIndependentOfThreadCount() throws {
        let a = GeneratorSpec.rmat(scale: 11, edgeFactor: 16, seed: 4).matrix()
        var options = SpGEMMOptions()
        options.sortedOutput = true
        options.heavyRowThreshold = Int.max
        let one = try LocalSpGEMM.multiply(a, a, options: options)
        for threads in [2, 4] {
            options.threads = threads
            XCTAssertEqual(try LocalSpGEMM.multiply(a, a, options: options), one)
        }
    }

    func testAtomicPathHandlesContentionOnFewColumns() throws {
        // Every product lands on one of 3 columns: maximal CAS contention.
        var t = TripletBuilder(rows: 1, columns: 4000)
        for k in 0..<4000 { t.append(row: 0, column: k, value: Double(k % 7) + 0.5) }
        var u = TripletBuilder(rows: 4000, columns: 3)
        for k in 0..<4000 { for j in 0..<3 { u.append(row: k, column: j, value: Double((k + j) % 5) - 2) } }
        let a = t.csr(), b = u.csr()
        var options = SpGEMMOptions()
        options.threads = 4
        options.heavyRowThreshold = 1
        options.sortedOutput = true
        let c = try LocalSpGEMM.multiply(a, b, options: options)
        let reference = referenceProduct(a, b)
        XCTAssertEqual(c.nonzeros, 3)
        XCTAssertLessThanOrEqual(c.frobeniusDistance(to: reference), 1e-12 * reference.frobeniusNorm)
    }

    func testEmptyShapesAndRows() throws {
        let zeroRows = CSRMatrix(rows: 0, columns: 5)
        let b = GeneratorSpec.grid2d(n: 3, shift: 0).matrix()
        var c = try LocalSpGEMM.multiply(CSRMatrix(rows: 0, columns: 9), b)
        XCTAssertEqual([c.rows, c.columns, c.nonzeros], [0, 9, 0])
        c = try LocalSpGEMM.multiply(CSRMatrix(rows: 4, columns: 0), CSRMatrix(rows: 0, columns: 6))
        XCTAssertEqual([c.rows, c.columns, c.nonzeros], [4, 6, 0])
        c = try LocalSpGEMM.multiply(CSRMatrix(rows: 4, columns: 5), zeroRows.transposed())
        XCTAssertEqual([c.rows, c.columns, c.nonzeros], [4, 0, 0])
        // Empty rows in A and empty rows in B.
        var t = TripletBuilder(rows: 5, columns: 5)
        t.append(row: 1, column: 2, value: 3)
        t.append(row: 4, column: 0, value: 1)
        var u = TripletBuilder(rows: 5, columns: 4)
        u.append(row: 2, column: 3, value: 2)
        c = try LocalSpGEMM.multiply(t.csr(), u.csr(), options: { var o = SpGEMMOptions(); o.threads = 2; o.heavyRowThreshold = 1; return o }())
        XCTAssertEqual(c.rowPointers, [0, 0, 1, 1, 1, 1])
        XCTAssertEqual(c.entry(1, 3), 6)
    }

    func testShapeMismatchIsAnError() {
        XCTAssertThrowsError(try LocalSpGEMM.multiply(CSRMatrix(rows: 3, columns: 4), CSRMatrix(rows: 5, columns: 2))) { error in
            XCTAssertEqual("\(error)", "shape mismatch: A is 3 × 4 but B is 5 × 2")
        }
    }

    func testWorkspaceReuseAcrossDifferentProducts() throws {
        let workspace = SpGEMMWorkspace()
        let big = GeneratorSpec.erdosRenyi(scale: 10, edgeFactor: 16, seed: 1).matrix()
        let small = GeneratorSpec.grid2d(n: 6, shift: 1).matrix()
        for (a, b) in [(big, big), (small, small), (big, big)] {
            var options = SpGEMMOptions()
            options.threads = 2
            let c = try LocalSpGEMM.multiply(a, b, options: options, workspace: workspace)
            XCTAssertLessThanOrEqual(c.frobeniusDistance(to: referenceProduct(a, b)), 1e-12 * c.frobeniusNorm)
        }
    }
}

final class AccumulatorTests: XCTestCase {
    func testHashAndDenseAgreeOnWideMatrices() throws {
        // B wider than the automatic dense limit forces the hash accumulator.
        var t = TripletBuilder(rows: 300, columns: 700_000)
        for e in 0..<6000 {
            let bits = CounterRandom.bits(seed: 11, counter: UInt64(e))
            t.append(row: Int(bits % 300), column: Int((bits >> 20) % 700_000), value: CounterRandom.unit(bits))
        }
        let b = t.csr()
        var u = TripletBuilder(rows: 40, columns: 300)
        for e in 0..<800 { let bits = CounterRandom.bits(seed: 12, counter: UInt64(e)); u.append(row: Int(bits % 40), column: Int((bits >> 20) % 300), value: 1) }
        let a = u.csr()
        let reference = referenceProduct(a, b)
        for choice in AccumulatorChoice.allCases {
            for sorted in [false, true] {
                var options = SpGEMMOptions()
                options.accumulator = choice
                options.sortedOutput = sorted
                let c = try LocalSpGEMM.multiply(a, b, options: options)
                XCTAssertEqual(c.nonzeros, reference.nonzeros, "\(choice)")
                XCTAssertLessThanOrEqual(c.frobeniusDistance(to: reference), 1e-13 * reference.frobeniusNorm, "\(choice)")
                if sorted { XCTAssertEqual(c, reference, "\(choice) sorted output is exactly the reference's order") }
            }
        }
    }
}

/// The orderings a sorted row can take (bitmap-indexed accumulation read off
/// by the column span or by the summary bitmap, bitmap scan of a column list,
/// two-pass radix, insertion for short rows)
/// and both pass structures, against the reference's exact order and values.
final class RowOrderingTests: XCTestCase {
    /// B's row k holds `pattern(k)` (columns), values from a counter RNG; A picks rows of B.
    func product(columns: Int, patterns: [[Int]], aRows: [[Int]]) -> (CSRMatrix, CSRMatrix) {
        var u = TripletBuilder(rows: patterns.count, columns: columns)
        for (k, row) in patterns.enumerated() {
            for (e, j) in row.enumerated() {
                u.append(row: k, column: j, value: CounterRandom.unit(CounterRandom.bits(seed: 5, counter: UInt64(k * 100_000 + e))) - 0.5)
            }
        }
        var t = TripletBuilder(rows: aRows.count, columns: patterns.count)
        for (i, row) in aRows.enumerated() { for (e, k) in row.enumerated() { t.append(row: i, column: k, value: Double(e + 1)) } }
        return (t.csr(), u.csr())
    }

    func testSortedRowsMatchReferenceOnEveryOrderingPath() throws {
        let wide = 1 << 19   // the widest B that still takes the dense accumulator
        var patterns: [[Int]] = []
        // 0–3: 12 spread columns each (an ER-like row of 48: radix sort).
        for k in 0..<4 { patterns.append((0..<12).map { ($0 * 43_691 + k * 9_973 + 17) % wide }) }
        // 4–5: 14 columns inside 900 (a 28-entry row, dense in its span: bitmap scan).
        for k in 4..<6 { patterns.append((0..<14).map { 200_000 + ($0 * 61 + k * 7) % 900 }) }
        // 6–7: 40 clustered columns plus 2 far apart (wide span: radix sort).
        for k in 6..<8 { patterns.append((0..<40).map { 300_000 + $0 * 3 + k } + [k, wide - 1 - k]) }
        // 8: 9 columns (with row 9: an 18-entry row, insertion sort).
        patterns.append([5, 900, 70_000, 12, 400_000, 3, 250_001, 250_000, 99])
        patterns.append([6, 901, 70_001, 11, 400_001, 2, 250_002, 249_999, 98])
        // Row 6 (about 130 entries over the whole width): bitmap-indexed, read off by the summary bitmap.
        let aRows = [[0, 1, 2, 3], [4, 5], [6, 7], [8, 9], [], [0, 4, 6, 8], [0, 1, 2, 3, 6, 7, 8]]
        let (a, b) = product(columns: wide, patterns: patterns, aRows: aRows)
        // The same rows in a narrow B (4,096 columns): long rows take the bitmap-indexed accumulation,
        // read off the words between the smallest and largest column.
        let narrowPatterns = patterns.map { row in row.map { $0 % 4096 } }.map { Array(Set($0)).sorted() }
        let (a2, b2) = product(columns: 4096, patterns: narrowPatterns, aRows: aRows)
        for (name, a, b) in [("wide", a, b), ("narrow", a2, b2)] {
            let reference = referenceProduct(a, b)
            for passes in PassChoice.allCases {
                for threads in [1, 2, 3] {
                    var options = SpGEMMOptions()
                    options.sortedOutput = true
                    options.threads = threads
                    options.passes = passes
                    options.heavyRowThreshold = Int.max
                    let c = try LocalSpGEMM.multiply(a, b, options: options)
                    XCTAssertEqual(c, reference, "\(name) \(passes) T=\(threads)")
                }
            }
        }
    }

    /// Explicit zeros: products of −1 and +0 are −0.0. Every accumulator and
    /// pass structure must store the same bits (−0.0 stays −0.0), so output
    /// files do not depend on which path a row took.
    func testSignedZerosAreKeptBitForBitOnEveryPath() throws {
        var u = TripletBuilder(rows: 3, columns: 4096)
        for e in 0..<40 {
            u.append(row: 0, column: e * 97, value: 0.0)            // all products −0.0
            u.append(row: 1, column: e * 101 + 1, value: Double(e % 3) - 1)
            u.append(row: 2, column: e * 89 + 2, value: e % 2 == 0 ? 0.0 : -0.0)
        }
        var t = TripletBuilder(rows: 2, columns: 3)
        t.append(row: 0, column: 0, value: -1)
        t.append(row: 1, column: 1, value: -2)
        t.append(row: 1, column: 2, value: 3)
        let a = t.csr(), b = u.csr()
        var results: [(String, [UInt64], [Int32])] = []
        for accumulator in [AccumulatorChoice.dense, .hash] {
            for passes in [PassChoice.one, .two] {
                for heavyThreshold in [Int.max, 1] {   // private, then the shared atomic table
                    var options = SpGEMMOptions()
                    options.sortedOutput = true
                    options.accumulator = accumulator
                    options.passes = passes
                    options.threads = 2
                    options.heavyRowThreshold = heavyThreshold
                    let c = try LocalSpGEMM.multiply(a, b, options: options)
                    results.append(("\(accumulator) \(passes) heavy ≥ \(heavyThreshold)", c.values.map(\.bitPattern), c.columnIndices))
                }
            }
        }
        XCTAssertTrue(results[0].1.contains((-0.0).bitPattern), "the product has −0.0 entries")
        for (label, bits, columns) in results.dropFirst() {
            XCTAssertEqual(bits, results[0].1, label)
            XCTAssertEqual(columns, results[0].2, label)
        }
    }

    func testAutomaticPassChoiceFollowsCompression() throws {
        // ER: flops ≈ nnz(C) → one pass; a 2D grid Laplacian squared compresses (cf ≈ 2.8) → two.
        let er = GeneratorSpec.erdosRenyi(scale: 12, edgeFactor: 8, seed: 3).matrix()
        let grid = GeneratorSpec.grid2d(n: 60, shift: 0).matrix()
        for (matrix, expected) in [(er, 1), (grid, 2)] {
            var options = SpGEMMOptions()
            options.threads = 2
            var stats = SpGEMMStatistics()
            let c = try LocalSpGEMM.multiply(matrix, matrix, options: options, statistics: &stats)
            XCTAssertEqual(stats.passes, expected, "cf \(stats.compressionFactor)")
            XCTAssertLessThanOrEqual(c.frobeniusDistance(to: referenceProduct(matrix, matrix)), 1e-12 * c.frobeniusNorm)
        }
    }

    func testSinglePassWithMoreThreadsThanRows() throws {
        let (a, b) = product(columns: 64, patterns: [[1, 5, 9], [2, 5], [63]], aRows: [[0, 1], [2]])
        var options = SpGEMMOptions()
        options.threads = 5
        options.passes = .one
        options.sortedOutput = true
        var stats = SpGEMMStatistics()
        let c = try LocalSpGEMM.multiply(a, b, options: options, statistics: &stats)
        XCTAssertEqual(stats.passes, 1)
        XCTAssertEqual(c, referenceProduct(a, b))
    }
}
