import SparrowCore

/// Which global indices this rank needs from which rank, and which of its own
/// it must send to whom; built once (one all-to-all of requests) and reused
/// for every exchange, like Tpetra's Import. The same plan moves vector
/// entries (ghost values for SpMV) or whole matrix rows (B rows for SpGEMM).
public struct ExchangePlan: Sendable {
    public let partition: RowPartition
    /// Sorted, distinct global indices this rank receives, grouped by owner rank.
    public let neededIndices: [Int]
    public let receiveCounts: [Int]
    /// Local offsets (index − owned range start) of the entries this rank sends, grouped by destination.
    public let sendLocalIndices: [Int]
    public let sendCounts: [Int]

    /// Collective: every rank passes the global indices it needs (any order, repeats allowed).
    public init(needing indices: [Int], partition: RowPartition, communicator: Communicator) throws(SparrowError) {
        self.partition = partition
        let needed = Array(Set(indices)).sorted()
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
    }

    /// Values at `neededIndices`, given this rank's owned values.
    public func exchange(_ owned: [Double], communicator: Communicator) throws(SparrowError) -> [Double] {
        let outgoing = sendLocalIndices.map { owned[$0] }
        return try communicator.alltoallv(outgoing, sendCounts: sendCounts, receiveCounts: receiveCounts)
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
        return try communicator.alltoallv(outgoing, sendCounts: sendCounts.map { $0 * width },
                                          receiveCounts: receiveCounts.map { $0 * width })
    }

    /// The rows at `neededIndices` of a row-distributed matrix, as a CSR whose
    /// row k is global row neededIndices[k] (column indices stay global).
    public func exchangeRows(of local: CSRMatrix, communicator: Communicator) throws(SparrowError) -> CSRMatrix {
        var lengths = [Int](), columns = [Int32](), values = [Double]()
        lengths.reserveCapacity(sendLocalIndices.count)
        var entryCounts = [Int](repeating: 0, count: sendCounts.count)
        var k = 0
        for destination in 0..<sendCounts.count {
            for _ in 0..<sendCounts[destination] {
                let range = local.rowRange(sendLocalIndices[k])
                lengths.append(range.count)
                columns.append(contentsOf: local.columnIndices[range])
                values.append(contentsOf: local.values[range])
                entryCounts[destination] += range.count
                k += 1
            }
        }
        let receivedLengths = try communicator.alltoallv(lengths, sendCounts: sendCounts, receiveCounts: receiveCounts)
        var incomingEntries = [Int](repeating: 0, count: receiveCounts.count)
        var row = 0
        for source in 0..<receiveCounts.count {
            for _ in 0..<receiveCounts[source] { incomingEntries[source] += receivedLengths[row]; row += 1 }
        }
        let receivedColumns = try communicator.alltoallv(columns, sendCounts: entryCounts, receiveCounts: incomingEntries)
        let receivedValues = try communicator.alltoallv(values, sendCounts: entryCounts, receiveCounts: incomingEntries)
        var pointers = [Int](repeating: 0, count: receivedLengths.count + 1)
        for i in 0..<receivedLengths.count { pointers[i + 1] = pointers[i] + receivedLengths[i] }
        return CSRMatrix(rows: receivedLengths.count, columns: local.columns, rowPointers: pointers,
                         columnIndices: receivedColumns, values: receivedValues, columnsSorted: local.columnsSorted)
    }

    /// Bytes this plan moves per vector exchange (for reports).
    public var bytesPerVectorExchange: Int { neededIndices.count * MemoryLayout<Double>.stride }
}
