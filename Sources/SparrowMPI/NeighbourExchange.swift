import CMPI
import SparrowCore

/// Sparse exchanges: point-to-point messages to the ranks that actually send
/// or receive something, instead of an all-to-all that every rank enters.
/// A banded SpMV on P ranks talks to two neighbours per rank; an all-to-all
/// would cost every rank O(P) in counts and synchronisation.
extension Communicator {
    private static let neighbourTag: Int32 = 7032

    /// Whether a pattern in which this rank exchanges with `partners` other
    /// ranks is dense enough for an all-to-all (collective: every rank decides
    /// alike). Dense: on average each rank talks to at least three quarters of
    /// the others. `SPARROW_EXCHANGE=alltoall|neighbour` forces one (benchmarks).
    public func prefersAllToAll(partners: Int) -> Bool {
        if size <= 2 { return true }
        switch System.environment("SPARROW_EXCHANGE") {
        case "alltoall": return true
        case "neighbour": return false
        default:
            let total = allreduce(partners, .sum)
            return 4 * total >= 3 * size * (size - 1)
        }
    }

    /// alltoallv's result (what every rank sent here, in rank order) by
    /// non-blocking sends and receives with the partners only; each message
    /// split into pieces within MPI's 32-bit count.
    public func neighbourAlltoallv<T: MPIScalar>(_ values: [T], sendCounts: [Int], receiveCounts: [Int]) -> [T] {
        if size == 1 { return values }
        var sendOffsets = [0], receiveOffsets = [0]
        for r in 0..<size {
            sendOffsets.append(sendOffsets[r] + sendCounts[r])
            receiveOffsets.append(receiveOffsets[r] + receiveCounts[r])
        }
        let total = receiveOffsets[size]
        var result = [T](unsafeUninitializedCapacity: total) { $1 = total }
        for k in 0..<receiveCounts[rank] { result[receiveOffsets[rank] + k] = values[sendOffsets[rank] + k] }
        values.withUnsafeBufferPointer { send in
            result.withUnsafeMutableBufferPointer { receive in
                collective("neighbour exchange") {
                    var requests: [MPI_Request?] = []
                    for source in 0..<size where source != rank {
                        for piece in pieces(receiveCounts[source]) {
                            var request: MPI_Request? = sparrow_mpi_request_null()
                            MPI_Irecv(receive.baseAddress! + receiveOffsets[source] + piece.start, Int32(piece.length), T.mpiDatatype,
                                      Int32(source), Self.neighbourTag, handle, &request)
                            requests.append(request)
                        }
                    }
                    for destination in 0..<size where destination != rank {
                        for piece in pieces(sendCounts[destination]) {
                            var request: MPI_Request? = sparrow_mpi_request_null()
                            MPI_Isend(send.baseAddress! + sendOffsets[destination] + piece.start, Int32(piece.length), T.mpiDatatype,
                                      Int32(destination), Self.neighbourTag, handle, &request)
                            requests.append(request)
                        }
                    }
                    if !requests.isEmpty { MPI_Waitall(Int32(requests.count), &requests, sparrow_mpi_statuses_ignore()) }
                }
            }
        }
        bytesReceived += (total - receiveCounts[rank]) * MemoryLayout<T>.stride
        return result
    }
}
