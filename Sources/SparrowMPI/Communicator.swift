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
/// never touch it. Counts cross MPI as 32-bit ints, so one message per peer is
/// limited to 2^31 − 1 elements; larger transfers throw rather than truncate.
public final class Communicator {
    public let rank: Int
    public let size: Int
    private let handle: MPI_Comm?
    public private(set) var bytesReceived = 0
    public private(set) var communicationSeconds = 0.0

    private init() {
        handle = sparrow_mpi_comm_world()
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(handle, &r)
        MPI_Comm_size(handle, &s)
        rank = Int(r)
        size = Int(s)
    }

    /// Initialises MPI once per process and returns the world communicator.
    public static func initialize() -> Communicator {
        var provided: Int32 = 0
        MPI_Init_thread(nil, nil, sparrow_mpi_thread_funneled(), &provided)
        return Communicator()
    }

    public static func finalize() { MPI_Finalize() }

    /// Ends every rank at once: for failures that only some ranks saw.
    public func abort(code: Int32) -> Never {
        MPI_Abort(handle, code)
        while true {}
    }

    public var isRoot: Bool { rank == 0 }

    public func barrier() { timed { MPI_Barrier(handle) } }

    private func timed(_ body: () -> Void) {
        let start = System.now()
        body()
        communicationSeconds += System.now() - start
    }

    private func count32(_ n: Int) throws(SparrowError) -> Int32 {
        guard let c = Int32(exactly: n) else {
            throw .computation("message of \(n) elements exceeds MPI's 2^31 − 1 element limit per peer")
        }
        return c
    }

    // MARK: reductions

    public func allreduce<T: MPIScalar>(_ values: [T], _ operation: ReductionOperation) -> [T] {
        var result = values
        values.withUnsafeBufferPointer { send in
            result.withUnsafeMutableBufferPointer { recv in
                timed { MPI_Allreduce(send.baseAddress, recv.baseAddress, Int32(values.count), T.mpiDatatype, operation.handle, handle) }
            }
        }
        return result
    }

    public func allreduce<T: MPIScalar>(_ value: T, _ operation: ReductionOperation) -> T {
        allreduce([value], operation)[0]
    }

    /// Element-wise sum in place over a large buffer (e.g. global row counts).
    public func allreduceSumInPlace<T: MPIScalar>(_ values: inout [T]) {
        if size == 1 { return }
        let n = Int32(values.count)
        values.withUnsafeMutableBufferPointer { buffer in
            timed { MPI_Allreduce(sparrow_mpi_in_place(), buffer.baseAddress, n, T.mpiDatatype, sparrow_mpi_op_sum(), handle) }
        }
    }

    // MARK: gathers

    public func allgather<T: MPIScalar>(_ value: T) -> [T] {
        let input = [value]
        var result = [T](repeating: value, count: size)
        input.withUnsafeBufferPointer { send in
            result.withUnsafeMutableBufferPointer { recv in
                timed { MPI_Allgather(send.baseAddress, 1, T.mpiDatatype, recv.baseAddress, 1, T.mpiDatatype, handle) }
            }
        }
        return result
    }

    /// Concatenation of every rank's array, in rank order, on every rank.
    public func allgatherv<T: MPIScalar>(_ values: [T]) throws(SparrowError) -> [T] {
        let counts = allgather(values.count)
        let counts32 = try counts.map { (c) throws(SparrowError) in try count32(c) }
        var displacements = [Int32](repeating: 0, count: size)
        for r in 1..<max(1, size) { displacements[r] = displacements[r - 1] + counts32[r - 1] }
        let total = counts.reduce(0, +)
        var result = [T](unsafeUninitializedCapacity: total) { $1 = total }
        let mine = try count32(values.count)
        values.withUnsafeBufferPointer { send in
            result.withUnsafeMutableBufferPointer { recv in
                timed { MPI_Allgatherv(send.baseAddress, mine, T.mpiDatatype, recv.baseAddress, counts32, displacements, T.mpiDatatype, handle) }
            }
        }
        bytesReceived += (total - values.count) * MemoryLayout<T>.stride
        return result
    }

    /// Every rank's array on `root` (nil elsewhere).
    public func gatherv<T: MPIScalar>(_ values: [T], root: Int = 0) throws(SparrowError) -> [[T]]? {
        let counts = allgather(values.count)
        let counts32 = try counts.map { (c) throws(SparrowError) in try count32(c) }
        var displacements = [Int32](repeating: 0, count: size)
        for r in 1..<max(1, size) { displacements[r] = displacements[r - 1] + counts32[r - 1] }
        let total = rank == root ? counts.reduce(0, +) : 0
        var result = [T](unsafeUninitializedCapacity: total) { $1 = total }
        let mine = try count32(values.count)
        values.withUnsafeBufferPointer { send in
            result.withUnsafeMutableBufferPointer { recv in
                timed { MPI_Gatherv(send.baseAddress, mine, T.mpiDatatype, recv.baseAddress, counts32, displacements, T.mpiDatatype, Int32(root), handle) }
            }
        }
        guard rank == root else { return nil }
        bytesReceived += (total - values.count) * MemoryLayout<T>.stride
        return (0..<size).map { r in Array(result[Int(displacements[r])..<(Int(displacements[r]) + counts[r])]) }
    }

    // MARK: broadcast

    public func broadcast<T: MPIScalar>(_ values: [T], root: Int = 0) -> [T] {
        var count = values.count
        timed { MPI_Bcast(&count, 1, Int.mpiDatatype, Int32(root), handle) }
        var result = rank == root ? values : [T](unsafeUninitializedCapacity: count) { $1 = count }
        result.withUnsafeMutableBufferPointer { buffer in
            timed { MPI_Bcast(buffer.baseAddress, Int32(count), T.mpiDatatype, Int32(root), handle) }
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
        precondition(sendCounts.count == size)
        if size == 1 { return (values, sendCounts) }
        var receiveCounts = [Int](repeating: 0, count: size)
        sendCounts.withUnsafeBufferPointer { send in
            receiveCounts.withUnsafeMutableBufferPointer { recv in
                timed { MPI_Alltoall(send.baseAddress, 1, Int.mpiDatatype, recv.baseAddress, 1, Int.mpiDatatype, handle) }
            }
        }
        let result = try alltoallv(values, sendCounts: sendCounts, receiveCounts: receiveCounts)
        return (result, receiveCounts)
    }

    /// The same with receive counts already known (e.g. from an exchange plan).
    public func alltoallv<T: MPIScalar>(_ values: [T], sendCounts: [Int], receiveCounts: [Int]) throws(SparrowError) -> [T] {
        if size == 1 { return values }
        let sc = try sendCounts.map { (c) throws(SparrowError) in try count32(c) }
        let rc = try receiveCounts.map { (c) throws(SparrowError) in try count32(c) }
        var sd = [Int32](repeating: 0, count: size), rd = [Int32](repeating: 0, count: size)
        for r in 1..<size {
            sd[r] = try count32(Int(sd[r - 1]) + Int(sc[r - 1]))
            rd[r] = try count32(Int(rd[r - 1]) + Int(rc[r - 1]))
        }
        let total = receiveCounts.reduce(0, +)
        var result = [T](unsafeUninitializedCapacity: total) { $1 = total }
        values.withUnsafeBufferPointer { send in
            result.withUnsafeMutableBufferPointer { recv in
                timed {
                    MPI_Alltoallv(send.baseAddress, sc, sd, T.mpiDatatype, recv.baseAddress, rc, rd, T.mpiDatatype, handle)
                }
            }
        }
        bytesReceived += (total - receiveCounts[rank]) * MemoryLayout<T>.stride
        return result
    }

    // MARK: agreement on errors

    /// Makes a failure seen on any rank a failure on every rank: each rank
    /// passes its own result; if any failed, every rank throws the error of the
    /// lowest failing rank (broadcast as text), so all ranks exit together.
    public func agree<T>(_ result: Result<T, SparrowError>) throws(SparrowError) -> T {
        let failed = allgather(Int(result.isFailure ? 1 : 0))
        guard let first = failed.firstIndex(of: 1) else { return try result.get() }
        let encoded = rank == first ? result.failure.map(ErrorCoding.encode) ?? "" : ""
        throw ErrorCoding.decode(broadcast(encoded, root: first))
    }
}

extension Result {
    var isFailure: Bool { if case .failure = self { return true } else { return false } }
    var failure: Failure? { if case let .failure(e) = self { return e } else { return nil } }
}

/// Flattens a SparrowError to text and back, to move it between ranks.
enum ErrorCoding {
    static let separator: Character = "\u{1F}"
    static func encode(_ error: SparrowError) -> String {
        switch error {
        case let .input(file, line, message): return ["input", file, line.map(String.init) ?? "", message].joined(separator: String(separator))
        case let .field(name, message): return ["field", name, message].joined(separator: String(separator))
        case let .usage(message): return ["usage", message].joined(separator: String(separator))
        case let .computation(message): return ["computation", message].joined(separator: String(separator))
        case let .output(path, message): return ["output", path, message].joined(separator: String(separator))
        case let .located(file, line, column, field, message):
            return ["located", file, String(line), String(column), field, message].joined(separator: String(separator))
        case let .several(errors): return "several" + String(separator) + errors.map(encode).joined(separator: "\u{1D}")
        }
    }
    static func decode(_ text: String) -> SparrowError {
        let parts = text.split(separator: separator, omittingEmptySubsequences: false).map(String.init)
        switch parts.first {
        case "input" where parts.count == 4: return .input(file: parts[1], line: Int(parts[2]), message: parts[3])
        case "field" where parts.count == 3: return .field(name: parts[1], message: parts[2])
        case "usage" where parts.count == 2: return .usage(parts[1])
        case "output" where parts.count == 3: return .output(path: parts[1], message: parts[2])
        case "computation" where parts.count == 2: return .computation(parts[1])
        case "located" where parts.count == 6:
            return .located(file: parts[1], line: Int(parts[2]) ?? 0, column: Int(parts[3]) ?? 0, field: parts[4], message: parts[5])
        case "several":
            let body = text.dropFirst("several".count + 1)
            return .several(body.split(separator: "\u{1D}").map { decode(String($0)) })
        default: return .computation("a rank failed: \(text)")
        }
    }
}
