import SparrowCore

/// Which global indices this rank needs from which rank, and which of its own
/// it must send to whom; built once (one all-to-all of requests) and reused
/// for every exchange, like Tpetra's Import. The same plan moves vector
/// entries (ghost values for SpMV) or whole matrix rows (B rows for SpGEMM).
/// Exchanges go point-to-point to the partner ranks when the pattern is
/// sparse (a banded matrix: two neighbours), by all-to-all only when dense.
public struct ExchangePlan: Sendable {
    public let partition: RowPartition
    /// Sorted, distinct global indices this rank receives, grouped by owner rank.
    public let neededIndices: [Int]
    public let receiveCounts: [Int]
    /// Local offsets (index − owned range start) of the entries this rank sends, grouped by destination.
    public let sendLocalIndices: [Int]
    public let sendCounts: [Int]
    /// Ranks (other than this one) this rank sends to or receives from.
    public let partners: Int
    /// Whether exchanges use all-to-all (dense pattern) rather than point-to-point messages.
    public let usesAllToAll: Bool

    /// Collective: every rank passes the global indices it needs (any order,
    /// repeats allowed), as a matrix stores its column indices. The distinct
    /// indices are found with a bitmap over this rank's own range (owned-sized)
    /// and a sort of the others only: no hash set of every entry, nothing
    /// sized by the global range.
    public init(needing indices: [Int32], partition: RowPartition, communicator: Communicator) throws(SparrowError) {
        self.partition = partition
        let needed = Self.distinct(indices, owned: partition.range(of: communicator.rank))
        var counts = [Int](repeating: 0, count: partition.parts)
        var owner = 0
        for index in needed {
            while index >= partition.offsets[owner + 1] { owner += 1 }
            counts[owner] += 1
        }
        neededIndices = needed
        receiveCounts = counts
        let (requests, requestCounts) = try communicator.alltoallv(needed, sendCounts: counts)
        let start = partition.offsets[communicator.rank]
        sendLocalIndices = requests.map { $0 - start }
        sendCounts = requestCounts
        let me = communicator.rank
        partners = (0..<partition.parts).filter { $0 != me && (counts[$0] > 0 || requestCounts[$0] > 0) }.count
        usesAllToAll = communicator.prefersAllToAll(partners: partners)
    }

    /// Sorted distinct values of `indices`.
    static func distinct(_ indices: [Int32], owned: Range<Int>) -> [Int] {
        var seen = [UInt64](repeating: 0, count: (owned.count + 63) / 64)
        var others: [Int32] = []
        let low = owned.lowerBound
        for index in indices {
            let i = Int(index)
            if owned.contains(i) { seen[(i - low) >> 6] |= 1 << UInt64((i - low) & 63) } else { others.append(index) }
        }
        others.sort()
        var result: [Int] = []
        var k = 0
        func takeOthers(below limit: Int) {
            while k < others.count, Int(others[k]) < limit {
                if result.last != Int(others[k]) { result.append(Int(others[k])) }
                k += 1
            }
        }
        takeOthers(below: low)
        for word in 0..<seen.count where seen[word] != 0 {
            var bits = seen[word]
            while bits != 0 {
                result.append(low + word * 64 + bits.trailingZeroBitCount)
                bits &= bits - 1
            }
        }
        takeOthers(below: Int.max)
        return result
    }

    /// One transfer along the plan's pattern (counts per rank in the plan's units).
    private func transfer<T: MPIScalar>(_ values: [T], sendCounts: [Int], receiveCounts: [Int],
                                        communicator: Communicator) throws(SparrowError) -> [T] {
        if usesAllToAll { return try communicator.alltoallv(values, sendCounts: sendCounts, receiveCounts: receiveCounts) }
        return communicator.neighbourAlltoallv(values, sendCounts: sendCounts, receiveCounts: receiveCounts)
    }

    /// Values at `neededIndices` of any owned per-row quantity (row lengths, flags).
    public func exchange<T: MPIScalar>(_ owned: [T], communicator: Communicator) throws(SparrowError) -> [T] {
        try transfer(sendLocalIndices.map { owned[$0] }, sendCounts: sendCounts, receiveCounts: receiveCounts,
                     communicator: communicator)
    }

    /// Blocks of `width` values (one per index, stored contiguously) at
    /// `neededIndices`, given this rank's owned blocks: dense factor rows
    /// (matrix completion) travel this way, each owned row once to each rank
    /// that needs it, in one all-to-all.
    public func exchangeBlocks(_ owned: [Double], width: Int, communicator: Communicator) throws(SparrowError) -> [Double] {
        var outgoing = [Double](repeating: 0, count: sendLocalIndices.count * width)
        outgoing.withUnsafeMutableBufferPointer { out in
            owned.withUnsafeBufferPointer { source in
                for (k, index) in sendLocalIndices.enumerated() {
                    for l in 0..<width { out[k * width + l] = source[index * width + l] }
                }
            }
        }
        return try transfer(outgoing, sendCounts: sendCounts.map { $0 * width },
                            receiveCounts: receiveCounts.map { $0 * width }, communicator: communicator)
    }

    /// The rows at `neededIndices` of a row-distributed matrix, as a CSR whose
    /// row k is global row neededIndices[k] (column indices stay global).
    public func exchangeRows(of local: CSRMatrix, communicator: Communicator) throws(SparrowError) -> CSRMatrix {
        // Sizes first, then one bulk copy per row into arrays of the exact size.
        var lengths = [Int](repeating: 0, count: sendLocalIndices.count)
        var entryCounts = [Int](repeating: 0, count: sendCounts.count)
        var k = 0
        for destination in 0..<sendCounts.count {
            for _ in 0..<sendCounts[destination] {
                let row = sendLocalIndices[k]
                lengths[k] = local.rowPointers[row + 1] - local.rowPointers[row]
                entryCounts[destination] += lengths[k]
                k += 1
            }
        }
        let outgoing = entryCounts.reduce(0, +)
        var columns = [Int32](unsafeUninitializedCapacity: outgoing) { $1 = outgoing }
        var values = [Double](unsafeUninitializedCapacity: outgoing) { $1 = outgoing }
        columns.withUnsafeMutableBufferPointer { c in
            values.withUnsafeMutableBufferPointer { v in
                local.columnIndices.withUnsafeBufferPointer { sourceColumns in
                    local.values.withUnsafeBufferPointer { sourceValues in
                        var at = 0
                        for (k, row) in sendLocalIndices.enumerated() {
                            let start = local.rowPointers[row], length = lengths[k]
                            (c.baseAddress! + at).update(from: sourceColumns.baseAddress! + start, count: length)
                            (v.baseAddress! + at).update(from: sourceValues.baseAddress! + start, count: length)
                            at += length
                        }
                    }
                }
            }
        }
        let receivedLengths = try transfer(lengths, sendCounts: sendCounts, receiveCounts: receiveCounts, communicator: communicator)
        var incomingEntries = [Int](repeating: 0, count: receiveCounts.count)
        var row = 0
        for source in 0..<receiveCounts.count {
            for _ in 0..<receiveCounts[source] { incomingEntries[source] += receivedLengths[row]; row += 1 }
        }
        let receivedColumns = try transfer(columns, sendCounts: entryCounts, receiveCounts: incomingEntries, communicator: communicator)
        let receivedValues = try transfer(values, sendCounts: entryCounts, receiveCounts: incomingEntries, communicator: communicator)
        var pointers = [Int](repeating: 0, count: receivedLengths.count + 1)
        for i in 0..<receivedLengths.count { pointers[i + 1] = pointers[i] + receivedLengths[i] }
        return CSRMatrix(rows: receivedLengths.count, columns: local.columns, rowPointers: pointers,
                         columnIndices: receivedColumns, values: receivedValues, columnsSorted: local.columnsSorted)
    }

    /// Bytes this plan moves per vector exchange (for reports).
    public var bytesPerVectorExchange: Int { neededIndices.count * MemoryLayout<Double>.stride }
}
