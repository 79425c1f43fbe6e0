import Foundation
import XCTest
@testable import SparrowCore

/// The reader against files another implementation wrote (scipy.io.mmwrite,
/// Fixtures/scipy/README.md), compared entry by entry with the dense matrices
/// spelled out here; then Sparrow's writer read back by the same comparison.
final class ScipyFixtureTests: XCTestCase {
    /// (file, dense matrix row by row) exactly as given to scipy.
    static let cases: [(String, [[Double]])] = [
        ("general_real.mtx", [[1.5, 0, -2.25], [0, 0, 3e-7], [4e20, 0, 0], [0, -1, 0]]),
        ("symmetric_real.mtx", [[4, 1, 0, 0.5], [1, 3, -1, 0], [0, -1, 2, 0], [0.5, 0, 0, 1]]),
        ("symmetric_pattern.mtx", [[0, 1, 1], [1, 0, 0], [1, 0, 1]]),
        ("general_integer.mtx", [[7, 0], [0, -3], [12, 0]]),
        ("array_real.mtx", [[1, 2.5], [-3, 4e-3], [5, 6]]),
        ("skew_real.mtx", [[0, 2, 0], [-2, 0, -1], [0, 1, 0]]),
    ]

    private func assertEqual(_ matrix: CSRMatrix, _ dense: [[Double]], _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(matrix.rows, dense.count, name, file: file, line: line)
        XCTAssertEqual(matrix.columns, dense.first?.count ?? 0, name, file: file, line: line)
        for i in dense.indices {
            for j in dense[i].indices {
                XCTAssertEqual(matrix.entry(i, j), dense[i][j], "\(name)[\(i + 1), \(j + 1)]", file: file, line: line)
            }
        }
    }

    func testScipyWrittenFilesReadAsTheMatricesScipyWasGiven() throws {
        for (name, dense) in Self.cases {
            assertEqual(try MatrixMarket.readCSR(path: Fixtures.path("scipy/" + name)), dense, name)
        }
    }

    func testSparrowWritesWhatItReadAndReadsItBackEqual() throws {
        let scratch = TemporaryDirectory()
        for (name, dense) in Self.cases where name != "array_real.mtx" {
            let file = try MatrixMarket.read(path: Fixtures.path("scipy/" + name))
            let path = scratch.path + "/" + name
            try MatrixMarket.write(file.csr(), to: path, field: file.header.field, symmetry: file.header.symmetry)
            let again = try MatrixMarket.read(path: path)
            XCTAssertEqual(again.header.symmetry, file.header.symmetry, name)
            XCTAssertEqual(again.header.declaredEntries, file.header.declaredEntries, "stores the same triangle as scipy: \(name)")
            assertEqual(again.csr(), dense, name)
        }
        let array = try MatrixMarket.readDense(path: Fixtures.path("scipy/array_real.mtx"))
        let path = scratch.path + "/array.mtx"
        try MatrixMarket.write(array, to: path)
        XCTAssertEqual(try MatrixMarket.readDense(path: path).values, [1, -3, 5, 2.5, 4e-3, 6], "column-major, as the format stores it")
    }
}
