#if canImport(Glibc)
import Glibc
#endif
import CMPI
import SparrowCore

/// The one failure path of Sparrow under MPI (documented in docs/architecture.md).
///
/// 1. Code that can fail on some ranks only (reading, parsing, factorizing,
///    writing on the root) runs inside `everywhere` or `onRoot`. These bodies
///    are rank-local regions: a collective called inside one ends the job at
///    once as an internal error, because on the ranks that did not fail it
///    would wait for partners that are already elsewhere. After the body,
///    `agree` makes its outcome everyone's: if any rank failed, every rank
///    throws the error of the lowest failing rank.
/// 2. Whatever error still reaches the top of a verb (or of a service job) goes
///    to `shareFailure`: a non-blocking barrier on a communicator reserved for
///    failures. If every rank arrives within `failureAgreementSeconds` the
///    failure was uniform (an agreed error, or one every rank hit alike) and
///    rank 0 prints one line and ends the job with MPI_Abort and the exit
///    code (no rank is left waiting, and mpirun exits at once); otherwise the
///    failing rank prints its own line and calls MPI_Abort with the exit code,
///    which ends every rank and makes mpirun exit with that code.
extension Communicator {
    /// How long a failing rank waits for the others to reach the failure path.
    public static let failureAgreementSeconds = 3.0

    /// Runs `body` on the root only and makes its outcome everyone's: if it
    /// throws there, every rank throws the same error (so all exit alike).
    public func onRoot<T>(_ body: () throws(SparrowError) -> T) throws(SparrowError) -> T? {
        let outcome: Result<T?, SparrowError>
        if isRoot {
            outcome = local { () throws(SparrowError) in try body() }
        } else {
            outcome = .success(nil)
        }
        return try agree(outcome)
    }

    /// Runs `body` on every rank and fails everywhere if it failed anywhere.
    public func everywhere<T>(_ body: () throws(SparrowError) -> T) throws(SparrowError) -> T {
        try agree(local(body))
    }

    /// Runs rank-local code (no collectives allowed) and captures its outcome.
    public func local<T>(_ body: () throws(SparrowError) -> T) -> Result<T, SparrowError> {
        localRegionDepth += 1
        defer { localRegionDepth -= 1 }
        do { return .success(try body()) } catch { return .failure(error) }
    }

    /// Makes a failure seen on any rank a failure on every rank: each rank
    /// passes its own result; if any failed, every rank throws the error of the
    /// lowest failing rank (broadcast as text), so all ranks exit together.
    public func agree<T>(_ result: Result<T, SparrowError>) throws(SparrowError) -> T {
        let failed = allgather(Int(result.isFailure ? 1 : 0))
        guard let first = failed.firstIndex(of: 1) else { return try result.get() }
        let encoded = rank == first ? result.failure.map(ErrorCoding.encode) ?? "" : ""
        throw ErrorCoding.decode(broadcast(encoded, root: first))
    }

    /// Called with an error that reached the top of a verb or service job.
    /// Returns true when every rank failed alike (the caller may carry on, or
    /// end normally, with rank 0 reporting); otherwise this rank alone failed,
    /// and the job is aborted here with the error's exit code.
    public func shareFailure(_ error: SparrowError) -> Bool {
        guard usesMPI, size > 1 else { return true }
        var request: MPI_Request? = sparrow_mpi_request_null()
        MPI_Ibarrier(failureHandle, &request)
        let deadline = System.now() + Self.failureAgreementSeconds
        var complete: Int32 = 0
        while true {
            MPI_Test(&request, &complete, sparrow_mpi_status_ignore())
            if complete != 0 { return true }
            if System.now() > deadline { break }
            _ = System.sleep(milliseconds: 2)
        }
        for line in error.lines { System.printError("sparrow: error: \(line)") }
        MPI_Abort(handle, error.exitCode)
        _exit(error.exitCode)
    }

    /// Ends the process after a verb: prints a failure once, synchronises, exits with the contract's code.
    public func exit(failing error: SparrowError?) -> Never {
        localRegionDepth = 0
        if let error {
            _ = shareFailure(error) // aborts unless every rank failed alike
            // What the verb printed before failing (verify's per-input lines) must not die in
            // stdout's buffer: MPI_Abort and _exit below do not flush it.
            fflush(nil)
            if isRoot { for line in error.lines { System.printError("sparrow: error: \(line)") } }
            // Every rank is here: rank 0 ends the job with the code. mpirun exits at once
            // after MPI_Abort (0.3 s), but waits 1–2 s after a non-zero normal exit.
            if usesMPI {
                if isRoot { MPI_Abort(handle, error.exitCode) } else { MPI_Barrier(handle) }
                _exit(error.exitCode)
            }
        }
        // Let rank 0's message reach mpirun's output forwarding before any rank exits non-zero.
        barrier()
        finalize()
        Glibc.exit(error?.exitCode ?? 0)
    }

    /// A programming error that would hang some ranks: report it and end every rank.
    func misuse(_ message: String) -> Never {
        System.printError("sparrow: error: internal error on rank \(rank): \(message)")
        if usesMPI { MPI_Abort(handle, 1) }
        _exit(1)
    }

    /// One value per rank gathered as a per_rank report list.
    /// Every rank's figures (collective), with its peak resident memory (VmHWM)
    /// added unless the caller reports it already.
    public func perRankReport(_ given: [(String, Double)]) -> [[(String, JSONValue)]] {
        let fields = given.contains { $0.0 == "peak_resident_bytes" } ? given
            : given + [("peak_resident_bytes", Double(System.peakResidentBytes()))]
        let columns = fields.map { field in allgather(field.1) }
        return (0..<size).map { r in
            [("rank", JSONValue.integer(r))] + fields.enumerated().map { k, field in
                let v = columns[k][r]
                return (field.0, v == v.rounded() && abs(v) < 1e15 ? JSONValue.integer(Int(v)) : .number(v))
            }
        }
    }
}

extension Result {
    var isFailure: Bool { if case .failure = self { return true } else { return false } }
    var failure: Failure? { if case let .failure(e) = self { return e } else { return nil } }
}

/// Flattens a SparrowError to text and back, to move it between ranks. Fields
/// are length-prefixed, so any text (control characters included) survives.
enum ErrorCoding {
    static func encode(_ error: SparrowError) -> String {
        func pack(_ fields: [String]) -> String { fields.map { "\($0.utf8.count):\($0)" }.joined() }
        switch error {
        case let .input(file, line, message): return pack(["input", file, line.map(String.init) ?? "", message])
        case let .field(name, message): return pack(["field", name, message])
        case let .usage(message): return pack(["usage", message])
        case let .computation(message): return pack(["computation", message])
        case let .output(path, message): return pack(["output", path, message])
        case let .located(file, line, column, field, message):
            return pack(["located", file, String(line), String(column), field, message])
        case let .several(errors): return pack(["several"] + errors.map(encode))
        case let .interrupted(signal, message): return pack(["interrupted", String(signal), message])
        }
    }

    static func decode(_ text: String) -> SparrowError {
        var fields: [String] = []
        var rest = Substring(text).utf8
        while let colon = rest.firstIndex(of: UInt8(ascii: ":")),
              let length = Int(String(decoding: rest[..<colon], as: UTF8.self)), length >= 0 {
            let start = rest.index(after: colon)
            guard let end = rest.index(start, offsetBy: length, limitedBy: rest.endIndex) else { break }
            fields.append(String(decoding: rest[start..<end], as: UTF8.self))
            rest = rest[end...]
        }
        switch (fields.first, fields.count) {
        case ("input", 4): return .input(file: fields[1], line: Int(fields[2]), message: fields[3])
        case ("field", 3): return .field(name: fields[1], message: fields[2])
        case ("usage", 2): return .usage(fields[1])
        case ("output", 3): return .output(path: fields[1], message: fields[2])
        case ("computation", 2): return .computation(fields[1])
        case ("located", 6):
            return .located(file: fields[1], line: Int(fields[2]) ?? 0, column: Int(fields[3]) ?? 0, field: fields[4], message: fields[5])
        case ("several", _): return .several(fields.dropFirst().map(decode))
        case ("interrupted", 3): return .interrupted(signal: Int32(fields[1]) ?? 15, message: fields[2])
        default: return .computation("a rank failed: \(text)")
        }
    }
}
