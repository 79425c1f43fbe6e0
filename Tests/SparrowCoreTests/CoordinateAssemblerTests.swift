import XCTest
@testable import SparrowCore

/// The in-order shortcut must give exactly what the sorting assembler gives, and step aside otherwise.
final class CoordinateAssemblerTests: XCTestCase {
    private func sorted(_ rows: Int, _ columns: Int, _ r: [Int32], _ c: [Int32], _ v: [Double]) -> CSRMatrix {
        r.withUnsafeBufferPointer { rb in
            c.withUnsafeBufferPointer { cb in
                v.withUnsafeBufferPointer { vb in CoordinateAssembler.csr(rows: rows, columns: columns, rowIndices: rb, columnIndices: cb, values: vb) }
            }
        }
    }

    func testRowMajorEntriesBecomeCSRWithoutMoving() {
        // Row 1 empty, row 3 last: pointers must still be right.
        let r: [Int32] = [0, 0, 2, 3, 3], c: [Int32] = [0, 2, 1, 0, 3], v = [1.0, 2, 3, 4, 5]
        let fast = CoordinateAssembler.csrIfRowMajor(rows: 4, columns: 4, rowIndices: r, columnIndices: c, values: v)
        XCTAssertEqual(fast, sorted(4, 4, r, c, v))
        XCTAssertEqual(fast?.rowPointers, [0, 2, 2, 3, 5])
        XCTAssertEqual(fast?.entry(3, 3), 5)
    }

    func testAnyOtherOrderIsLeftToTheSortingAssembler() {
        let v = [1.0, 2, 3]
        XCTAssertNil(CoordinateAssembler.csrIfRowMajor(rows: 3, columns: 3, rowIndices: [1, 0, 2], columnIndices: [0, 0, 0], values: v), "rows out of order")
        XCTAssertNil(CoordinateAssembler.csrIfRowMajor(rows: 3, columns: 3, rowIndices: [0, 0, 2], columnIndices: [2, 1, 0], values: v), "columns out of order")
        XCTAssertNil(CoordinateAssembler.csrIfRowMajor(rows: 3, columns: 3, rowIndices: [0, 0, 2], columnIndices: [1, 1, 0], values: v), "a duplicate to sum")
        XCTAssertNil(CoordinateAssembler.csrIfRowMajor(rows: 2, columns: 3, rowIndices: [0, 1, 2], columnIndices: [0, 0, 0], values: v), "row beyond the shape")
        XCTAssertNil(CoordinateAssembler.csrIfRowMajor(rows: 3, columns: 3, rowIndices: [0, 1, 2], columnIndices: [0, 0, 0], values: []), "pattern values")
    }
}
