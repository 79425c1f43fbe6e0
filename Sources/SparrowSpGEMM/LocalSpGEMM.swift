import CSystem
import SparrowCore

// Row-wise sparse matrix product C = A·B (Gustavson, "Two fast algorithms for
// sparse matrices: multiplication and permuted transposition", ACM TOMS 4(3),
// 1978), organised as in Nagasaka, Matsuoka, Azad, Buluç, "High-performance
// sparse matrix-matrix products on Intel KNL and multicore architectures"
// (ICPP 2018): flop count per row, rows dealt to threads by flop prefix sums,
// a symbolic pass (nnz per row) then a numeric pass, each row merged in a hash
// accumulator sized to its flops (dense accumulator when that is smaller).
// Heavy rows are split across all threads, which merge into one shared table
// with atomics (SMASH, arXiv 2105.14156; GraphBLAS saxpy3 fine tasks).
// Products that barely compress skip the symbolic pass (SinglePassSpGEMM.swift).
//
//   for each row i of A:                       (symbolic, then numeric)
//       for each a_ik in row i of A:
//           for each b_kj in row k of B:
//               acc[j] += a_ik · b_kj            (hash insert / atomic merge /
//                                                 dense add + bit set)
//       C[i, :] = acc                            (bitmap rows come out sorted;
//                                                 others unsorted unless asked)

public struct SpGEMMOptions: Sendable {
    public var threads = 1
    /// Sort each output row's columns (GraphBLAS and CSR consumers that need it).
    public var sortedOutput = false
    /// Rows with at least this many multiply-adds take the shared atomic table.
    /// nil: automatic (a row above 1/(4T) of all flops, at least 2^16, and only with T > 1).
    public var heavyRowThreshold: Int?
    /// Accumulator for rows on the private (non-atomic) path.
    public var accumulator: AccumulatorChoice = .automatic
    /// Two passes (count, then fill an exactly sized C) or one (fill flop-bounded arrays).
    public var passes: PassChoice = .automatic
    public init() {}
}

/// Private-path accumulator. Automatic: dense (array of B's width, generation
/// stamps or a bitmap) when B has at most 2^19 columns — the arrays then sit in
/// L2/L3 and beat hashing, as measured on R-MAT 16 and ER 18 — or when a row's
/// hash table would be as wide as B; hash (linear probing) otherwise.
public enum AccumulatorChoice: String, Sendable, CaseIterable {
    case automatic, hash, dense
    static let denseColumnLimit = 1 << 19

    @inline(__always)
    func usesDense(flops: Int, columns: Int) -> Bool {
        switch self {
        case .dense: return true
        case .hash: return false
        case .automatic: return columns <= Self.denseColumnLimit || AtomicHashTable.slots(forFlops: flops) >= columns
        }
    }
}

public struct SpGEMMStatistics: Sendable {
    public var symbolicSeconds = 0.0
    public var numericSeconds = 0.0
    /// Multiply-adds (the report's flops are twice this).
    public var multiplyAdds = 0
    public var nonzeros = 0
    public var heavyRows = 0
    public var heavyRowMultiplyAdds = 0
    /// 1 when the symbolic pass was skipped (the last product's choice), else 2.
    public var passes = 2
    public init() {}
    public var compressionFactor: Double { nonzeros > 0 ? Double(multiplyAdds) / Double(nonzeros) : 0 }
}

/// Scratch memory kept across calls: per-thread accumulators and the shared
/// atomic table. Fresh memory costs ~1.4 s/GiB to touch on the target VMs, so
/// one workspace serves every product of a run.
public final class SpGEMMWorkspace: @unchecked Sendable {
    // @unchecked: accumulator k is used only by task k; the shared table is atomic.
    fileprivate var accumulators: [RowAccumulator] = []
    fileprivate let sharedTable = AtomicHashTable()
    public init() {}

    fileprivate func accumulators(_ count: Int) -> [RowAccumulator] {
        while accumulators.count < count { accumulators.append(RowAccumulator()) }
        return Array(accumulators.prefix(count))
    }
}

public enum LocalSpGEMM {
    /// The product's numeric options (flags of `sparrow spgemm`, keys of the spgemm step).
    public enum Options {
        /// Multiply-adds from which a row takes the shared atomic table (Int.max: never).
        public static let heavyThreshold = NumericOption("heavy_threshold", 1...Int.max)
    }

    /// C = A·B on this process. Throws on a shape mismatch.
    public static func multiply(_ a: CSRMatrix, _ b: CSRMatrix, options: SpGEMMOptions = SpGEMMOptions(),
                                workspace: SpGEMMWorkspace = SpGEMMWorkspace(),
                                statistics: inout SpGEMMStatistics) throws(SparrowError) -> CSRMatrix {
        guard a.columns == b.rows else {
            throw .usage("shape mismatch: A is \(a.rows) × \(a.columns) but B is \(b.rows) × \(b.columns)")
        }
        let threads = max(1, options.threads)
        let m = a.rows, n = b.columns
        if m == 0 || n == 0 || a.nonzeros == 0 || b.nonzeros == 0 {
            return CSRMatrix(rows: m, columns: n)
        }
        let symbolicStart = System.now()
        var rowFlops = [Int](repeating: 0, count: m)
        var rowNonzeros = [Int](repeating: 0, count: m + 1)
        let heavyRows: [Int]
        let heavyThreshold: Int
        let lightRanges: [Range<Int>]
        let accumulators = workspace.accumulators(threads)
        for accumulator in accumulators { accumulator.prefetchEnd = a.nonzeros }
        let table = workspace.sharedTable
        let choice = options.accumulator
        do {
            // Flops per row, in parallel.
            let rowBlocks = evenRanges(count: m, parts: threads)
            rowFlops.withUnsafeMutableBufferPointer { fl in
                let flops = SharedPointer(fl.baseAddress!)
                ProductOperands.with(a, b) { op in
                    parallelTasks(threads) { t in
                        for i in rowBlocks[t] {
                            var f = 0
                            for p in op.aPtr[i]..<op.aPtr[i + 1] { let k = Int(op.aCol[p]); f += op.bPtr[k + 1] - op.bPtr[k] }
                            flops[i] = f
                        }
                    }
                }
            }
            let total = rowFlops.reduce(0, +)
            statistics.multiplyAdds += total
            let threshold = options.heavyRowThreshold ?? (threads > 1 ? max(1 << 16, total / (4 * threads)) : Int.max)
            heavyThreshold = max(1, threshold)
            heavyRows = (0..<m).filter { rowFlops[$0] >= heavyThreshold }
            // Light rows dealt to threads by prefix sums of their flops (+1 per row for its fixed cost).
            var prefix = [Int](repeating: 0, count: m + 1)
            for i in 0..<m { prefix[i + 1] = prefix[i] + (rowFlops[i] >= max(1, threshold) ? 0 : rowFlops[i] + 1) }
            lightRanges = prefix.withUnsafeBufferPointer { balancedRanges(prefix: $0, parts: threads) }
        }
        statistics.heavyRows += heavyRows.count
        statistics.heavyRowMultiplyAdds += heavyRows.reduce(0) { $0 + rowFlops[$1] }

        let singlePass: Bool
        switch options.passes {
        case .two: singlePass = false
        case .one: singlePass = heavyRows.isEmpty
        case .automatic:
            singlePass = heavyRows.isEmpty
                && sampledCompression(a, b, rowFlops: rowFlops, accumulator: accumulators[0], choice: choice)
                    <= singlePassCompressionLimit
        }
        if singlePass {
            try ProductMemory.check(entries: rowFlops.reduce(0, +), rows: m, columns: n, exact: false)
            statistics.symbolicSeconds += System.now() - symbolicStart
            statistics.passes = 1
            let numericStart = System.now()
            let c = multiplySinglePass(a, b, rowFlops: rowFlops, ranges: lightRanges, accumulators: accumulators,
                                       choice: choice, sorted: options.sortedOutput)
            statistics.nonzeros += c.nonzeros
            statistics.numericSeconds += System.now() - numericStart
            return c
        }
        statistics.passes = 2

        // Symbolic pass: nonzeros per row.
        rowFlops.withUnsafeBufferPointer { fl in
        rowNonzeros.withUnsafeMutableBufferPointer { nz in
        ProductOperands.with(a, b) { op in
            let flops = SharedReadPointer(fl.baseAddress!), counts = SharedPointer(nz.baseAddress!)
            parallelTasks(threads) { t in
                let acc = accumulators[t]
                for i in lightRanges[t] where flops[i] < heavyThreshold {
                    counts[i] = acc.countRow(i, aPtr: op.aPtr, aCol: op.aCol, bPtr: op.bPtr, bCol: op.bCol, flops: flops[i],
                                             columns: n, choice: choice)
                }
            }
            for i in heavyRows {
                counts[i] = symbolicHeavyRow(i, aPtr: op.aPtr, aCol: op.aCol, bPtr: op.bPtr, bCol: op.bCol, flops: flops[i],
                                             threads: threads, table: table)
            }
        }}}
        let nnz = countsToRowPointers(&rowNonzeros)
        try ProductMemory.check(entries: nnz, rows: m, columns: n, exact: true)
        let rowPointers = rowNonzeros
        statistics.nonzeros += nnz
        statistics.symbolicSeconds += System.now() - symbolicStart

        // Numeric pass: values, written straight into C.
        let numericStart = System.now()
        var outColumns = [Int32](unsafeUninitializedCapacity: nnz) { $1 = nnz }
        var outValues = [Double](unsafeUninitializedCapacity: nnz) { $1 = nnz }
        let sorted = options.sortedOutput
        rowFlops.withUnsafeBufferPointer { fl in
        rowPointers.withUnsafeBufferPointer { cp in
        outColumns.withUnsafeMutableBufferPointer { oc in
        outValues.withUnsafeMutableBufferPointer { ov in
        ProductOperands.with(a, b) { op in
            let flops = SharedReadPointer(fl.baseAddress!), cPtr = SharedReadPointer(cp.baseAddress!)
            let cCol = SharedPointer(oc.baseAddress ?? UnsafeMutablePointer(bitPattern: 8)!)
            let cVal = SharedPointer(ov.baseAddress ?? UnsafeMutablePointer(bitPattern: 8)!)
            parallelTasks(threads) { t in
                let acc = accumulators[t]
                for i in lightRanges[t] where flops[i] < heavyThreshold {
                    let start = cPtr[i]
                    _ = acc.multiplyRow(i, aPtr: op.aPtr, aCol: op.aCol, aVal: op.aVal, bPtr: op.bPtr, bCol: op.bCol,
                                        bVal: op.bVal, flops: flops[i], expectedCount: cPtr[i + 1] - start, columns: n,
                                        choice: choice, sorted: sorted,
                                        outColumns: cCol.base + start, outValues: cVal.base + start)
                }
            }
            for i in heavyRows {
                let start = cPtr[i]
                numericHeavyRow(i, aPtr: op.aPtr, aCol: op.aCol, aVal: op.aVal, bPtr: op.bPtr, bCol: op.bCol, bVal: op.bVal,
                                flops: flops[i], threads: threads, table: table,
                                outColumns: cCol.base + start, outValues: cVal.base + start)
                if sorted { accumulators[0].sortRow(cCol.base + start, cVal.base + start, count: cPtr[i + 1] - start) }
            }
        }}}}}
        statistics.numericSeconds += System.now() - numericStart
        return CSRMatrix(rows: m, columns: n, rowPointers: rowPointers, columnIndices: outColumns, values: outValues,
                         columnsSorted: sorted)
    }

    public static func multiply(_ a: CSRMatrix, _ b: CSRMatrix, options: SpGEMMOptions = SpGEMMOptions(),
                                workspace: SpGEMMWorkspace = SpGEMMWorkspace()) throws(SparrowError) -> CSRMatrix {
        var statistics = SpGEMMStatistics()
        return try multiply(a, b, options: options, workspace: workspace, statistics: &statistics)
    }

    // MARK: heavy rows: all threads, one shared atomic table

    /// The A-row entries of row i split so each thread gets about the same flops.
    private static func splitRow(_ i: Int, aPtr: SharedReadPointer<Int>, aCol: SharedReadPointer<Int32>,
                                 bPtr: SharedReadPointer<Int>, threads: Int) -> [Range<Int>] {
        let lo = aPtr[i], hi = aPtr[i + 1]
        var prefix = [Int](repeating: 0, count: hi - lo + 1)
        for p in lo..<hi { let k = Int(aCol[p]); prefix[p - lo + 1] = prefix[p - lo] + bPtr[k + 1] - bPtr[k] }
        return prefix.withUnsafeBufferPointer { balancedRanges(prefix: $0, parts: threads) }
            .map { ($0.lowerBound + lo)..<($0.upperBound + lo) }
    }

    private static func symbolicHeavyRow(_ i: Int, aPtr: SharedReadPointer<Int>, aCol: SharedReadPointer<Int32>,
                                         bPtr: SharedReadPointer<Int>, bCol: SharedReadPointer<Int32>, flops: Int,
                                         threads: Int, table: AtomicHashTable) -> Int {
        let used = AtomicHashTable.slots(forFlops: flops)
        table.reserve(used)
        let slices = splitRow(i, aPtr: aPtr, aCol: aCol, bPtr: bPtr, threads: threads)
        let inserted = SharedBuffer<Int>(count: threads, repeating: 0)
        parallelTasks(threads) { t in
            var count = 0
            for p in slices[t] {
                let k = Int(aCol[p])
                for q in bPtr[k]..<bPtr[k + 1] where table.insert(bCol[q], used: used) { count += 1 }
            }
            inserted[t] = count
        }
        let chunks = evenRanges(count: used, parts: threads)
        parallelTasks(threads) { t in table.clear(chunks[t]) }
        return inserted.reduce(0, +)
    }

    private static func numericHeavyRow(_ i: Int, aPtr: SharedReadPointer<Int>, aCol: SharedReadPointer<Int32>,
                                        aVal: SharedReadPointer<Double>, bPtr: SharedReadPointer<Int>,
                                        bCol: SharedReadPointer<Int32>, bVal: SharedReadPointer<Double>, flops: Int,
                                        threads: Int, table: AtomicHashTable,
                                        outColumns: UnsafeMutablePointer<Int32>, outValues: UnsafeMutablePointer<Double>) {
        let used = AtomicHashTable.slots(forFlops: flops)
        let slices = splitRow(i, aPtr: aPtr, aCol: aCol, bPtr: bPtr, threads: threads)
        parallelTasks(threads) { t in
            for p in slices[t] {
                let k = Int(aCol[p]), x = aVal[p]
                for q in bPtr[k]..<bPtr[k + 1] { table.accumulate(bCol[q], x * bVal[q], used: used) }
            }
        }
        // Drain the table in parallel: count per chunk, then write at prefix offsets.
        let chunks = evenRanges(count: used, parts: threads)
        let counts = SharedBuffer<Int>(count: threads, repeating: 0)
        parallelTasks(threads) { t in counts[t] = table.occupied(in: chunks[t]) }
        var offsets = [0]
        for t in 0..<threads { offsets.append(offsets[t] + counts[t]) }
        let columns = SharedPointer(outColumns), values = SharedPointer(outValues)
        let starts = offsets
        parallelTasks(threads) { t in
            _ = table.drain(chunks[t], columns: columns.base + starts[t], values: values.base + starts[t])
        }
    }
}

/// One thread's private accumulator: a hash table (linear probing, load ≤ 50 %)
/// for rows whose flops are small next to the column count, a dense array with
/// a generation stamp otherwise; both remember the slots they touched so
/// output and reset cost O(nnz of the row), not O(table).
/// How many A entries ahead the matching row of B is prefetched (2, 4 and 8
/// measured on R-MAT 16 and ER 18: 4 is best or within noise of it on both).
let prefetchDistance = 4

final class RowAccumulator: @unchecked Sendable {
    // @unchecked: each instance is used by exactly one task at a time.
    private var keys: UnsafeMutablePointer<Int32> = .allocate(capacity: 1)
    private var values: UnsafeMutablePointer<Double> = .allocate(capacity: 1)
    private var hashCapacity = 0
    // The touched list stays a bare pointer and capacity (not a ScratchBuffer):
    // it is resized on the per-row hot path, where the extra access measured slower.
    private var touched: UnsafeMutablePointer<Int32> = .allocate(capacity: 1)
    private var touchedCapacity = 1
    private var denseMarks: UnsafeMutablePointer<Int32> = .allocate(capacity: 1)
    /// Dense values, kept at −0.0 between rows by both dense paths: the
    /// bitmap-indexed path adds every product to them, and −0.0 is IEEE
    /// addition's exact identity (−0 + x = x for every x, +0 and −0
    /// included), so a column's first product is stored bit for bit as the
    /// touched-list and hash paths store it.
    private var clearedValues: UnsafeMutablePointer<Double> = .allocate(capacity: 1)
    private var denseCapacity = 0
    private var stamp: Int32 = 0
    /// Entries of A (the prefetch looks ahead across row boundaries: A's
    /// columns are contiguous, and rows of a few entries would otherwise
    /// start with their first B rows unfetched).
    var prefetchEnd = 0

    deinit {
        keys.deallocate(); values.deallocate()
        denseMarks.deallocate(); bitmap.deallocate(); radixCounts.deallocate()
        summary.deallocate(); clearedValues.deallocate()
        touched.deallocate(); sortScratch.deallocate(); radixScratch.deallocate(); valueScratch.deallocate()
    }

    @inline(__always)
    private func prepareHash(_ size: Int, touchedCount: Int) {
        if size > hashCapacity {
            keys.deallocate(); values.deallocate()
            keys = .allocate(capacity: size)
            values = .allocate(capacity: size)
            keys.initialize(repeating: -1, count: size)
            hashCapacity = size
        }
        prepareTouched(touchedCount)
    }

    @inline(__always)
    private func prepareTouched(_ count: Int) {
        if count > touchedCapacity {
            touched.deallocate()
            touchedCapacity = max(count, 2 * touchedCapacity)
            touched = .allocate(capacity: touchedCapacity)
        }
    }

    @inline(__always)
    private func prepareDense(_ columns: Int) {
        if columns > denseCapacity {
            denseMarks.deallocate()
            denseMarks = .allocate(capacity: columns)
            denseMarks.initialize(repeating: -1, count: columns)
            denseCapacity = columns
            bitmap.deallocate()
            bitmapWords = (columns + 63) / 64
            bitmap = .allocate(capacity: bitmapWords)
            bitmap.initialize(repeating: 0, count: bitmapWords)
            summary.deallocate()
            summaryWords = (bitmapWords + 63) / 64
            summary = .allocate(capacity: summaryWords)
            summary.initialize(repeating: 0, count: summaryWords)
            clearedValues.deallocate()
            clearedValues = .allocate(capacity: columns)
            clearedValues.initialize(repeating: -0.0, count: columns)
            stamp = 0
        }
        prepareTouched(columns)
        if stamp == Int32.max {
            denseMarks.update(repeating: -1, count: denseCapacity)
            stamp = 0
        }
        stamp += 1
    }

    @inline(__always)
    private static func home(_ column: Int32, shift: UInt32) -> Int {
        Int((UInt32(bitPattern: column) &* 0x9E37_79B1) >> shift)
    }

    /// Distinct columns of row i of A·B.
    @inline(__always)
    func countRow(_ i: Int, aPtr: SharedReadPointer<Int>, aCol: SharedReadPointer<Int32>,
                  bPtr: SharedReadPointer<Int>, bCol: SharedReadPointer<Int32>, flops: Int, columns: Int,
                  choice: AccumulatorChoice) -> Int {
        if flops == 0 { return 0 }
        var count = 0
        if choice.usesDense(flops: flops, columns: columns) {
            prepareDense(columns)
            let marks = denseMarks, s = stamp
            let end = aPtr[i + 1]
            for p in aPtr[i]..<end {
                let k = Int(aCol[p])
                if p + prefetchDistance < prefetchEnd { sparrow_prefetch(bCol.base + bPtr[Int(aCol[p + prefetchDistance])]) }
                for q in bPtr[k]..<bPtr[k + 1] {
                    // Branch-free: whether a column is new is unpredictable.
                    let j = Int(bCol[q])
                    count &+= marks[j] != s ? 1 : 0
                    marks[j] = s
                }
            }
            return count
        }
        let size = AtomicHashTable.slots(forFlops: flops)
        prepareHash(size, touchedCount: flops)
        let keys = self.keys, touched = self.touched
        let mask = size - 1, shift = UInt32(32 - size.trailingZeroBitCount)
        let end = aPtr[i + 1]
        for p in aPtr[i]..<end {
            let k = Int(aCol[p])
            if p + prefetchDistance < prefetchEnd { sparrow_prefetch(bCol.base + bPtr[Int(aCol[p + prefetchDistance])]) }
            for q in bPtr[k]..<bPtr[k + 1] {
                let column = bCol[q]
                var h = Self.home(column, shift: shift)
                while true {
                    let key = keys[h]
                    if key == column { break }
                    if key == -1 { keys[h] = column; touched[count] = Int32(h); count += 1; break }
                    h = (h + 1) & mask
                }
            }
        }
        for t in 0..<count { keys[Int(touched[t])] = -1 }
        return count
    }

    /// Row i of A·B written to `outColumns`/`outValues` (columns in first-touch order).
    @inline(__always)
    func multiplyRow(_ i: Int, aPtr: SharedReadPointer<Int>, aCol: SharedReadPointer<Int32>, aVal: SharedReadPointer<Double>,
                     bPtr: SharedReadPointer<Int>, bCol: SharedReadPointer<Int32>, bVal: SharedReadPointer<Double>,
                     flops: Int, expectedCount: Int, columns: Int, choice: AccumulatorChoice, sorted: Bool,
                     outColumns: UnsafeMutablePointer<Int32>, outValues: UnsafeMutablePointer<Double>) -> Int {
        if flops == 0 { return 0 }
        var count = 0
        if choice.usesDense(flops: flops, columns: columns) {
            prepareDense(columns)
            // Bitmap-indexed when the row is long next to the words that must be read.
            if expectedCount >= Self.bitmapRowMinimum {
                if bitmapWords <= 8 * expectedCount {
                    return multiplyRowIndexedByBitmap(i, aPtr: aPtr, aCol: aCol, aVal: aVal, bPtr: bPtr, bCol: bCol,
                                                      bVal: bVal, summarized: false,
                                                      outColumns: outColumns, outValues: outValues)
                }
                if summaryWords <= 2 * expectedCount {
                    return multiplyRowIndexedByBitmap(i, aPtr: aPtr, aCol: aCol, aVal: aVal, bPtr: bPtr, bCol: bCol,
                                                      bVal: bVal, summarized: true,
                                                      outColumns: outColumns, outValues: outValues)
                }
            }
            let marks = denseMarks, dense = clearedValues, touched = self.touched, s = stamp
            let end = aPtr[i + 1]
            for p in aPtr[i]..<end {
                let k = Int(aCol[p]), x = aVal[p]
                prefetchRow(ahead: p + prefetchDistance, end: prefetchEnd, aCol: aCol, bPtr: bPtr, bCol: bCol, bVal: bVal)
                for q in bPtr[k]..<bPtr[k + 1] {
                    // A branch, not a select: the touched-list store would
                    // otherwise chain every iteration's address to the last.
                    let j = Int(bCol[q])
                    if marks[j] != s {
                        marks[j] = s
                        dense[j] = x * bVal[q]
                        touched[count] = Int32(truncatingIfNeeded: j)
                        count &+= 1
                    } else {
                        dense[j] += x * bVal[q]
                    }
                }
            }
            // Sorted output orders only the column list; values are gathered after.
            if sorted { orderDenseColumns(touched, count: count) }
            for t in 0..<count {
                let j = Int(touched[t])
                outColumns[t] = Int32(j)
                outValues[t] = dense[j]
                dense[j] = -0.0
            }
            return count
        }
        let size = AtomicHashTable.slots(forFlops: flops)
        prepareHash(size, touchedCount: flops)
        let keys = self.keys, values = self.values, touched = self.touched
        let mask = size - 1, shift = UInt32(32 - size.trailingZeroBitCount)
        let end = aPtr[i + 1]
        for p in aPtr[i]..<end {
            let k = Int(aCol[p]), x = aVal[p]
            prefetchRow(ahead: p + prefetchDistance, end: prefetchEnd, aCol: aCol, bPtr: bPtr, bCol: bCol, bVal: bVal)
            for q in bPtr[k]..<bPtr[k + 1] {
                let column = bCol[q]
                var h = Self.home(column, shift: shift)
                while true {
                    let key = keys[h]
                    if key == column { values[h] += x * bVal[q]; break }
                    if key == -1 { keys[h] = column; values[h] = x * bVal[q]; touched[count] = Int32(h); count += 1; break }
                    h = (h + 1) & mask
                }
            }
        }
        if sorted {
            // Order the touched slots by their keys (packed key << 32 | slot).
            let packed = sortScratch.reserve(count)
            for t in 0..<count {
                let h = touched[t]
                packed[t] = UInt64(UInt32(bitPattern: keys[Int(h)])) << 32 | UInt64(UInt32(bitPattern: h))
            }
            var packedBuffer = UnsafeMutableBufferPointer(start: packed, count: count)
            packedBuffer.sort()
            for t in 0..<count { touched[t] = Int32(truncatingIfNeeded: packed[t] & 0xFFFF_FFFF) }
        }
        for t in 0..<count {
            let h = Int(touched[t])
            outColumns[t] = keys[h]
            outValues[t] = values[h]
            keys[h] = -1
        }
        return count
    }

    /// One bit per column of B, all zero between rows.
    private var bitmap: UnsafeMutablePointer<UInt64> = .allocate(capacity: 1)
    private var bitmapWords = 0
    /// One bit per word of `bitmap` (a word holding any set bit), all zero between rows.
    private var summary: UnsafeMutablePointer<UInt64> = .allocate(capacity: 1)
    private var summaryWords = 0
    /// Rows with fewer output entries keep the touched list (reading the bitmap would dominate).
    static let bitmapRowMinimum = 32

    /// A dense row with a long output: every product is added to a cleared
    /// dense array and sets its column's bit in a bitmap — no "is this column
    /// new?" branch, which mispredicts on about one product in three at
    /// compression factors near 2. The output is read off the bitmap in
    /// column order, so it is sorted at no extra cost, and the visited
    /// entries are cleared for the next row. Reading it off:
    ///   - `summarized: false` — the words between the row's smallest and
    ///     largest column (rows dense in B's width: R-MAT);
    ///   - `summarized: true` — a second bitmap, one bit per word, marks the
    ///     words to visit (rows spread thinly over a wide B: Erdős–Rényi). Its
    ///     read-modify-write is kept off the narrow rows, where it measured
    ///     ~10 % slower (one summary word serves every product of the row).
    @inline(__always)
    private func multiplyRowIndexedByBitmap(_ i: Int, aPtr: SharedReadPointer<Int>, aCol: SharedReadPointer<Int32>,
                                            aVal: SharedReadPointer<Double>, bPtr: SharedReadPointer<Int>,
                                            bCol: SharedReadPointer<Int32>, bVal: SharedReadPointer<Double>, summarized: Bool,
                                            outColumns: UnsafeMutablePointer<Int32>, outValues: UnsafeMutablePointer<Double>) -> Int {
        let dense = clearedValues, words = bitmap, summary = self.summary
        let end = aPtr[i + 1]
        var low = Int.max, high = 0
        for p in aPtr[i]..<end {
            let k = Int(aCol[p]), x = aVal[p]
            prefetchRow(ahead: p + prefetchDistance, end: prefetchEnd, aCol: aCol, bPtr: bPtr, bCol: bCol, bVal: bVal)
            for q in bPtr[k]..<bPtr[k + 1] {
                let j = Int(bCol[q])
                dense[j] += x * bVal[q]
                let w = j &>> 6
                words[w] |= 1 &<< UInt64(j & 63)
                if summarized {
                    summary[w &>> 6] |= 1 &<< UInt64(w & 63)
                } else {
                    low = j < low ? j : low
                    high = j > high ? j : high
                }
            }
        }
        var out = 0
        @inline(__always) func emit(word w: Int) {
            var bits = words[w]
            words[w] = 0
            while bits != 0 {
                let j = w &<< 6 | bits.trailingZeroBitCount
                bits &= bits &- 1
                outColumns[out] = Int32(truncatingIfNeeded: j)
                outValues[out] = dense[j]
                dense[j] = -0.0
                out &+= 1
            }
        }
        if summarized {
            for s in 0..<summaryWords {
                var present = summary[s]
                if present == 0 { continue }
                summary[s] = 0
                while present != 0 {
                    emit(word: s &<< 6 | present.trailingZeroBitCount)
                    present &= present &- 1
                }
            }
        } else if low <= high {
            for w in (low &>> 6)...(high &>> 6) { emit(word: w) }
        }
        return out
    }

    /// Sorts a dense row's column list without comparisons: insertion sort when
    /// short; a bit per column and a scan of the words between the smallest and
    /// largest column when the row is dense in its span (O(nnz + span/64));
    /// otherwise a two-pass LSD radix sort on the offsets from the smallest
    /// column (O(nnz + 2^(bits/2))).
    @inline(__always)
    private func orderDenseColumns(_ list: UnsafeMutablePointer<Int32>, count: Int) {
        if count <= 24 { sortIndices(list, count: count); return }
        var low = Int32.max, high = Int32.min
        for t in 0..<count { low = min(low, list[t]); high = max(high, list[t]) }
        let firstWord = Int(low) >> 6, lastWord = Int(high) >> 6
        guard lastWord - firstWord < 2 * count, lastWord < bitmapWords else {
            radixSort(list, count: count, low: low, span: Int(high - low) + 1)
            return
        }
        let words = bitmap
        for t in 0..<count { let j = Int(list[t]); words[j >> 6] |= 1 << UInt64(j & 63) }
        var out = 0
        for w in firstWord...lastWord {
            var bits = words[w]
            if bits == 0 { continue }
            words[w] = 0
            while bits != 0 {
                list[out] = Int32(truncatingIfNeeded: w << 6 | bits.trailingZeroBitCount)
                out += 1
                bits &= bits &- 1
            }
        }
    }

    private var radixScratch = ScratchBuffer<Int32>()
    private var radixCounts: UnsafeMutablePointer<Int32> = .allocate(capacity: 1 << 12)

    /// Two stable counting passes over the low and high halves of (column − low).
    private func radixSort(_ list: UnsafeMutablePointer<Int32>, count: Int, low: Int32, span: Int) {
        let bits = max(2, Int.bitWidth - (span - 1).leadingZeroBitCount)
        let lowBits = (bits + 1) / 2
        guard lowBits <= 12 else { sortIndices(list, count: count); return }
        let buckets = 1 << lowBits, mask = UInt32(buckets - 1), shift = UInt32(lowBits)
        let counts = radixCounts, other = radixScratch.reserve(count)
        let base = UInt32(bitPattern: low)
        // Wrapping arithmetic throughout: offsets are < 2^24, nothing can overflow.
        @inline(__always) func key(_ c: Int32) -> UInt32 { UInt32(bitPattern: c) &- base }
        // Pass 1: low digit, list → other.
        counts.update(repeating: 0, count: buckets)
        for t in 0..<count { counts[Int(key(list[t]) & mask)] &+= 1 }
        var sum: Int32 = 0
        for b in 0..<buckets { let c = counts[b]; counts[b] = sum; sum &+= c }
        for t in 0..<count {
            let c = list[t], d = Int(key(c) & mask)
            other[Int(counts[d])] = c
            counts[d] &+= 1
        }
        // Pass 2: high digit, other → list.
        counts.update(repeating: 0, count: buckets)
        for t in 0..<count { counts[Int(key(other[t]) >> shift)] &+= 1 }
        sum = 0
        for b in 0..<buckets { let c = counts[b]; counts[b] = sum; sum &+= c }
        for t in 0..<count {
            let c = other[t], d = Int(key(c) >> shift)
            list[Int(counts[d])] = c
            counts[d] &+= 1
        }
    }

    private var sortScratch = ScratchBuffer<UInt64>()
    private var valueScratch = ScratchBuffer<Double>()

    /// Insertion sort for short lists, the standard library's introsort otherwise.
    @inline(__always)
    private func sortIndices(_ list: UnsafeMutablePointer<Int32>, count: Int) {
        if count <= 24 {
            if count < 2 { return }
            for i in 1..<count {
                let c = list[i]
                var j = i
                while j > 0, list[j - 1] > c { list[j] = list[j - 1]; j -= 1 }
                list[j] = c
            }
        } else {
            var listBuffer = UnsafeMutableBufferPointer(start: list, count: count)
            listBuffer.sort()
        }
    }

    /// Rows of B are gathered at random: ask for the one two A entries ahead
    /// so its columns and values arrive while this one is merged.
    @inline(__always)
    private func prefetchRow(ahead p: Int, end: Int, aCol: SharedReadPointer<Int32>, bPtr: SharedReadPointer<Int>,
                             bCol: SharedReadPointer<Int32>, bVal: SharedReadPointer<Double>) {
        guard p < end else { return }
        let start = bPtr[Int(aCol[p])]
        sparrow_prefetch(bCol.base + start)
        sparrow_prefetch(bVal.base + start)
        sparrow_prefetch(bVal.base + start + 8)
    }

    /// Sorts one row's (column, value) pairs by column (heavy rows, drained
    /// from the shared table in slot order): packed 64-bit keys
    /// (column << 32 | position), then the values follow their positions.
    func sortRow(_ columns: UnsafeMutablePointer<Int32>, _ values: UnsafeMutablePointer<Double>, count: Int) {
        if count < 2 { return }
        let keys = sortScratch.reserve(count), moved = valueScratch.reserve(count)
        for t in 0..<count { keys[t] = UInt64(UInt32(bitPattern: columns[t])) << 32 | UInt64(t) }
        var buffer = UnsafeMutableBufferPointer(start: keys, count: count)
        buffer.sort()
        for t in 0..<count { moved[t] = values[Int(keys[t] & 0xFFFF_FFFF)] }
        for t in 0..<count {
            columns[t] = Int32(truncatingIfNeeded: keys[t] >> 32)
            values[t] = moved[t]
        }
    }
}

/// A grow-only scratch array owned by one accumulator: reused across rows and
/// products, so the hot path allocates only when a row is longer than any before.
struct ScratchBuffer<Element> {
    private(set) var base: UnsafeMutablePointer<Element> = .allocate(capacity: 1)
    private var capacity = 1

    /// Room for at least `count` elements (contents not kept across growth).
    @inline(__always)
    mutating func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity {
            base.deallocate()
            capacity = max(count, 2 * capacity)
            base = .allocate(capacity: capacity)
        }
        return base
    }

    func deallocate() { base.deallocate() }
}
