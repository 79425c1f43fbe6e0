import Foundation
import SparrowCore
import SparrowMPI

/// The state of a transport solve after an iteration, recorded so a killed run
/// resumes to the same answer: the duals (x then y, one array written by rank 0
/// with the atomic writer, 17 significant digits) and a state file — problem
/// identity, counters, the shift factor and the history — written last, so its
/// presence marks a complete record. The solver's next step depends on nothing
/// else, so a resumed run repeats the uninterrupted run's steps.
public struct TransportCheckpoint {
    public let directory: String
    public let stem: String

    public init(directory: String, stem: String = "ot") {
        self.directory = directory
        self.stem = stem
    }

    private var dualsPath: String { "\(directory)/\(stem).duals.mtx" }
    private var statePath: String { "\(directory)/\(stem).state" }

    /// Collective: gathers the duals and writes the record on rank 0.
    public func record(_ solver: EntropicTransport, communicator: Communicator) throws(SparrowError) {
        let duals = try TransportOutput.gatherDuals(solver, communicator: communicator)
        let n = solver.problem.rows, m = solver.problem.columns
        _ = try communicator.onRoot { () throws(SparrowError) in
            try MatrixMarket.write(DenseMatrix(rows: n + m, columns: 1, values: duals!), to: dualsPath,
                                   comment: "iteration \(solver.iterations)")
            try AtomicFileWriter.write(Self.state(solver), to: statePath)
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
        let restored = try communicator.everywhere { () throws(SparrowError) -> (Parsed, [Double]) in
            let parsed = try Self.parse(state, expecting: solver, file: statePath)
            let mapped = try MappedFile(path: dualsPath)
            let head = String(decoding: mapped.bytes.prefix(200), as: UTF8.self)
            guard head.split(separator: "\n").contains(where: { $0 == "% iteration \(parsed.iterations)" }) else {
                throw .input(file: dualsPath, line: nil, message: "duals are not from iteration \(parsed.iterations) of the checkpoint state")
            }
            let duals = try MatrixMarket.parse(mapped.bytes, file: dualsPath).dense()
            let n = solver.problem.rows, m = solver.problem.columns
            guard duals.rows == n + m, duals.columns == 1 else {
                throw .input(file: dualsPath, line: nil, message: "expected \(n + m) × 1 duals, found \(duals.rows) × \(duals.columns)")
            }
            return (parsed, duals.values)
        }
        let (parsed, duals) = restored
        solver.restore(x: Array(duals[owned]), y: Array(duals[solver.problem.rows...]), sinkhornSweeps: parsed.sweeps,
                       newtonSteps: parsed.newtonSteps, shiftFactor: parsed.shiftFactor, history: parsed.history)
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

    static func state(_ solver: EntropicTransport) -> String {
        var lines = identity(solver).map { "\($0.0) \($0.1)" }
        lines.append("sweeps \(solver.statistics.sinkhornSweeps)")
        lines.append("newton_steps \(solver.statistics.newtonSteps)")
        lines.append("shift_factor \(solver.shiftFactor)")
        for h in solver.statistics.history {
            lines.append("history \(h.iteration) \(h.kind.rawValue) \(h.error) \(h.objective) \(h.step) \(h.cgIterations) \(h.keptEntries) \(h.seconds)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func parse(_ text: String, expecting solver: EntropicTransport, file: String) throws(SparrowError) -> Parsed {
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
        for (key, value) in identity(solver) where fields[key] != value {
            throw .usage("--resume: the checkpoint in \(file) was written with \(key) \(fields[key] ?? "(missing)"), this run has \(value)")
        }
        guard let sweeps = fields["sweeps"].flatMap(Int.init), let newton = fields["newton_steps"].flatMap(Int.init),
              let shift = fields["shift_factor"].flatMap(Double.init), sweeps >= 0, newton >= 0, shift > 0 else {
            throw .input(file: file, line: nil, message: "checkpoint state has no valid counters")
        }
        return Parsed(sweeps: sweeps, newtonSteps: newton, shiftFactor: shift, history: history)
    }
}
