import Foundation
import SparrowCore
import SparrowMPI

/// The state of a transport solve after an iteration, recorded so a killed run
/// resumes to the same answer: the duals (x then y, one array named by its
/// iteration, written by rank 0 with the atomic writer, 17 significant digits)
/// and a state file — problem identity, a digest of the problem's data,
/// counters, the shift factor and the history — written last, so its presence
/// marks a complete record; the previous iteration's duals are removed only
/// after it, so a crash in the middle of a record leaves the previous one
/// whole. Non-finite duals are never recorded, and a checkpoint holding one,
/// or one whose plan overflows, is refused. The solver's next step depends on
/// nothing else, so a resumed run repeats the uninterrupted run's steps.
public struct TransportCheckpoint {
    public let directory: String
    public let stem: String
    /// The problem's digest (`prepare`): a resume on other data is refused.
    public private(set) var dataDigest = ""

    public init(directory: String, stem: String = "ot") {
        self.directory = directory
        self.stem = stem
    }

    private func dualsPath(_ iteration: Int) -> String { "\(directory)/\(stem).iteration\(iteration).duals.mtx" }
    private var statePath: String { "\(directory)/\(stem).state" }

    /// Collective: identifies the problem (costs and marginals) the checkpoint belongs to, the same at any P.
    public mutating func prepare(_ problem: TransportProblem, communicator: Communicator) {
        var digest = ContentDigest()
        let first = problem.partition.range(of: communicator.rank).lowerBound
        problem.cost.addRows(to: &digest, firstRow: first)
        for (i, r) in problem.rowMarginal.enumerated() { digest.add(row: first + i, column: -1, value: r) }
        if communicator.isRoot {
            for (j, c) in problem.columnMarginal.enumerated() { digest.add(row: -2, column: j, value: c) }
        }
        dataDigest = digest.combined(communicator).description
    }

    /// Collective, after each iteration: records every `every` resumable iterations; when any
    /// rank recorded a SIGTERM or SIGINT, records now and ends the run resumable.
    public func atIteration(_ solver: EntropicTransport, _ record: TransportRecord, resumable: Bool, every: Int,
                            hint: String, communicator: Communicator) throws(SparrowError) {
        guard resumable else { return }
        let stop = communicator.agreedStop()
        if stop != 0 || record.iteration % every == 0 { try self.record(solver, communicator: communicator) }
        if stop != 0 { throw .stopped(by: stop, "at iteration \(record.iteration); checkpoint in \(directory)\(hint)") }
    }

    /// Collective: gathers the duals and writes the record on rank 0 (never non-finite duals).
    public func record(_ solver: EntropicTransport, communicator: Communicator) throws(SparrowError) {
        try communicator.everywhere { () throws(SparrowError) in
            guard solver.x.allSatisfy(\.isFinite), solver.y.allSatisfy(\.isFinite) else {
                throw .computation("the duals became non-finite at iteration \(solver.iterations); the last checkpoint in \(directory) is kept")
            }
        }
        let duals = try TransportOutput.gatherDuals(solver, communicator: communicator)
        let n = solver.problem.rows, m = solver.problem.columns, iteration = solver.iterations
        _ = try communicator.onRoot { () throws(SparrowError) in
            let previous = (try? System.readWholeFile(statePath, limit: 64 << 20)).flatMap { Self.recordedIteration(String(decoding: $0, as: UTF8.self)) }
            try MatrixMarket.write(DenseMatrix(rows: n + m, columns: 1, values: duals!), to: dualsPath(iteration),
                                   comment: "iteration \(iteration)")
            try AtomicFileWriter.write(state(solver), to: statePath)
            if let previous, previous != iteration { System.removeFile(dualsPath(previous)) }
        }
    }

    /// Collective: restores the solver from the record, or fails saying why it cannot be used.
    public func restore(_ solver: EntropicTransport, communicator: Communicator) throws(SparrowError) {
        let text = try communicator.onRoot { () throws(SparrowError) -> String in
            guard System.isRegularFile(statePath) else {
                throw .input(file: statePath, line: nil, message: "no checkpoint to resume from (run without --resume first)")
            }
            return String(decoding: try System.readWholeFile(statePath, limit: 64 << 20), as: UTF8.self)
        }
        let state = communicator.broadcast(text ?? "")
        let owned = solver.problem.partition.range(of: communicator.rank)
        let n = solver.problem.rows, m = solver.problem.columns
        let restored = try communicator.everywhere { () throws(SparrowError) -> (Parsed, [Double], [Double]) in
            let parsed = try parse(state, expecting: solver, file: statePath)
            let path = dualsPath(parsed.iterations)
            // This rank's rows of x and all of y, read from the file for those rows only.
            let columns = try DenseSpec.parseOwned(path, rows: n + m, owned: owned, field: "checkpoint")
            let tail = try DenseSpec.parseOwned(path, rows: n + m, owned: n..<(n + m), field: "checkpoint")
            guard columns.count == 1, tail.count == 1 else {
                throw .input(file: path, line: nil, message: "expected \(n + m) × 1 duals")
            }
            if let bad = (columns[0] + tail[0]).first(where: { !$0.isFinite }) {
                throw .input(file: path, line: nil, message: "a dual is \(bad); a checkpoint must hold finite numbers")
            }
            return (parsed, columns[0], tail[0])
        }
        let (parsed, x, y) = restored
        solver.restore(x: x, y: y, sinkhornSweeps: parsed.sweeps, newtonSteps: parsed.newtonSteps, shiftFactor: parsed.shiftFactor,
                       history: parsed.history)
        // Duals that are finite but absurd (one set to 1e308) overflow the plan: refused, never iterated on.
        let error = solver.figures(communicator: communicator).marginalError
        guard error.isFinite else {
            throw .input(file: dualsPath(parsed.iterations), line: nil,
                         message: "the checkpoint's duals give a plan that overflows (marginal error \(error)); refusing to resume from it")
        }
    }

    /// The iteration a state file records, if readable.
    static func recordedIteration(_ text: String) -> Int? {
        var sweeps: Int?, newton: Int?
        for line in text.split(separator: "\n") {
            if line.hasPrefix("sweeps ") { sweeps = Int(line.dropFirst(7)) }
            if line.hasPrefix("newton_steps ") { newton = Int(line.dropFirst(13)) }
        }
        guard let sweeps, let newton else { return nil }
        return sweeps + newton
    }

    struct Parsed {
        var sweeps: Int
        var newtonSteps: Int
        var shiftFactor: Double
        var history: [TransportRecord]
        var iterations: Int { sweeps + newtonSteps }
    }

    /// What must match for a resumed run to continue the same computation.
    static func identity(_ solver: EntropicTransport) -> [(String, String)] {
        let p = solver.parameters
        return [("rows", "\(solver.problem.rows)"), ("columns", "\(solver.problem.columns)"), ("eta", "\(p.eta)"),
                ("method", p.method.rawValue), ("warmup", "\(p.warmupSweeps)"), ("drop", "\(p.dropFraction)")]
    }

    func state(_ solver: EntropicTransport) -> String {
        var lines = (Self.identity(solver) + [("data", dataDigest)]).map { "\($0.0) \($0.1)" }
        lines.append("sweeps \(solver.statistics.sinkhornSweeps)")
        lines.append("newton_steps \(solver.statistics.newtonSteps)")
        lines.append("shift_factor \(solver.shiftFactor)")
        for h in solver.statistics.history {
            lines.append("history \(h.iteration) \(h.kind.rawValue) \(h.error) \(h.objective) \(h.step) \(h.cgIterations) \(h.keptEntries) \(h.seconds)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func parse(_ text: String, expecting solver: EntropicTransport, file: String) throws(SparrowError) -> Parsed {
        var fields: [String: String] = [:]
        var history: [TransportRecord] = []
        for (number, line) in text.split(separator: "\n").enumerated() {
            let p = line.split(separator: " ").map(String.init)
            if p.first == "history", p.count == 9, let i = Int(p[1]), let kind = TransportRecord.Kind(rawValue: p[2]),
               let error = Double(p[3]), let objective = Double(p[4]), let step = Double(p[5]), let cg = Int(p[6]),
               let kept = Int(p[7]), let seconds = Double(p[8]) {
                history.append(TransportRecord(iteration: i, kind: kind, error: error, objective: objective, step: step,
                                               cgIterations: cg, keptEntries: kept, seconds: seconds))
            } else if p.count == 2 {
                fields[p[0]] = p[1]
            } else {
                throw .input(file: file, line: number + 1, message: "unreadable checkpoint line")
            }
        }
        for (key, value) in Self.identity(solver) where fields[key] != value {
            throw .usage("--resume: the checkpoint in \(file) was written with \(key) \(fields[key] ?? "(missing)"), this run has \(value)")
        }
        guard fields["data"] == dataDigest else {
            throw .usage("--resume: the checkpoint in \(file) was made from another problem (data digest \(fields["data"] ?? "missing"), this problem \(dataDigest))")
        }
        guard let sweeps = fields["sweeps"].flatMap(Int.init), let newton = fields["newton_steps"].flatMap(Int.init),
              let shift = fields["shift_factor"].flatMap(Double.init), sweeps >= 0, newton >= 0, shift > 0 else {
            throw .input(file: file, line: nil, message: "checkpoint state has no valid counters")
        }
        return Parsed(sweeps: sweeps, newtonSteps: newton, shiftFactor: shift, history: history)
    }
}
