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
            // Automatic: rows of at least 1/(6T) of all flops, the crossover measured at T = 2 on the
            // LP normal equations of benchmarks/spgemm/atomic.py (a 5.6 % row ties, 10 % and up win).
            let threshold = options.heavyRowThreshold ?? (threads > 1 ? max(1 << 16, total / (6 * threads)) : Int.max)
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

        // Symbolic pass: nonzeros per row. Each heavy row is split once, for both passes.
        var heavySlices: [[RowSlice]] = []
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
                let slices = splitRow(i, aPtr: op.aPtr, aCol: op.aCol, bPtr: op.bPtr, threads: threads)
                heavySlices.append(slices)
                counts[i] = symbolicHeavyRow(slices, aCol: op.aCol, bPtr: op.bPtr, bCol: op.bCol,
                                             bound: min(flops[i], n), threads: threads, table: table)
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
            for (h, i) in heavyRows.enumerated() {
                let start = cPtr[i]
                numericHeavyRow(heavySlices[h], aCol: op.aCol, aVal: op.aVal, bPtr: op.bPtr, bCol: op.bCol, bVal: op.bVal,
                                entries: cPtr[i + 1] - start, columns: n, threads: threads, table: table,
                                accumulators: accumulators, choice: choice,
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

    /// A thread's share of a heavy row: a range of the row's A entries and its multiply-adds.
    private struct RowSlice: Sendable {
        var entries: Range<Int>
        var flops: Int
    }

    /// The A-row entries of row i split so each thread gets about the same flops:
    /// the entries are cut into 16 chunks per thread, the chunks' flops counted in
    /// parallel (a serial pass over a hub row would cost as much as the merge),
    /// and whole chunks dealt to threads by their prefix sums.
    private static func splitRow(_ i: Int, aPtr: SharedReadPointer<Int>, aCol: SharedReadPointer<Int32>,
                                 bPtr: SharedReadPointer<Int>, threads: Int) -> [RowSlice] {
        let lo = aPtr[i], hi = aPtr[i + 1]
        let chunks = evenRanges(count: hi - lo, parts: 16 * threads).map { ($0.lowerBound + lo)..<($0.upperBound + lo) }
        let chunkFlops = SharedBuffer<Int>(count: chunks.count, repeating: 0)
        let dealt = evenRanges(count: chunks.count, parts: threads)
        parallelTasks(threads) { t in
            for c in dealt[t] {
                var f = 0
                for p in chunks[c] { let k = Int(aCol[p]); f += bPtr[k + 1] - bPtr[k] }
                chunkFlops[c] = f
            }
        }
        var prefix = [0]
        for c in 0..<chunks.count { prefix.append(prefix[c] + chunkFlops[c]) }
        return prefix.withUnsafeBufferPointer { balancedRanges(prefix: $0, parts: threads) }.map { r in
            r.isEmpty ? RowSlice(entries: lo..<lo, flops: 0)
                : RowSlice(entries: chunks[r.lowerBound].lowerBound..<chunks[r.upperBound - 1].upperBound,
                           flops: prefix[r.upperBound] - prefix[r.lowerBound])
        }
    }

    private static func symbolicHeavyRow(_ slices: [RowSlice], aCol: SharedReadPointer<Int32>,
                                         bPtr: SharedReadPointer<Int>, bCol: SharedReadPointer<Int32>, bound: Int,
                                         threads: Int, table: AtomicHashTable) -> Int {
        // The row has at most min(flops, columns) distinct columns: a table sized
        // by that, not by the flops, stays in cache when a long row has a short output.
        let used = AtomicHashTable.slots(forEntries: bound)
        table.reserve(used)
        let inserted = SharedBuffer<Int>(count: threads, repeating: 0)
        parallelTasks(threads) { t in
            var count = 0
            for p in slices[t].entries {
                let k = Int(aCol[p])
                for q in bPtr[k]..<bPtr[k + 1] where table.insert(bCol[q], used: used) { count += 1 }
            }
            inserted[t] = count
        }
        let chunks = evenRanges(count: used, parts: threads)
        parallelTasks(threads) { t in table.clear(chunks[t]) }
        return inserted.reduce(0, +)
    }

    private static func numericHeavyRow(_ slices: [RowSlice], aCol: SharedReadPointer<Int32>,
                                        aVal: SharedReadPointer<Double>, bPtr: SharedReadPointer<Int>,
                                        bCol: SharedReadPointer<Int32>, bVal: SharedReadPointer<Double>, entries: Int,
                                        columns: Int, threads: Int, table: AtomicHashTable,
                                        accumulators: [RowAccumulator], choice: AccumulatorChoice,
                                        outColumns: UnsafeMutablePointer<Int32>, outValues: UnsafeMutablePointer<Double>) {
        // The symbolic pass counted the row's entries exactly.
        let used = AtomicHashTable.slots(forEntries: entries)
        parallelTasks(threads) { t in
            // Each thread merges its slice in its private accumulator first (the slice
            // posed as a one-row A), then adds each distinct column to the shared table
            // once: one atomic update per (thread, column) instead of per product, so
            // threads contend only where their columns overlap.
            let slice = slices[t].entries, sliceFlops = slices[t].flops
            if sliceFlops == 0 { return }
            let bound = min(sliceFlops, columns)
            let partColumns = UnsafeMutablePointer<Int32>.allocate(capacity: bound)
            let partValues = UnsafeMutablePointer<Double>.allocate(capacity: bound)
            defer { partColumns.deallocate(); partValues.deallocate() }
            let sliceBounds = [slice.lowerBound, slice.upperBound]
            let count = sliceBounds.withUnsafeBufferPointer { sb in
                accumulators[t].multiplyRow(0, aPtr: SharedReadPointer(sb.baseAddress!), aCol: aCol, aVal: aVal,
                                            bPtr: bPtr, bCol: bCol, bVal: bVal, flops: sliceFlops,
                                            expectedCount: min(bound, entries), columns: columns, choice: choice,
                                            sorted: false, outColumns: partColumns, outValues: partValues)
            }
            // Threads start their merges at staggered offsets: private outputs often come
            // out in column order, and threads walking the table in step would fight over
            // the same cache lines.
            let first = count * t / threads
            for e in first..<count { table.accumulate(partColumns[e], partValues[e], used: used) }
            for e in 0..<first { table.accumulate(partColumns[e], partValues[e], used: used) }
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
