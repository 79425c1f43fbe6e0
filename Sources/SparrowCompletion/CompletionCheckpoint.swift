import SparrowCore
import SparrowMPI

/// The state of a completion run after a sweep, recorded so a killed run can
/// resume to the same result: both factor blocks (with biases) as whole
/// Matrix Market arrays named by their sweep, written by rank 0 with the
/// atomic writer, and a state file — the parameters, a digest of the ratings,
/// the sweep count and the history — written last, so its presence marks a
/// complete record; the previous sweep's factor files are removed only after
/// it. A crash in the middle of a record leaves the previous one whole. The
/// sweeps use no random state beyond the seed (the sketch's stream is a
/// function of seed, sweep and row), so the seed is the whole random state.
/// A record of non-finite factors is refused (the previous one is kept), and
/// so is a checkpoint whose files hold one.
public struct CompletionCheckpoint {
    public let directory: String
    public let stem: String
    /// The ratings' digest (`ContentDigest`), set by `prepare`: a resume from other data is refused.
    public private(set) var dataDigest = ""

    public init(directory: String, stem: String = "complete") {
        self.directory = directory
        self.stem = stem
    }

    private func usersPath(_ sweep: Int) -> String { "\(directory)/\(stem).sweep\(sweep).U.mtx" }
    private func itemsPath(_ sweep: Int) -> String { "\(directory)/\(stem).sweep\(sweep).V.mtx" }
    private var statePath: String { "\(directory)/\(stem).state" }

    /// Collective: identifies the data the checkpoint belongs to (the same digest at any rank count).
    public mutating func prepare(_ ratings: DistributedRatings, communicator: Communicator) {
        dataDigest = ratings.byUser.contentDigest(communicator).description
    }

    /// Collective: gathers the factors and writes the record on rank 0. Non-finite factors are not
    /// recorded: the run fails and the previous record stays.
    public func record(_ model: AlternatingMinimization, communicator: Communicator) throws(SparrowError) {
        try communicator.everywhere { () throws(SparrowError) in
            guard model.users.allSatisfy(\.isFinite), model.items.allSatisfy(\.isFinite) else {
                throw .computation("the factors became non-finite at sweep \(model.completedSweeps) (overflowing ratings or λ?); the last checkpoint in \(directory) is kept")
            }
        }
        let d = model.parameters.width
        let users = try communicator.gatherv(model.users)
        let items = try communicator.gatherv(model.items)
        let sweep = model.completedSweeps
        _ = try communicator.onRoot { () throws(SparrowError) in
            let previous = Self.recordedSweep(in: (try? System.readWholeFile(statePath, limit: 64 << 20)).map { String(decoding: $0, as: UTF8.self) })
            let allUsers = users!.flatMap { $0 }, allItems = items!.flatMap { $0 }
            try MatrixMarket.write(Self.columnMajor(allUsers, rows: model.ratings.users, width: d), to: usersPath(sweep),
                                   comment: "sweep \(sweep)")
            try MatrixMarket.write(Self.columnMajor(allItems, rows: model.ratings.items, width: d), to: itemsPath(sweep),
                                   comment: "sweep \(sweep)")
            try AtomicFileWriter.write(state(model), to: statePath)
            if let previous, previous != sweep {
                System.removeFile(usersPath(previous))
                System.removeFile(itemsPath(previous))
            }
        }
    }

    /// Collective: restores the model from the record, or fails saying why it cannot be used.
    public func restore(_ model: AlternatingMinimization, communicator: Communicator) throws(SparrowError) {
        let text = try communicator.onRoot { () throws(SparrowError) -> String in
            guard System.isRegularFile(statePath) else {
                throw .input(file: statePath, line: nil, message: "no checkpoint to resume from (run without --resume first)")
            }
            return String(decoding: try System.readWholeFile(statePath, limit: 64 << 20), as: UTF8.self)
        }
        let state = communicator.broadcast(text ?? "")
        let restored = try communicator.everywhere { () throws(SparrowError) -> ([Double], [Double], Int, [SweepRecord]) in
            let (sweep, history) = try parse(state, expecting: model, file: statePath)
            let d = model.parameters.width
            let users = try Self.ownedRows(usersPath(sweep), rows: model.ratings.users, width: d, owned: model.ratings.byUser.ownedRows, sweep: sweep)
            let items = try Self.ownedRows(itemsPath(sweep), rows: model.ratings.items, width: d, owned: model.ratings.byItem.ownedRows, sweep: sweep)
            return (users, items, sweep, history)
        }
        model.restore(users: restored.0, items: restored.1, completedSweeps: restored.2, history: restored.3)
    }

    /// The sweep a state file records, if it is readable.
    static func recordedSweep(in text: String?) -> Int? {
        guard let text else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("sweep ") { return Int(line.dropFirst(6)) }
        return nil
    }

    /// The parameters that must match for a resumed run to continue the same computation.
    static func identity(_ p: CompletionParameters, _ ratings: DistributedRatings) -> [(String, String)] {
        [("users", "\(ratings.users)"), ("items", "\(ratings.items)"), ("observed", "\(ratings.observed)"),
         ("rank", "\(p.rank)"), ("lambda", "\(p.lambda)"), ("method", p.method.rawValue), ("biases", "\(p.biases)"),
         ("seed", "\(p.seed)"), ("init", p.initialization.rawValue), ("power_iterations", "\(p.powerIterations)"),
         ("inner_iterations", "\(p.innerIterations)"), ("row_accuracy", "\(p.rowAccuracy)"),
         ("sketch_ratio", "\(p.sketchRatio)")]
    }

    func state(_ model: AlternatingMinimization) -> String {
        var lines = (Self.identity(model.parameters, model.ratings) + [("data", dataDigest)]).map { "\($0.0) \($0.1)" }
        lines.append("sweep \(model.completedSweeps)")
        for h in model.statistics.history {
            lines.append("history \(h.sweep) \(h.seconds) \(h.trainRMSE) \(h.testRMSE.map { "\($0)" } ?? "-") \(h.meanInnerIterations)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func parse(_ text: String, expecting model: AlternatingMinimization, file: String) throws(SparrowError) -> (Int, [SweepRecord]) {
        var fields: [String: String] = [:]
        var history: [SweepRecord] = []
        for (number, line) in text.split(separator: "\n").enumerated() {
            let parts = line.split(separator: " ").map(String.init)
            if parts.first == "history", parts.count == 6, let s = Int(parts[1]), let t = Double(parts[2]), let train = Double(parts[3]),
               let inner = Double(parts[5]) {
                history.append(SweepRecord(sweep: s, seconds: t, trainRMSE: train, testRMSE: Double(parts[4]), meanInnerIterations: inner))
            } else if parts.count == 2 {
                fields[parts[0]] = parts[1]
            } else {
                throw .input(file: file, line: number + 1, message: "unreadable checkpoint line")
            }
        }
        for (key, value) in Self.identity(model.parameters, model.ratings) where fields[key] != value {
            throw .usage("--resume: the checkpoint in \(file) was written with \(key) \(fields[key] ?? "(missing)"), this run has \(value)")
        }
        guard fields["data"] == dataDigest else {
            throw .usage("--resume: the checkpoint in \(file) was made from other ratings (data digest \(fields["data"] ?? "missing"), these ratings \(dataDigest))")
        }
        guard let sweep = fields["sweep"].flatMap(Int.init), sweep >= 0, history.count == sweep else {
            throw .input(file: file, line: nil, message: "checkpoint state has no valid sweep count")
        }
        guard sweep <= model.parameters.sweeps else {
            throw .usage("--resume: the checkpoint in \(file) is at sweep \(sweep), past the \(model.parameters.sweeps) sweeps asked for")
        }
        return (sweep, history)
    }

    /// Rank-local: this rank's rows of a recorded block (row-major), checked against the state's sweep.
    static func ownedRows(_ path: String, rows: Int, width: Int, owned: Range<Int>, sweep: Int) throws(SparrowError) -> [Double] {
        let mapped = try MappedFile(path: path)
        let head = String(decoding: mapped.bytes.prefix(200), as: UTF8.self)
        guard head.split(separator: "\n").contains(where: { $0 == "% sweep \(sweep)" }) else {
            throw .input(file: path, line: nil, message: "factor file is not from sweep \(sweep) of the checkpoint state")
        }
        let matrix = try MatrixMarket.readDense(path: path)
        guard matrix.rows == rows, matrix.columns == width else {
            throw .input(file: path, line: nil, message: "expected \(rows) × \(width), found \(matrix.rows) × \(matrix.columns)")
        }
        if let bad = matrix.values.firstIndex(where: { !$0.isFinite }) {
            throw .input(file: path, line: nil, message: "checkpoint value \(bad + 1) is \(matrix.values[bad]); a checkpoint must hold finite numbers")
        }
        var out = [Double](repeating: 0, count: owned.count * width)
        for (r, i) in owned.enumerated() { for c in 0..<width { out[r * width + c] = matrix[i, c] } }
        return out
    }

    static func columnMajor(_ rowMajor: [Double], rows: Int, width: Int, columns: Range<Int>? = nil) -> DenseMatrix {
        let columns = columns ?? 0..<width
        var m = DenseMatrix(rows: rows, columns: columns.count)
        for i in 0..<rows { for (c, source) in columns.enumerated() { m[i, c] = rowMajor[i * width + source] } }
        return m
    }
}

/// The factors distributed like the ratings (U by the user partition, V by
/// the item partition; the bias vectors when biases are on): each rank holds
/// its own rows, for writing in parallel or for a job's values.
public struct CompletionFactors {
    public var users: DistributedDense
    public var items: DistributedDense
    public var userBiases: DistributedDense?
    public var itemBiases: DistributedDense?

    /// Rank-local: this rank's rows of each factor, without moving anything.
    public init(_ model: AlternatingMinimization) {
        let k = model.parameters.rank, d = model.parameters.width
        let byUser = model.ratings.byUser, byItem = model.ratings.byItem
        func rows(_ rowMajor: [Double], _ of: DistributedCSR, _ columns: Range<Int>) -> DistributedDense {
            DistributedDense(local: CompletionCheckpoint.columnMajor(rowMajor, rows: of.local.rows, width: d, columns: columns),
                             partition: of.partition, rank: of.rank)
        }
        users = rows(model.users, byUser, 0..<k)
        items = rows(model.items, byItem, 0..<k)
        userBiases = model.parameters.biases ? rows(model.users, byUser, k..<d) : nil
        itemBiases = model.parameters.biases ? rows(model.items, byItem, k..<d) : nil
    }
}
