/// Global index → position in a rank's list of needed indices. Indices in
/// `window` (the rank's own range, where most of a local block's columns
/// fall) are looked up in an array over that window; the others in an
/// open-addressing table twice their number. Both are sized by what the rank
/// owns or needs, never by the global index range.
public struct IndexMap: Sendable {
    private let window: Range<Int>
    private let windowPositions: [Int32]
    private let keys: [Int]
    private let positions: [Int32]
    private let mask: Int

    /// Position k of `indices[k]`; the indices must be distinct.
    public init(_ indices: [Int], window: Range<Int> = 0..<0) {
        self.window = window
        var inWindow = [Int32](repeating: -1, count: window.count)
        var outside = 0
        for (k, index) in indices.enumerated() {
            if window.contains(index) { inWindow[index - window.lowerBound] = Int32(k) } else { outside += 1 }
        }
        var capacity = 16
        while capacity < 2 * outside { capacity <<= 1 }
        var keys = [Int](repeating: -1, count: capacity)
        var positions = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
        for (k, index) in indices.enumerated() where !window.contains(index) {
            var slot = Self.hash(index) & mask
            while keys[slot] != -1 { slot = (slot + 1) & mask }
            keys[slot] = index
            positions[slot] = Int32(k)
        }
        windowPositions = inWindow
        self.keys = keys
        self.positions = positions
    }

    /// The position of `index`, or −1 when it was not listed.
    @inline(__always)
    public func position(of index: Int) -> Int32 {
        if window.contains(index) { return windowPositions[index - window.lowerBound] }
        var slot = Self.hash(index) & mask
        while true {
            let key = keys[slot]
            if key == index { return positions[slot] }
            if key == -1 { return -1 }
            slot = (slot + 1) & mask
        }
    }

    /// Every index of `columns` renumbered to its position (all must be listed).
    public func positions(of columns: [Int32]) -> [Int32] {
        columns.map { position(of: Int($0)) }
    }

    @inline(__always)
    private static func hash(_ index: Int) -> Int {
        // Fibonacci hashing: consecutive indices spread over the table.
        let h = UInt(bitPattern: index) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }
}
