import SparrowCore

/// A 128-bit digest of distributed data that does not depend on how the data
/// is split over ranks or ordered within a rank: each entry (row, column,
/// value bits) is hashed on its own by two independent SplitMix64 streams and
/// the hashes are summed (wrapping), so a checkpoint written at P ranks is
/// recognised at any other P. It identifies data (a resumed run checks that
/// its inputs are the ones the checkpoint was made from); it is not a
/// cryptographic hash.
public struct ContentDigest: Sendable, Equatable, CustomStringConvertible {
    private var first: UInt64 = 0
    private var second: UInt64 = 0

    public init() {}

    /// Adds one entry.
    public mutating func add(row: Int, column: Int, value: Double) {
        let key = UInt64(bitPattern: Int64(row)) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: Int64(column)) &* 0xC2B2_AE3D_27D4_EB4F
        first &+= CounterRandom.bits(seed: 0xD16E_5701, counter: key ^ value.bitPattern)
        second &+= CounterRandom.bits(seed: 0x5EC0_2D01, counter: (key &+ 0x165667B1) ^ value.bitPattern.byteSwapped)
    }

    /// Adds a whole block of rows starting at global row `firstRow`.
    public mutating func add(_ rows: CSRMatrix, firstRow: Int) {
        for i in 0..<rows.rows {
            for p in rows.rowRange(i) { add(row: firstRow + i, column: Int(rows.columnIndices[p]), value: rows.values[p]) }
        }
    }

    /// Adds a dense block stored row by row (`columns` wide) starting at global row `firstRow`.
    public mutating func add(rowMajor values: [Double], columns: Int, firstRow: Int) {
        guard columns > 0 else { return }
        for (e, v) in values.enumerated() { add(row: firstRow + e / columns, column: e % columns, value: v) }
    }

    /// Collective: the sum of every rank's digest.
    public func combined(_ communicator: Communicator) -> ContentDigest {
        guard communicator.size > 1 else { return self }
        let firsts = communicator.allgather(Int(bitPattern: UInt(first)))
        let seconds = communicator.allgather(Int(bitPattern: UInt(second)))
        var total = ContentDigest()
        for r in 0..<communicator.size {
            total.first &+= UInt64(UInt(bitPattern: firsts[r]))
            total.second &+= UInt64(UInt(bitPattern: seconds[r]))
        }
        return total
    }

    public var description: String {
        func hex(_ v: UInt64) -> String {
            let digits = String(v, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return hex(first) + hex(second)
    }
}

extension DistributedCSR {
    /// Collective: the digest of this matrix's entries and shape, the same at any rank count.
    public func contentDigest(_ communicator: Communicator) -> ContentDigest {
        var digest = ContentDigest()
        digest.add(local, firstRow: ownedRows.lowerBound)
        if communicator.isRoot { digest.add(row: -1, column: globalRows, value: Double(globalColumns)) }
        return digest.combined(communicator)
    }
}
