import SparrowCore
@testable import SparrowJobs
import XCTest

final class JobSummaryTests: XCTestCase {
    /// The table has a header and one aligned row per step, with the op's figures in their
    /// order, skipping those the step did not report and entries that are not steps.
    func testOneAlignedRowPerStepWithItsOpsFigures() {
        let history: [[(String, JSONValue)]] = [
            [("step", .string("square")), ("op", .string("spgemm")), ("seconds", .number(0.16512)),
             ("flops", .integer(106_484_606)), ("nnz_c", .integer(20_382_546))],
            [("step", .string("sparsifier")), ("op", .string("sparsify")), ("seconds", .number(12.3456)),
             ("kappa", .number(15.941878)), ("edges_h", .integer(48000)), ("unrelated", .integer(7))],
            [("note", .string("not a step"))],
            [("step", .string("x")), ("op", .string("made_up_op")), ("seconds", .number(2e-5))],
        ]
        let lines = JobSummary.lines(history)
        XCTAssertEqual(lines, [
            "step        op          seconds  result",
            "square      spgemm       0.1651  nnz_c 20382546, flops 106484606",
            "sparsifier  sparsify      12.35  edges_h 48000, kappa 15.94",
            "x           made_up_op    2e-05",
        ])
    }
}
