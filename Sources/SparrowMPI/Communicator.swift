import CMPI
import SparrowCore

/// Element types that cross MPI, with their MPI datatype.
public protocol MPIScalar {
    static var mpiDatatype: MPI_Datatype? { get }
}
extension Double: MPIScalar { public static var mpiDatatype: MPI_Datatype? { sparrow_mpi_double() } }
extension Int: MPIScalar { public static var mpiDatatype: MPI_Datatype? { sparrow_mpi_int64() } }
extension Int32: MPIScalar { public static var mpiDatatype: MPI_Datatype? { sparrow_mpi_int32() } }
extension UInt8: MPIScalar { public static var mpiDatatype: MPI_Datatype? { sparrow_mpi_uint8() } }

public enum ReductionOperation {
    case sum, max, min
    var handle: MPI_Op? {
        switch self {
        case .sum: return sparrow_mpi_op_sum()
        case .max: return sparrow_mpi_op_max()
        case .min: return sparrow_mpi_op_min()
        }
    }
}

/// The world communicator. Every method must be called from the main thread
/// (MPI is initialised with MPI_THREAD_FUNNELED); worker threads inside a rank
/// never touch it.
///
/// A process not started by a launcher (mpirun, srun, hydra) runs as a
/// one-rank communicator without initialising MPI at all: singleton start-up
/// costs ~0.4 s, which a command-line tool should not pay for `--version`.
///
/// MPI counts are 32-bit; a transfer whose counts or offsets pass
/// `maximumElementsPerCall` is split into several calls (see `ChunkedTransfers.swift`).
///
/// Failure handling lives in `FailurePath.swift`: code that can fail on some
/// ranks only runs inside `everywhere`/`onRoot` (no collectives allowed there,
/// enforced below), and whatever escapes to the verb's top level goes through
/// `exit(failing:)`.
public final class Communicator {
    public let rank: Int
    public let size: Int
    let handle: MPI_Comm?
    /// A duplicate of the world used only by the failure path, so its
    /// non-blocking barrier can never be matched against a data collective.
    let failureHandle: MPI_Comm?
    /// Whether MPI was initialised (false for a process run without a launcher).
    public let usesMPI: Bool
    /// Largest element count or offset one MPI call is given (2^31 − 1; lower only in tests).
    let maximumElementsPerCall: Int
    public internal(set) var bytesReceived = 0
    public private(set) var communicationSeconds = 0.0
    /// Depth of rank-local regions (`everywhere`/`onRoot` bodies) now running.
    var localRegionDepth = 0

    private init(usesMPI: Bool) {
        self.usesMPI = usesMPI
        let limit = System.environment("SPARROW_MPI_MAX_ELEMENTS").flatMap { Int($0) } ?? Int(Int32.max)
        maximumElementsPerCall = min(Int(Int32.max), max(1, limit))
        guard usesMPI else {
            handle = nil
            failureHandle = nil
            rank = 0
            size = 1
            return
        }
        handle = sparrow_mpi_comm_world()
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(handle, &r)
        MPI_Comm_size(handle, &s)
        rank = Int(r)
        size = Int(s)
        var duplicate: MPI_Comm? = nil
        MPI_Comm_dup(handle, &duplicate)
        failureHandle = duplicate
    }

    /// Environment variables that launchers set in every process they start.
    static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"]

    /// Whether this process was started by an MPI launcher (or `SPARROW_MPI=1` asks for MPI anyway).
    public static var launchedByMPI: Bool {
        if let forced = System.environment("SPARROW_MPI") { return forced == "1" }
        return launcherVariables.contains { System.environment($0) != nil }
    }

    /// Initialises MPI once per process (only when launched by a launcher) and returns the world communicator.
    public static func initialize() -> Communicator {
        guard launchedByMPI else { return Communicator(usesMPI: false) }
        var provided: Int32 = 0
        MPI_Init_thread(nil, nil, sparrow_mpi_thread_funneled(), &provided)
        return Communicator(usesMPI: true)
    }

    public func finalize() {
        guard usesMPI else { return }
        var duplicate = failureHandle
        MPI_Comm_free(&duplicate)
        MPI_Finalize()
    }

    public var isRoot: Bool { rank == 0 }

    public func barrier() { collective("barrier") { MPI_Barrier(handle) } }

    /// Every collective passes through here: it is timed, and calling one from
    /// inside a rank-local region is a programming error that would hang the
    /// job when only some ranks get there, so it ends the job at once instead.
    func collective(_ name: String, _ body: () -> Void) {
        if localRegionDepth > 0 { misuse("collective '\(name)' called inside a rank-local region (everywhere/onRoot)") }
        guard usesMPI else { return }
        let start = System.now()
        body()
        communicationSeconds += System.now() - start
    }

    // MARK: reductions

    public func allreduce<T: MPIScalar>(_ values: [T], _ operation: ReductionOperation) -> [T] {
        var result = values
        collective("allreduce") {
            values.withUnsafeBufferPointer { send in
                result.withUnsafeMutableBufferPointer { recv in
                    _ = MPI_Allreduce(send.baseAddress, recv.baseAddress, Int32(values.count), T.mpiDatatype, operation.handle, handle)
                }
            }
        }
        return result
    }

    public func allreduce<T: MPIScalar>(_ value: T, _ operation: ReductionOperation) -> T {
        allreduce([value], operation)[0]
    }

    /// Element-wise sum in place over a buffer, in pieces MPI's counts can hold.
    public func allreduceSumInPlace<T: MPIScalar>(_ values: inout [T]) {
        let chunk = maximumElementsPerCall
        values.withUnsafeMutableBufferPointer { buffer in
            collective("allreduce") {
                for start in stride(from: 0, to: buffer.count, by: chunk) {
                    let n = Int32(min(chunk, buffer.count - start))
                    MPI_Allreduce(sparrow_mpi_in_place(), buffer.baseAddress! + start, n, T.mpiDatatype, sparrow_mpi_op_sum(), handle)
                }
            }
        }
    }

    // MARK: gathers

    public func allgather<T: MPIScalar>(_ value: T) -> [T] {
        let input = [value]
        var result = [T](repeating: value, count: size)
        collective("allgather") {
            input.withUnsafeBufferPointer { send in
                result.withUnsafeMutableBufferPointer { recv in
                    _ = MPI_Allgather(send.baseAddress, 1, T.mpiDatatype, recv.baseAddress, 1, T.mpiDatatype, handle)
                }
            }
        }
        return result
    }

    /// Concatenation of every rank's array, in rank order, on every rank.
    public func allgatherv<T: MPIScalar>(_ values: [T]) throws(SparrowError) -> [T] {
        let counts = allgather(values.count)
        let total = counts.reduce(0, +)
        if size == 1 { return values }
        guard let layout = Int32Layout(counts: counts, limit: maximumElementsPerCall) else {
            return chunkedAllgatherv(values, counts: counts)
        }
        var result = [T](unsafeUninitializedCapacity: total) { $1 = total }
        collective("allgatherv") {
            values.withUnsafeBufferPointer { send in
                result.withUnsafeMutableBufferPointer { recv in
                    _ = MPI_Allgatherv(send.baseAddress, layout.counts[rank], T.mpiDatatype, recv.baseAddress, layout.counts,
                                       layout.displacements, T.mpiDatatype, handle)
                }
            }
        }
        bytesReceived += (total - values.count) * MemoryLayout<T>.stride
        return result
    }

    /// Every rank's array on `root` (nil elsewhere).
    public func gatherv<T: MPIScalar>(_ values: [T], root: Int = 0) throws(SparrowError) -> [[T]]? {
        let counts = allgather(values.count)
        if size == 1 { return [values] }
        guard let layout = Int32Layout(counts: counts, limit: maximumElementsPerCall) else {
            return chunkedGatherv(values, counts: counts, root: root)
        }
        let total = rank == root ? counts.reduce(0, +) : 0
        var result = [T](unsafeUninitializedCapacity: total) { $1 = total }
        collective("gatherv") {
            values.withUnsafeBufferPointer { send in
                result.withUnsafeMutableBufferPointer { recv in
                    _ = MPI_Gatherv(send.baseAddress, layout.counts[rank], T.mpiDatatype, recv.baseAddress, layout.counts,
                                    layout.displacements, T.mpiDatatype, Int32(root), handle)
                }
            }
        }
        guard rank == root else { return nil }
        bytesReceived += (total - values.count) * MemoryLayout<T>.stride
        return (0..<size).map { r in
            let first = Int(layout.displacements[r])
            return Array(result[first..<(first + counts[r])])
        }
    }

    // MARK: broadcast

    public func broadcast<T: MPIScalar>(_ values: [T], root: Int = 0) -> [T] {
        var count = values.count
        collective("broadcast") { MPI_Bcast(&count, 1, Int.mpiDatatype, Int32(root), handle) }
        if size == 1 { return values }
        var result = rank == root ? values : [T](unsafeUninitializedCapacity: count) { $1 = count }
        let chunk = maximumElementsPerCall
        result.withUnsafeMutableBufferPointer { buffer in
            collective("broadcast") {
                for start in stride(from: 0, to: count, by: chunk) {
                    MPI_Bcast(buffer.baseAddress! + start, Int32(min(chunk, count - start)), T.mpiDatatype, Int32(root), handle)
                }
            }
        }
        if rank != root { bytesReceived += count * MemoryLayout<T>.stride }
        return result
    }

    public func broadcast(_ text: String, root: Int = 0) -> String {
        String(decoding: broadcast(Array(text.utf8), root: root), as: UTF8.self)
    }

    // MARK: all-to-all

    /// Sends `values[sendOffsets[r] ..< sendOffsets[r + 1]]` to rank r; returns what every
    /// rank sent here, concatenated in rank order, with the per-source counts.
    public func alltoallv<T: MPIScalar>(_ values: [T], sendCounts: [Int]) throws(SparrowError) -> (values: [T], counts: [Int]) {
        guard sendCounts.count == size else {
            throw .computation("internal: alltoallv given \(sendCounts.count) send counts for \(size) ranks")
        }
        if size == 1 { return (values, sendCounts) }
        var receiveCounts = [Int](repeating: 0, count: size)
        collective("alltoall") {
            sendCounts.withUnsafeBufferPointer { send in
                receiveCounts.withUnsafeMutableBufferPointer { recv in
                    _ = MPI_Alltoall(send.baseAddress, 1, Int.mpiDatatype, recv.baseAddress, 1, Int.mpiDatatype, handle)
                }
            }
        }
        let result = try alltoallv(values, sendCounts: sendCounts, receiveCounts: receiveCounts)
        return (result, receiveCounts)
    }

    /// The same with receive counts already known (e.g. from an exchange plan).
    public func alltoallv<T: MPIScalar>(_ values: [T], sendCounts: [Int], receiveCounts: [Int]) throws(SparrowError) -> [T] {
        if size == 1 { return values }
        // Every rank must take the same path: decide on the largest count or offset anywhere.
        let largest = allreduce(max(sendCounts.reduce(0, +), receiveCounts.reduce(0, +)), .max)
        guard largest <= maximumElementsPerCall,
              let send = Int32Layout(counts: sendCounts, limit: maximumElementsPerCall),
              let receive = Int32Layout(counts: receiveCounts, limit: maximumElementsPerCall) else {
            return chunkedAlltoallv(values, sendCounts: sendCounts, receiveCounts: receiveCounts)
        }
        let total = receiveCounts.reduce(0, +)
        var result = [T](unsafeUninitializedCapacity: total) { $1 = total }
        collective("alltoallv") {
            values.withUnsafeBufferPointer { sendBuffer in
                result.withUnsafeMutableBufferPointer { recv in
                    _ = MPI_Alltoallv(sendBuffer.baseAddress, send.counts, send.displacements, T.mpiDatatype,
                                      recv.baseAddress, receive.counts, receive.displacements, T.mpiDatatype, handle)
                }
            }
        }
        bytesReceived += (total - receiveCounts[rank]) * MemoryLayout<T>.stride
        return result
    }
}

/// Counts and displacements as MPI's 32-bit arrays, when every one fits under `limit`.
struct Int32Layout {
    let counts: [Int32]
    let displacements: [Int32]

    init?(counts: [Int], limit: Int) {
        var c: [Int32] = [], d: [Int32] = []
        var offset = 0
        for n in counts {
            guard n <= limit, offset <= limit else { return nil }
            c.append(Int32(n))
            d.append(Int32(offset))
            offset += n
        }
        self.counts = c
        displacements = d
    }
}
