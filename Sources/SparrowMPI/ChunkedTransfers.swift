import CMPI
import SparrowCore

/// Transfers whose counts or offsets pass MPI's 32-bit limit, split into calls
/// of at most `maximumElementsPerCall` elements each. A distributed product on
/// a real cluster passes 2^31 − 1 elements per rank easily; these paths keep
/// such sizes working rather than refusing them. Tests lower the limit
/// (SPARROW_MPI_MAX_ELEMENTS) so the same code runs on small inputs.
extension Communicator {
    private static let chunkTag: Int32 = 7031

    /// Pieces [start, start + length) of `count` elements, each within the per-call limit.
    func pieces(_ count: Int) -> [(start: Int, length: Int)] {
        stride(from: 0, to: count, by: maximumElementsPerCall).map { ($0, min(maximumElementsPerCall, count - $0)) }
    }

    /// allgatherv as one chunked broadcast per rank.
    func chunkedAllgatherv<T: MPIScalar>(_ values: [T], counts: [Int]) -> [T] {
        let total = counts.reduce(0, +)
        var result = [T](unsafeUninitializedCapacity: total) { $1 = total }
        var offset = 0
        for r in 0..<size {
            if r == rank { for k in 0..<values.count { result[offset + k] = values[k] } }
            let base = offset
            result.withUnsafeMutableBufferPointer { buffer in
                collective("allgatherv") {
                    for piece in pieces(counts[r]) {
                        MPI_Bcast(buffer.baseAddress! + base + piece.start, Int32(piece.length), T.mpiDatatype, Int32(r), handle)
                    }
                }
            }
            offset += counts[r]
        }
        bytesReceived += (total - values.count) * MemoryLayout<T>.stride
        return result
    }

    /// gatherv as chunked point-to-point messages to the root.
    func chunkedGatherv<T: MPIScalar>(_ values: [T], counts: [Int], root: Int) -> [[T]]? {
        if rank != root {
            values.withUnsafeBufferPointer { buffer in
                collective("gatherv") {
                    for piece in pieces(values.count) {
                        MPI_Send(buffer.baseAddress! + piece.start, Int32(piece.length), T.mpiDatatype, Int32(root), Self.chunkTag, handle)
                    }
                }
            }
            return nil
        }
        var gathered: [[T]] = []
        for r in 0..<size {
            if r == rank { gathered.append(values); continue }
            let count = counts[r]
            var part = [T](unsafeUninitializedCapacity: count) { $1 = count }
            part.withUnsafeMutableBufferPointer { buffer in
                collective("gatherv") {
                    for piece in pieces(count) {
                        MPI_Recv(buffer.baseAddress! + piece.start, Int32(piece.length), T.mpiDatatype, Int32(r), Self.chunkTag,
                                 handle, sparrow_mpi_status_ignore())
                    }
                }
            }
            bytesReceived += count * MemoryLayout<T>.stride
            gathered.append(part)
        }
        return gathered
    }

    /// alltoallv as non-blocking chunked sends and receives with every partner
    /// (the neighbour exchange's path, which splits each message into pieces).
    func chunkedAlltoallv<T: MPIScalar>(_ values: [T], sendCounts: [Int], receiveCounts: [Int]) -> [T] {
        neighbourAlltoallv(values, sendCounts: sendCounts, receiveCounts: receiveCounts)
    }
}
