import CSystem
import SparrowCore

// The dense path's bitmap-indexed rows, the orderings of a row's columns and
// the prefetch of B's rows, for `RowAccumulator` (RowAccumulator.swift).
extension RowAccumulator {
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
    func multiplyRowIndexedByBitmap(_ i: Int, aPtr: SharedReadPointer<Int>, aCol: SharedReadPointer<Int32>,
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
    func orderDenseColumns(_ list: UnsafeMutablePointer<Int32>, count: Int) {
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


    /// Two stable counting passes over the low and high halves of (column − low).
    func radixSort(_ list: UnsafeMutablePointer<Int32>, count: Int, low: Int32, span: Int) {
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


    /// Insertion sort for short lists, the standard library's introsort otherwise.
    @inline(__always)
    func sortIndices(_ list: UnsafeMutablePointer<Int32>, count: Int) {
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
    func prefetchRow(ahead p: Int, end: Int, aCol: SharedReadPointer<Int32>, bPtr: SharedReadPointer<Int>,
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
