import XCTest
@testable import SparrowCore

final class MatrixMarketTests: XCTestCase {
    /// (file, rows, columns, stored, nnz) computed independently with scipy (Fixtures/README.md).
    static let fixtures: [(String, Int, Int, Int, Int)] = [
        ("ash219.mtx", 219, 85, 438, 438), ("bayer10.mtx", 13436, 13436, 94926, 94926),
        ("bcspwr10.mtx", 5300, 5300, 13571, 21842), ("bcsstk13.mtx", 2003, 2003, 42943, 83883),
        ("jagmesh7.mtx", 1138, 1138, 4294, 7450), ("karate.mtx", 34, 34, 78, 156),
        ("west0067.mtx", 67, 67, 294, 294), ("fe_4elt2.mtx", 11143, 11143, 32818, 65636),
    ]

    func testFixtureShapesAndCounts() throws {
        for (name, rows, columns, stored, nnz) in Self.fixtures {
            for threads in [1, 2, 3] {
                let file = try MatrixMarket.read(path: Fixtures.path(name), threads: threads)
                XCTAssertEqual(file.header.rows, rows, name)
                XCTAssertEqual(file.header.columns, columns, name)
                XCTAssertEqual(file.header.declaredEntries, stored, name)
                XCTAssertEqual(file.csr().nonzeros, nnz, name)
            }
        }
    }

    func testKnownEntries() throws {
        // west0067 line "2 1 -0.0354..." style spot checks against the raw text.
        let a = try MatrixMarket.readCSR(path: Fixtures.path("bcsstk13.mtx"))
        XCTAssertTrue(a.isSymmetric)
        let karate = try MatrixMarket.readCSR(path: Fixtures.path("karate.mtx"))
        XCTAssertEqual(karate.entry(1, 0), 1)
        XCTAssertEqual(karate.entry(0, 1), 1)
        XCTAssertEqual(karate.entry(0, 0), 0)
    }

    func testThreadCountDoesNotChangeResult() throws {
        let one = try MatrixMarket.readCSR(path: Fixtures.path("bayer10.mtx"), threads: 1)
        for threads in [2, 4, 7] {
            XCTAssertEqual(try MatrixMarket.readCSR(path: Fixtures.path("bayer10.mtx"), threads: threads), one)
        }
    }

    private func roundTrip(_ a: CSRMatrix, field: MatrixMarketHeader.Field, symmetry: MatrixMarketHeader.Symmetry) throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/m.mtx"
        try MatrixMarket.write(a, to: path, field: field, symmetry: symmetry, comment: "round trip\nsecond line")
        let file = try MatrixMarket.read(path: path)
        XCTAssertEqual(file.header.field, field)
        XCTAssertEqual(file.header.symmetry, symmetry)
        XCTAssertEqual(file.csr(), a.sortedColumns())
        XCTAssertEqual(dir.entries, ["m.mtx"], "no temporary file left behind")
    }

    func testRoundTripGeneralSymmetricSkewPatternInteger() throws {
        let general = try MatrixMarket.readCSR(path: Fixtures.path("bayer10.mtx"))
        try roundTrip(general, field: .real, symmetry: .general)
        let symmetric = try MatrixMarket.readCSR(path: Fixtures.path("bcsstk13.mtx"))
        try roundTrip(symmetric, field: .real, symmetry: .symmetric)
        try roundTrip(symmetric, field: .real, symmetry: .general)
        let pattern = try MatrixMarket.readCSR(path: Fixtures.path("bcspwr10.mtx"))
        try roundTrip(pattern, field: .pattern, symmetry: .symmetric)
        // Skew: S = L − Lᵀ from a random strictly lower L.
        var t = TripletBuilder(rows: 50, columns: 50)
        for e in 0..<300 {
            let i = Int(CounterRandom.bits(seed: 3, counter: UInt64(e)) % 50), j = Int(CounterRandom.bits(seed: 4, counter: UInt64(e)) % 50)
            if i > j {
                let v = CounterRandom.unit(CounterRandom.bits(seed: 5, counter: UInt64(e)))
                t.append(row: i, column: j, value: v)
                t.append(row: j, column: i, value: -v)
            }
        }
        try roundTrip(t.csr(), field: .real, symmetry: .skewSymmetric)
        var integer = TripletBuilder(rows: 4, columns: 6)
        integer.append(row: 0, column: 5, value: -12)
        integer.append(row: 3, column: 1, value: 987_654_321)
        try roundTrip(integer.csr(), field: .integer, symmetry: .general)
    }

    func testRoundTripArray() throws {
        let dir = TemporaryDirectory()
        var values = [Double]()
        for e in 0..<(7 * 3) { values.append(CounterRandom.unit(CounterRandom.bits(seed: 1, counter: UInt64(e))) - 0.5) }
        let dense = DenseMatrix(rows: 7, columns: 3, values: values)
        try MatrixMarket.write(dense, to: dir.path + "/x.mtx")
        XCTAssertEqual(try MatrixMarket.readDense(path: dir.path + "/x.mtx"), dense)
        // Symmetric array: lower triangle column by column.
        let path = dir.file("s.mtx", "%%MatrixMarket matrix array real symmetric\n2 2\n1\n2\n3\n")
        let s = try MatrixMarket.readDense(path: path)
        XCTAssertEqual(s.values, [1, 2, 2, 3])
    }

    func testRefusesToWriteNonSymmetricAsSymmetric() throws {
        let a = try MatrixMarket.readCSR(path: Fixtures.path("west0067.mtx"))
        let dir = TemporaryDirectory()
        XCTAssertThrowsError(try MatrixMarket.write(a, to: dir.path + "/x.mtx", symmetry: .symmetric))
        XCTAssertEqual(dir.entries, [], "a failed write leaves nothing behind")
    }

    func testLenientButCorrectSyntax() throws {
        let dir = TemporaryDirectory()
        let text = "%%matrixmarket MATRIX Coordinate REAL General\r\n% comment\r\n\r\n  3 3 3  \r\n1 1 1.5\r\n\r\n% mid comment\r\n2\t3\t-2e1\r\n3 3 .25"
        let a = try MatrixMarket.readCSR(path: dir.file("ok.mtx", text))
        XCTAssertEqual(a.nonzeros, 3)
        XCTAssertEqual(a.entry(1, 2), -20)
        XCTAssertEqual(a.entry(2, 2), 0.25)
    }

    func testDuplicatesAreSummed() throws {
        let dir = TemporaryDirectory()
        let a = try MatrixMarket.readCSR(path: dir.file("d.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 3\n1 1 1\n1 1 2\n2 1 4\n"))
        XCTAssertEqual(a.nonzeros, 2)
        XCTAssertEqual(a.entry(0, 0), 3)
    }

    func testMalformedFilesGiveFileAndLine() throws {
        let cases = try MalformedCases.load()
        XCTAssertGreaterThanOrEqual(cases.count, 20)
        for c in cases {
            let path = Fixtures.path("malformed/" + c.file)
            for threads in [1, 3] {
                do {
                    _ = try MatrixMarket.read(path: path, threads: threads).csr()
                    XCTFail("\(c.file) was accepted")
                } catch {
                    XCTAssertEqual(error, .input(file: path, line: c.line, message: error.message), c.file)
                    XCTAssertTrue(error.description.contains(c.fragment), "\(c.file): \(error)")
                    XCTAssertFalse(error.description.contains("\n"))
                }
            }
        }
    }

    func testMissingFile() {
        XCTAssertThrowsError(try MatrixMarket.read(path: "/nonexistent/x.mtx")) { error in
            XCTAssertTrue("\(error)".hasPrefix("/nonexistent/x.mtx: cannot open"))
        }
    }
}

extension SparrowError {
    var message: String {
        switch self {
        case let .input(_, _, m), let .field(_, m), let .output(_, m): return m
        case let .usage(m), let .computation(m), let .interrupted(_, m): return m
        case let .located(_, _, _, _, m): return m
        case let .several(errors): return errors.map(\.message).joined(separator: "; ")
        }
    }
}

struct MalformedCases {
    let file: String
    let line: Int
    let fragment: String

    static func load() throws -> [MalformedCases] {
        let text = try String(contentsOfFile: Fixtures.path("malformed/cases.tsv"), encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { row in
            let f = row.split(separator: "\t").map(String.init)
            return MalformedCases(file: f[0], line: Int(f[1])!, fragment: f[2])
        }
    }
}
