import Synchronization
import SparrowCore

/// An open-addressing hash table (linear probing, load ≤ 50 %) that several
/// threads fill at once — the SMASH scratchpad (Shivdikar et al., "SMASH:
/// Sparse Matrix Atomic Scratchpad Hashing", arXiv 2105.14156), and the shared
/// table of SuiteSparse:GraphBLAS saxpy3 "fine" tasks.
///
/// A column claims a slot by compare-and-swap on the key (empty = −1); values
/// accumulate by a compare-and-swap loop on the Double's bit pattern. No
/// partial-product matrix ever exists: each thread merges its slice of the row
/// privately and adds each column's partial sum here once (LocalSpGEMM).
public final class AtomicHashTable: @unchecked Sendable {
    // @unchecked: every slot is an atomic; the pointers themselves never change
    // while threads are inside `insert`/`accumulate`.
    private var keys: UnsafeMutablePointer<Atomic<Int32>>
    private var values: UnsafeMutablePointer<Atomic<UInt64>>
    public private(set) var capacity: Int
    public private(set) var mask: Int
    private var shift: UInt32

    public static let empty: Int32 = -1

    public init(minimumCapacity: Int = 1024) {
        capacity = 0
        mask = 0
        shift = 0
        keys = .allocate(capacity: 1)
        values = .allocate(capacity: 1)
        reserve(minimumCapacity)
    }

    deinit {
        keys.deinitialize(count: max(capacity, 1))
        values.deinitialize(count: max(capacity, 1))
        keys.deallocate()
        values.deallocate()
    }

    /// An empty slot's value: the bits of −0.0, IEEE addition's exact identity
    /// (−0 + x = x for every x, signed zeros included), so a column whose
    /// products are all −0.0 ends as −0.0, as on the private paths.
    static let cleared = (-0.0).bitPattern

    /// Grows the table (never shrinks: buffers are reused across rows and calls).
    public func reserve(_ minimumCapacity: Int) {
        if minimumCapacity <= capacity { return }
        if capacity > 0 {
            keys.deinitialize(count: capacity)
            values.deinitialize(count: capacity)
        } else {
            keys.deinitialize(count: 1)
            values.deinitialize(count: 1)
        }
        keys.deallocate()
        values.deallocate()
        var size = 1024
        while size < minimumCapacity { size <<= 1 }
        keys = .allocate(capacity: size)
        values = .allocate(capacity: size)
        for i in 0..<size {
            (keys + i).initialize(to: Atomic(Self.empty))
            (values + i).initialize(to: Atomic(Self.cleared))
        }
        capacity = size
        mask = size - 1
        shift = UInt32(32 - size.trailingZeroBitCount)
    }

    /// Slots used for a row with at most `entries` distinct columns: the smallest
    /// power of two ≥ 2·entries (load ≤ 50 %).
    public static func slots(forEntries entries: Int) -> Int {
        var size = 16
        while size < 2 * entries { size <<= 1 }
        return size
    }

    @inline(__always)
    private func home(_ column: Int32, mask: Int, shift: UInt32) -> Int {
        Int((UInt32(bitPattern: column) &* 0x9E37_79B1) >> shift) & mask
    }

    /// Claims the slot of `column` among the first `used` slots (a power of two);
    /// returns true if this call inserted it.
    @inline(__always)
    public func insert(_ column: Int32, used: Int) -> Bool {
        let m = used - 1
        let s = UInt32(32 - used.trailingZeroBitCount)
        var h = home(column, mask: m, shift: s)
        while true {
            let key = keys[h].load(ordering: .relaxed)
            if key == column { return false }
            if key == Self.empty {
                let (exchanged, current) = keys[h].compareExchange(expected: Self.empty, desired: column, ordering: .relaxed)
                if exchanged { return true }
                if current == column { return false }
            }
            h = (h + 1) & m
        }
    }

    /// Adds `value` to `column`'s entry, claiming the slot if needed.
    @inline(__always)
    public func accumulate(_ column: Int32, _ value: Double, used: Int) {
        let m = used - 1
        let s = UInt32(32 - used.trailingZeroBitCount)
        var h = home(column, mask: m, shift: s)
        while true {
            var key = keys[h].load(ordering: .relaxed)
            if key == Self.empty {
                let (exchanged, current) = keys[h].compareExchange(expected: Self.empty, desired: column, ordering: .relaxed)
                key = exchanged ? column : current
            }
            if key == column {
                var old = values[h].load(ordering: .relaxed)
                while true {
                    let new = (Double(bitPattern: old) + value).bitPattern
                    let (exchanged, current) = values[h].compareExchange(expected: old, desired: new, ordering: .relaxed)
                    if exchanged { return }
                    old = current
                }
            }
            h = (h + 1) & m
        }
    }

    /// Occupied slots among `range` (after all inserting threads have finished).
    public func occupied(in range: Range<Int>) -> Int {
        var count = 0
        for h in range where keys[h].load(ordering: .relaxed) != Self.empty { count += 1 }
        return count
    }

    /// Copies the entries of slots `range` to `columns`/`values` and empties those slots.
    public func drain(_ range: Range<Int>, columns: UnsafeMutablePointer<Int32>, values out: UnsafeMutablePointer<Double>) -> Int {
        var written = 0
        for h in range {
            let key = keys[h].load(ordering: .relaxed)
            if key == Self.empty { continue }
            columns[written] = key
            out[written] = Double(bitPattern: values[h].load(ordering: .relaxed))
            written += 1
            keys[h].store(Self.empty, ordering: .relaxed)
            values[h].store(Self.cleared, ordering: .relaxed)
        }
        return written
    }

    /// Empties slots `range` (after a symbolic pass).
    public func clear(_ range: Range<Int>) {
        for h in range {
            keys[h].store(Self.empty, ordering: .relaxed)
        }
    }
}
