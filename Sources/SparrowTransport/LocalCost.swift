import SparrowCore
import SparrowMPI

/// This rank's rows of the cost matrix: dense (every column, row-major) or a
/// sparse kernel (each row's columns listed, CSR). The plan and the Hessian
/// share this layout, so every pass walks it the same way.
public struct LocalCost: Sendable {
    /// Offsets of each local row in `values` (rows + 1 entries).
    public var rowStart: [Int]
    /// Column of each value; nil when every row holds all columns in order.
    public var columnIndices: [Int32]?
    public var values: [Double]

    public var rows: Int { rowStart.count - 1 }
    public var entries: Int { values.count }
    public var isDense: Bool { columnIndices == nil }

    public init(rowStart: [Int], columnIndices: [Int32]?, values: [Double]) {
        self.rowStart = rowStart
        self.columnIndices = columnIndices
        self.values = values
    }

    /// Dense row-major rows, `columns` wide.
    public init(denseRows values: [Double], columns: Int) {
        let rows = columns == 0 ? 0 : values.count / columns
        self.init(rowStart: (0...rows).map { $0 * columns }, columnIndices: nil, values: values)
    }

    /// Adds every entry (global row, column, cost) to a digest.
    func addRows(to digest: inout ContentDigest, firstRow: Int) {
        for i in 0..<rows {
            for e in rowStart[i]..<rowStart[i + 1] {
                let j = columnIndices.map { Int($0[e]) } ?? (e - rowStart[i])
                digest.add(row: firstRow + i, column: j, value: values[e])
            }
        }
    }

    /// Row ranges of near-equal entry counts, one per thread.
    func threadRanges(_ threads: Int) -> [Range<Int>] {
        let parts = max(1, min(threads, rows))
        return rowStart.withUnsafeBufferPointer { balancedRanges(prefix: $0, parts: parts) }
    }
}

/// A transport problem as one rank holds it: its rows of the cost, its part of
/// the row marginal r, and the whole column marginal c (the columns' duals are
/// replicated, so a column update is one allreduce).
public struct TransportProblem: Sendable {
    public let rows: Int
    public let columns: Int
    public let partition: RowPartition
    public var cost: LocalCost
    public let rowMarginal: [Double]
    public let columnMarginal: [Double]

    public init(rows: Int, columns: Int, partition: RowPartition, cost: LocalCost, rowMarginal: [Double], columnMarginal: [Double]) {
        self.rows = rows
        self.columns = columns
        self.partition = partition
        self.cost = cost
        self.rowMarginal = rowMarginal
        self.columnMarginal = columnMarginal
    }

    /// Checks marginals: positive, finite, of equal mass (relative 1e-9).
    public static func checkMarginals(_ r: [Double], _ c: [Double], rowSource: String, columnSource: String,
                                      communicator: Communicator) throws(SparrowError) {
        let local = try communicator.everywhere { () throws(SparrowError) -> Double in
            for (i, v) in r.enumerated() where !(v.isFinite && v > 0) {
                throw .input(file: rowSource, line: nil, message: "row marginal entry \(i + 1) is \(v); marginals must be positive and finite")
            }
            for (j, v) in c.enumerated() where !(v.isFinite && v > 0) {
                throw .input(file: columnSource, line: nil, message: "column marginal entry \(j + 1) is \(v); marginals must be positive and finite")
            }
            return r.reduce(0, +)
        }
        let rowMass = communicator.allreduce(local, .sum)
        let columnMass = c.reduce(0, +)
        guard rowMass.isFinite, columnMass.isFinite else {
            throw .input(file: rowMass.isFinite ? columnSource : rowSource, line: nil, message: "the marginal's mass overflows (\(rowMass.isFinite ? columnMass : rowMass))")
        }
        if abs(rowMass - columnMass) > 1e-9 * max(rowMass, columnMass) {
            // Named by the file the user gave (a uniform marginal takes the other's mass).
            let uniformColumns = columnSource.hasPrefix("the uniform")
            throw .input(file: uniformColumns ? rowSource : columnSource, line: nil,
                         message: uniformColumns
                            ? "sums to \(rowMass), but \(columnSource) has mass \(columnMass); the marginals must have equal mass"
                            : "sums to \(columnMass), but \(rowSource) sums to \(rowMass); the marginals must have equal mass")
        }
    }

    /// Refuses costs whose products with η leave double precision (every exponent the
    /// solver forms is η times a cost difference): `largest` is the largest cost as scaled.
    public static func checkScale(largest: Double, eta: Double, source: String) throws(SparrowError) {
        guard largest.isFinite else {
            throw .input(file: source, line: nil, message: "the costs overflow double precision (the largest is \(largest)); scale the data")
        }
        guard largest * eta <= 1e300 else {
            throw .input(file: source, line: nil, message: "η = \(eta) times the largest cost \(largest) overflows double precision; use --normalize or a smaller --eta")
        }
    }
}
