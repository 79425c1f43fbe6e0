import SparrowCore
import SparrowMPI

/// The PCG iterate, recorded so a stopped or killed solve resumes where it
/// was, also at another rank count: one array file written by rows (every
/// rank its own, `ParallelOutput`), whose comment lines carry the iteration
/// and a digest of A and b. A resume reads only its own rows. The one
/// implementation behind `sparrow solve --method pcg --checkpoint` and the
/// job step `pcg` (whose directory the service keeps per job).
public struct PCGCheckpoint {
    public let path: String
    /// A's and b's digest (`prepare`): an iterate of another system is not resumed.
    public private(set) var dataDigest = ""

    public init(path: String) { self.path = path }

    /// Collective: identifies the system (the same digest at any rank count).
    public mutating func prepare(_ a: DistributedCSR, rightHandSide b: [Double], communicator: Communicator) {
        var digest = ContentDigest()
        digest.add(a.local, firstRow: a.ownedRows.lowerBound)
        for (i, v) in b.enumerated() { digest.add(row: a.ownedRows.lowerBound + i, column: -1, value: v) }
        if communicator.isRoot { digest.add(row: -1, column: a.globalRows, value: Double(a.globalColumns)) }
        dataDigest = digest.combined(communicator).description
    }

    /// Collective: the iterate after `iteration` iterations. Non-finite values are never
    /// recorded (the solve fails and the previous record stays).
    public func record(iteration: Int, x: DistributedDense, communicator: Communicator) throws(SparrowError) {
        try communicator.everywhere { () throws(SparrowError) in
            guard x.local.values.allSatisfy(\.isFinite) else {
                throw .computation("the PCG iterate became non-finite at iteration \(iteration); the last checkpoint \(path) is kept")
            }
        }
        try x.write(to: path, comment: "iteration \(iteration)\ndata \(dataDigest)", communicator: communicator)
    }

    public enum Recorded {
        case absent
        /// A record that cannot be resumed, and why.
        case unusable(SparrowError)
        case found(iteration: Int, x: [Double])
    }

    /// Collective: this rank's rows `owned` of the recorded iterate, read for those rows
    /// only. Used only if every rank read it, with the same iteration.
    public func read(rows: Int, owned: Range<Int>, communicator: Communicator) -> Recorded {
        let mine = communicator.local { () throws(SparrowError) -> (Int, [Double])? in
            guard System.isRegularFile(path) else { return nil }
            let file = try OpenFile(path: path)
            let head = String(decoding: try file.read(offset: 0, count: min(file.size, 400)), as: UTF8.self).split(separator: "\n")
            guard let line = head.first(where: { $0.hasPrefix("% iteration ") }), let iteration = Int(line.dropFirst(12)) else {
                throw .input(file: path, line: nil, message: "not a PCG checkpoint (no '% iteration' line)")
            }
            guard head.contains(where: { $0 == "% data \(dataDigest)" }) else {
                throw .usage("the checkpoint \(path) was made for another matrix or right-hand side")
            }
            let x = try DenseSpec.parseOwned(path, rows: rows, owned: owned, field: "checkpoint")
            guard x.count == 1 else { throw .input(file: path, line: nil, message: "expected one column, found \(x.count)") }
            if let bad = x[0].first(where: { !$0.isFinite }) {
                throw .input(file: path, line: nil, message: "holds \(bad); a checkpoint must hold finite numbers")
            }
            return (iteration, x[0])
        }
        var localError: SparrowError?, found: (Int, [Double])?
        switch mine {
        case let .success(value): found = value
        case let .failure(error): localError = error
        }
        let failed = communicator.allreduce(localError == nil ? 0 : 1, .max)
        let iteration = found?.0 ?? -1
        let range = communicator.allreduce([iteration, -iteration], .min) // the lowest and the negated highest
        if failed == 1 { return .unusable(localError ?? .input(file: path, line: nil, message: "unreadable on another rank")) }
        guard range[0] == -range[1] else { return .unusable(.input(file: path, line: nil, message: "ranks read different iterations")) }
        guard let found else { return .absent }
        return .found(iteration: found.0, x: found.1)
    }
}
