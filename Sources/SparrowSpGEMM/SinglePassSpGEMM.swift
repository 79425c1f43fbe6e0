#if canImport(Glibc)
import Glibc
#endif
import SparrowCore

// Single-pass row-wise product for products that barely compress.
//
// The symbolic pass exists to size C exactly. When almost every partial
// product lands in a column of its own (compression factor flops/nnz(C) near
// 1, as for Erdős–Rényi and other expander-like matrices) the row's flop count
// is already a tight bound on its length, so the symbolic pass re-gathers every
// B row only to learn what the flop counts said. This variant skips it (the
// "upper-bound" allocation of Nagasaka et al., ICPP 2018, and of the
// one-phase ESC/hash SpGEMMs):
//
//   estimate cf from every 64th row (a symbolic count of a sample)
//   if cf ≤ 1.25 and no row is heavy:
//       C = arrays of nnz ≤ Σ flops entries (pages are touched only where written)
//       thread t writes its rows back to back from flopsBefore(first row of t)
//       slide each thread's segment down to where the previous one ended
//
// Each thread's segment moves at most once, in order, with memmove (the
// destination is never above the source). The bound wastes at most
// (cf − 1)/cf of C's capacity, never touched memory beyond what is written.

/// Which pass structure a product uses.
public enum PassChoice: String, Sendable, CaseIterable {
    /// One pass when a sampled compression factor is at most `singlePassCompressionLimit`
    /// and no row takes the shared atomic table; two passes otherwise.
    case automatic
    /// Symbolic (count) then numeric (values): C sized exactly.
    case two
    /// Numeric pass only, into flop-bounded arrays (heavy rows still take two passes).
    case one
}

extension LocalSpGEMM {
    /// Above this sampled compression factor the flop bound over-allocates too much.
    static let singlePassCompressionLimit = 1.25
    /// Every this-many-th row is counted to estimate the compression factor.
    static let compressionSampleStride = 64

    /// flops / distinct columns over every `compressionSampleStride`-th row.
    static func sampledCompression(_ a: CSRMatrix, _ b: CSRMatrix, rowFlops: [Int], accumulator: RowAccumulator,
                                   choice: AccumulatorChoice) -> Double {
        var sampledFlops = 0, sampledNonzeros = 0
        ProductOperands.with(a, b) { op in
            for i in stride(from: 0, to: a.rows, by: compressionSampleStride) where rowFlops[i] > 0 {
                sampledFlops += rowFlops[i]
                sampledNonzeros += accumulator.countRow(i, aPtr: op.aPtr, aCol: op.aCol, bPtr: op.bPtr, bCol: op.bCol,
                                                        flops: rowFlops[i], columns: b.columns, choice: choice)
            }
        }
        return sampledNonzeros > 0 ? Double(sampledFlops) / Double(sampledNonzeros) : .infinity
    }

    /// C = A·B in one numeric pass. `ranges` are the threads' contiguous row
    /// ranges in order; no row may be heavy.
    static func multiplySinglePass(_ a: CSRMatrix, _ b: CSRMatrix, rowFlops: [Int], ranges: [Range<Int>],
                                   accumulators: [RowAccumulator], choice: AccumulatorChoice,
                                   sorted: Bool) -> CSRMatrix {
        let m = a.rows, n = b.columns, threads = ranges.count
        // Where each thread starts writing: the flops of all rows before its first.
        var starts = [Int](repeating: 0, count: threads)
        var bound = 0
        for t in 0..<threads {
            starts[t] = bound
            for i in ranges[t] { bound += rowFlops[i] }
        }
        let segmentStarts = starts
        let capacity = max(1, bound)
        var rowCounts = [Int](repeating: 0, count: m + 1)
        let written = SharedBuffer<Int>(count: threads, repeating: 0)
        var nonzeros = 0
        var values: [Double] = []
        let columns = [Int32](unsafeUninitializedCapacity: capacity) { columnBuffer, columnCount in
            values = [Double](unsafeUninitializedCapacity: capacity) { valueBuffer, valueCount in
                rowFlops.withUnsafeBufferPointer { fl in
                rowCounts.withUnsafeMutableBufferPointer { rc in
                ProductOperands.with(a, b) { op in
                    let flops = SharedReadPointer(fl.baseAddress!), counts = SharedPointer(rc.baseAddress!)
                    let cCol = SharedPointer(columnBuffer.baseAddress!), cVal = SharedPointer(valueBuffer.baseAddress!)
                    parallelTasks(threads) { t in
                        let accumulator = accumulators[t]
                        var cursor = segmentStarts[t]
                        for i in ranges[t] {
                            let count = accumulator.multiplyRow(
                                i, aPtr: op.aPtr, aCol: op.aCol, aVal: op.aVal, bPtr: op.bPtr, bCol: op.bCol, bVal: op.bVal,
                                flops: flops[i], expectedCount: flops[i], columns: n, choice: choice, sorted: sorted,
                                outColumns: cCol.base + cursor, outValues: cVal.base + cursor)
                            counts[i] = count
                            cursor += count
                        }
                        written[t] = cursor - segmentStarts[t]
                    }
                    // Slide the segments down, in order: each destination ends
                    // where the previous segment now ends, at or below its source.
                    var destination = written[0]
                    for t in 1..<max(1, threads) {
                        let source = segmentStarts[t], count = written[t]
                        if source != destination, count > 0 {
                            memmove(cCol.base + destination, cCol.base + source, count * MemoryLayout<Int32>.stride)
                            memmove(cVal.base + destination, cVal.base + source, count * MemoryLayout<Double>.stride)
                        }
                        destination += count
                    }
                    nonzeros = destination
                }}}
                valueCount = nonzeros
            }
            columnCount = nonzeros
        }
        _ = countsToRowPointers(&rowCounts)
        return CSRMatrix(rows: m, columns: n, rowPointers: rowCounts, columnIndices: columns, values: values,
                         columnsSorted: sorted)
    }
}
