import CSystem
import SparrowCore

/// How many A entries ahead the matching row of B is prefetched (2, 4 and 8
/// measured on R-MAT 16 and ER 18: 4 is best or within noise of it on both).
let prefetchDistance = 4

/// One thread's private accumulator: a hash table (linear probing, load ≤ 50 %)
/// for rows whose flops are small next to the column count, a dense array with
/// a generation stamp otherwise; both remember the slots they touched so
/// output and reset cost O(nnz of the row), not O(table).
final class RowAccumulator: @unchecked Sendable {
    // @unchecked: each instance is used by exactly one task at a time.
    var keys: UnsafeMutablePointer<Int32> = .allocate(capacity: 1)
    var values: UnsafeMutablePointer<Double> = .allocate(capacity: 1)
    var hashCapacity = 0
    // The touched list stays a bare pointer and capacity (not a ScratchBuffer):
    // it is resized on the per-row hot path, where the extra access measured slower.
    var touched: UnsafeMutablePointer<Int32> = .allocate(capacity: 1)
    var touchedCapacity = 1
    var denseMarks: UnsafeMutablePointer<Int32> = .allocate(capacity: 1)
    /// Dense values, kept at −0.0 between rows by both dense paths: the
    /// bitmap-indexed path adds every product to them, and −0.0 is IEEE
    /// addition's exact identity (−0 + x = x for every x, +0 and −0
    /// included), so a column's first product is stored bit for bit as the
    /// touched-list and hash paths store it.
    var clearedValues: UnsafeMutablePointer<Double> = .allocate(capacity: 1)
    var denseCapacity = 0
    var stamp: Int32 = 0
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
    func prepareHash(_ size: Int, touchedCount: Int) {
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
    func prepareTouched(_ count: Int) {
        if count > touchedCapacity {
            touched.deallocate()
            touchedCapacity = max(count, 2 * touchedCapacity)
            touched = .allocate(capacity: touchedCapacity)
        }
    }

    @inline(__always)
    func prepareDense(_ columns: Int) {
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
    static func home(_ column: Int32, shift: UInt32) -> Int {
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
        let size = AtomicHashTable.slots(forEntries: flops)
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
        let size = AtomicHashTable.slots(forEntries: flops)
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

    // Stored here for the extension in RowAccumulatorOrdering.swift (a class spans files
    // only through extensions, which cannot store); members are internal for the same reason.
    /// One bit per column of B, all zero between rows.
    var bitmap: UnsafeMutablePointer<UInt64> = .allocate(capacity: 1)
    var bitmapWords = 0
    /// One bit per word of `bitmap` (a word holding any set bit), all zero between rows.
    var summary: UnsafeMutablePointer<UInt64> = .allocate(capacity: 1)
    var summaryWords = 0
    /// Rows with fewer output entries keep the touched list (reading the bitmap would dominate).
    static let bitmapRowMinimum = 32
    var radixScratch = ScratchBuffer<Int32>()
    var radixCounts: UnsafeMutablePointer<Int32> = .allocate(capacity: 1 << 12)
    var sortScratch = ScratchBuffer<UInt64>()
    var valueScratch = ScratchBuffer<Double>()
}
