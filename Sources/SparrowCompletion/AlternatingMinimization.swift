import SparrowCore
import SparrowMPI

/// Alternating minimization for low-rank matrix completion.
///
/// Jain, Netrapalli, Sanghavi, "Low-rank Matrix Completion using Alternating
/// Minimization" (STOC 2013), with the ALS-WR ridge of Zhou et al. (2008), and
/// the approximate row solves of Gu, Song, Yin, Zhang, "Low Rank Matrix
/// Completion via Robust Alternating Minimization in Nearly Linear Time" (arXiv
/// 2302.11068, 2023):
///
///     U, V ← SpectralInitialization(P_Ω(M))            (or random V, U = 0)
///     for t = 1 … T:
///         V rows → the ranks whose users rated them     (one all-to-all)
///         for each user i:  u_i ← argmin Σ_{j∈Ω_i} (M_ij − u·v_j)² + λ|Ω_i|·|u|²
///         U rows → the ranks whose items they rated     (one all-to-all)
///         for each item j:  v_j ← argmin Σ_{i∈Ω^j} (M_ij − u_i·v)² + λ|Ω^j|·|v|²
///
/// Each argmin is `ExactRegression` (als), the paper's sketch-preconditioned
/// solve to accuracy ε (`SketchedRegression`, robust), or a fixed number of
/// CG steps (`InexactRegression`, inexact).
/// With biases, M_ij is modelled as μ + b_i + c_j + u_i·v_j: each row's bias is
/// one more unknown whose design column is 1 (`HalfSweep`).
///
/// Every row solve depends only on the row's observations (in column order)
/// and the partner rows, so the factors after each sweep do not depend on the
/// number of ranks or threads; only the initialization's sums do, at rounding level.
public final class AlternatingMinimization {
    public let ratings: DistributedRatings
    public let parameters: CompletionParameters
    /// Owned users × width, row-major (factor row, then the bias when on).
    public private(set) var users: [Double]
    /// Owned items × width, row-major.
    public private(set) var items: [Double]
    public private(set) var completedSweeps = 0
    public private(set) var statistics = CompletionStatistics()
    /// Pairs whose error is reported after every sweep (a test set).
    public var test: PairSet?
    /// μ when biases are on, else 0.
    public let offset: Double
    private let workspaces: [RowWorkspace]

    public init(ratings: DistributedRatings, parameters: CompletionParameters) {
        self.ratings = ratings
        self.parameters = parameters
        offset = parameters.biases ? ratings.mean : 0
        users = [Double](repeating: 0, count: ratings.byUser.local.rows * parameters.width)
        items = [Double](repeating: 0, count: ratings.byItem.local.rows * parameters.width)
        workspaces = (0..<max(1, parameters.threads)).map { _ in RowWorkspace(width: parameters.width, sketchRows: parameters.sketchRows) }
    }

    /// Collective: the starting factors.
    public func initialize(communicator: Communicator) throws(SparrowError) {
        let start = System.now()
        switch parameters.initialization {
        case .spectral:
            (users, items) = try SpectralInitialization.run(ratings, parameters, offset: offset, communicator: communicator)
        case .random:
            let d = parameters.width, k = parameters.rank
            let first = ratings.byItem.ownedRows.lowerBound
            let spread = 1 / Double(k).squareRoot()
            for j in 0..<ratings.byItem.local.rows {
                for c in 0..<k {
                    items[j * d + c] = spread * SpectralInitialization.gaussian(seed: parameters.seed, counter: UInt64((first + j) * k + c))
                }
            }
        }
        statistics.initializationSeconds = communicator.allreduce(System.now() - start, .max)
    }

    /// Rank-local: continue from recorded factors (owned rows) after `sweeps` sweeps.
    public func restore(users: [Double], items: [Double], completedSweeps sweeps: Int, history: [SweepRecord]) {
        precondition(users.count == self.users.count && items.count == self.items.count)
        self.users = users
        self.items = items
        completedSweeps = sweeps
        statistics.history = history
    }

    /// Collective: one sweep (users, then items); returns what it measured.
    @discardableResult
    public func sweep(communicator: Communicator) throws(SparrowError) -> SweepRecord {
        let start = System.now(), sweepNumber = completedSweeps + 1
        let d = parameters.width
        var exchange = System.now()
        let itemRows = try ratings.userSide.plan.exchangeBlocks(items, width: d, communicator: communicator)
        var exchangeSeconds = System.now() - exchange
        let userStart = System.now()
        let userOutcome = HalfSweep(entries: ratings.byUser.local, slots: ratings.userSide.slots,
                                    firstGlobalRow: ratings.byUser.ownedRows.lowerBound, parameters: parameters,
                                    offset: offset, sideTag: 0)
            .run(own: &users, partners: itemRows, sweep: sweepNumber, workspaces: workspaces, measureFit: false)
        let userSeconds = System.now() - userStart
        exchange = System.now()
        let userRows = try ratings.itemSide.plan.exchangeBlocks(users, width: d, communicator: communicator)
        exchangeSeconds += System.now() - exchange
        let itemStart = System.now()
        let itemOutcome = HalfSweep(entries: ratings.byItem.local, slots: ratings.itemSide.slots,
                                    firstGlobalRow: ratings.byItem.ownedRows.lowerBound, parameters: parameters,
                                    offset: offset, sideTag: 1)
            .run(own: &items, partners: userRows, sweep: sweepNumber, workspaces: workspaces, measureFit: true)
        let itemSeconds = System.now() - itemStart
        let sums = communicator.allreduce([itemOutcome.squaredResidual, Double(userOutcome.innerSteps + itemOutcome.innerSteps),
                                           Double(userOutcome.ridgedRows + itemOutcome.ridgedRows),
                                           Double(userOutcome.emptyRows + itemOutcome.emptyRows),
                                           Double(userOutcome.sketchedRows + itemOutcome.sketchedRows),
                                           Double(userOutcome.unconvergedRows + itemOutcome.unconvergedRows)], .sum)
        completedSweeps = sweepNumber
        let testRMSE = try test?.rmse(self, communicator: communicator)
        let record = SweepRecord(sweep: sweepNumber, seconds: communicator.allreduce(System.now() - start, .max),
                                 trainRMSE: (sums[0] / Double(max(1, ratings.observed))).squareRoot(), testRMSE: testRMSE,
                                 meanInnerIterations: sums[1] / Double(ratings.users + ratings.items))
        statistics.history.append(record)
        statistics.exchangeSeconds += exchangeSeconds
        statistics.solveSeconds += record.seconds - exchangeSeconds
        statistics.userRowSeconds += userSeconds
        statistics.itemRowSeconds += itemSeconds
        statistics.ridgedRows = Int(sums[2])
        statistics.emptyRows = Int(sums[3])
        statistics.sketchedRows = Int(sums[4])
        statistics.unconvergedRows = Int(sums[5])
        return record
    }

    /// The model's value at (user, item) given both factor rows (width values each).
    @inline(__always)
    func predict(user u: UnsafePointer<Double>, item v: UnsafePointer<Double>) -> Double {
        var s = offset
        for c in 0..<parameters.rank { s += u[c] * v[c] }
        if parameters.biases { s += u[parameters.rank] + v[parameters.rank] }
        return s
    }
}

extension AlternatingMinimization {
    /// Collective: sweeps until `parameters.sweeps` are done, recording a
    /// checkpoint every `every` sweeps (and after the last), calling
    /// `afterSweep` on every rank after each (progress, limits, stop requests).
    /// With a checkpoint, a SIGTERM or SIGINT (recorded by `ProcessSignals.deferringStops`) is
    /// acted on after the sweep it arrives in: that sweep is recorded and the run ends with
    /// `SparrowError.interrupted`, resumable from the record.
    public func run(checkpoint: CompletionCheckpoint?, every: Int, communicator: Communicator,
                    afterSweep: (SweepRecord) throws(SparrowError) -> Void) throws(SparrowError) {
        while completedSweeps < parameters.sweeps {
            let record = try sweep(communicator: communicator)
            try afterSweep(record)
            guard let checkpoint else { continue }
            let stop = communicator.agreedStop()
            if stop != 0 || completedSweeps % every == 0 || completedSweeps == parameters.sweeps {
                try checkpoint.record(self, communicator: communicator)
            }
            if stop != 0 {
                throw .stopped(by: stop, "after sweep \(completedSweeps); checkpoint in \(checkpoint.directory) (continue with --resume)")
            }
        }
    }

    /// One line per sweep for progress output.
    public static func describe(_ r: SweepRecord, of total: Int) -> String {
        var text = "sweep \(r.sweep)/\(total): train RMSE \(formatted(r.trainRMSE))"
        if let test = r.testRMSE { text += ", test RMSE \(formatted(test))" }
        if r.meanInnerIterations > 0 { text += ", CG steps/row \(formatted(r.meanInnerIterations))" }
        return text + ", \(formatted(r.seconds)) s"
    }

    private static func formatted(_ x: Double) -> String {
        guard x.isFinite, x != 0, abs(x) >= 1e-3, abs(x) < 1e6 else { return "\(x)" }
        let digits = max(0, 5 - Int(log10Magnitude(abs(x))))
        var scale = 1.0
        for _ in 0..<min(digits, 12) { scale *= 10 }
        return "\((x * scale).rounded() / scale)"
    }

    private static func log10Magnitude(_ x: Double) -> Double {
        var m = 0.0, v = x
        while v >= 10 { v /= 10; m += 1 }
        while v < 1 { v *= 10; m -= 1 }
        return m
    }
}

extension CompletionParameters {
    /// Rank-local checks of the parameters against the problem's shape.
    public func validate(users: Int, items: Int, _ naming: NumericOption.Naming) throws(SparrowError) {
        try validate(naming)
        guard rank < min(users, items) else {
            throw .field(name: Options.rank.name(naming), message: "must be in 1..<min(m, n) = 1..<\(min(users, items)) for a \(users) × \(items) matrix, got \(rank)")
        }
    }

    /// Bytes per rank the run holds besides the ratings: both factor blocks,
    /// the partner rows received, and per-thread row scratch.
    public func estimatedBytes(ownedUsers: Int, ownedItems: Int, partnerRows: Int, longestRow: Int) -> Double {
        let d = Double(width)
        let blocks = Double(ownedUsers + ownedItems + partnerRows) * d * 8
        let spectral = initialization == .spectral ? Double(ownedUsers + ownedItems + partnerRows) * Double(rank + 10) * 8 * 2 : 0
        return blocks + spectral + Double(threads) * (Double(longestRow) * (d + 2) + Double(sketchRows) * d) * 8
    }
}
