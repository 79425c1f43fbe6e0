import Foundation
import SparrowCore
import SparrowMPI

/// Sparse-kernel transport between point clouds (large n): the plan is kept
/// only where it can matter, on entries within e^(−θ) of their row's largest,
/// η(C_ij − x_i − y_j) ≤ θ + min_j η(C_ij − x_i − y_j), in CSR, and
/// memory is O(nnz), not O(n·m). Following the truncated kernel and
/// ε-scaling of B. Schmitzer, "Stabilized sparse scaling algorithms for
/// entropy regularized transport problems", SIAM J. Sci. Comput. 41 (2019),
/// §4–5 — not its multiscale hierarchy (no coarsened point clouds here):
///
///     η₀ ← the η at which a row of the truncated kernel reaches ~64 targets
///     for η_s = η₀, 4η₀, 16η₀, …, η:                     ▹ ε-scaling
///         repeat                                          ▹ refresh
///             pattern ← for each source i, targets j near the image of i
///                       (the barycenter of its plan row; i itself at first)
///                       within e^(−θ) of the row's largest entry
///             (x, y) ← SNS on the pattern, warm-started from (x, y)
///         until the pattern no longer changes
///
/// Candidates come from a uniform grid over the target points (their first
/// two coordinates), searched within 3·√((θ + 1)/η_s) of the image for the
/// squared Euclidean cost and 3·(θ + 1)/η_s for L1 (three widths of the
/// entropic plan's spread). Every rank keeps its own source rows and all
/// targets with their duals (as in the dense mode).
public struct SparseKernelOptions: Sendable, Equatable {
    /// θ: entries below e^(−θ) times their row's largest are left out.
    public var truncation = 30.0
    /// Ratio between successive η of the ε-scaling.
    public var stageFactor = 4.0
    /// Pattern refreshes per stage at most (after the first solve).
    public var maxRefreshes = 3
    /// Targets a row should see at the first stage (sets η₀).
    public var targetsPerRow = 64.0
    public init() {}
}

public struct SparseKernelStage: Sendable {
    public var eta: Double
    public var entries: Int
    public var iterations: Int
    public var error: Double
}

public final class SparseKernelTransport {
    public let sourceCoordinates: [Double]   // this rank's source points, row-major
    public let targetCoordinates: [Double]   // all target points, row-major
    public let dimension: Int
    public let ground: GroundCost
    public let partition: RowPartition
    public let rowMarginal: [Double]
    public let columnMarginal: [Double]
    public let options: SparseKernelOptions
    public let costScale: Double
    /// No cost (as scaled) is larger: the joint bounding box's diagonal.
    public let largestCost: Double
    public private(set) var stages: [SparseKernelStage] = []
    public private(set) var iterations = 0
    public private(set) var history: [TransportRecord] = []

    private let grid: TargetGrid

    public init(source: [Double], targets: [Double], dimension: Int, ground: GroundCost, partition: RowPartition,
                rowMarginal: [Double], columnMarginal: [Double], options: SparseKernelOptions, costScale: Double, largestCost: Double) {
        self.sourceCoordinates = source
        self.targetCoordinates = targets
        self.dimension = dimension
        self.ground = ground
        self.partition = partition
        self.rowMarginal = rowMarginal
        self.columnMarginal = columnMarginal
        self.options = options
        self.costScale = costScale
        self.largestCost = largestCost
        self.grid = TargetGrid(points: targets, dimension: dimension)
    }

    var rows: Int { rowMarginal.count }
    var columns: Int { columnMarginal.count }

    /// Half-width of the search around a row's image at inverse regularization η (in scaled cost units).
    func reach(_ eta: Double) -> Double {
        let width = (options.truncation + 1) / eta
        return 3 * (ground == .sqeuclidean ? (width * costScale).squareRoot() : width * costScale)
    }

    /// The first stage's η: a search disc holding about `targetsPerRow` targets.
    func firstEta(final: Double) -> Double {
        let density = Double(columns) / max(grid.area, 1e-300)
        let radius = (options.targetsPerRow / (Double.pi * density)).squareRoot()
        let width = ground == .sqeuclidean ? radius * radius / costScale : radius / costScale
        return min(final, (options.truncation + 1) / width)
    }

    /// The truncated kernel's rows for the current duals and row images (rank-local). The
    /// candidates of a row are the targets near its image and the row's entries in the previous
    /// kernel: a refresh never drops the support the previous solve put its mass on (without
    /// them an image that moved could leave a support no plan with the marginals fits, seen
    /// with the L1 cost). A row whose search finds nothing falls back to a scan of all targets.
    func pattern(eta: Double, x: [Double], y: [Double], images: [Double], previous: LocalCost?, threads: Int) -> LocalCost {
        let d = dimension, reach = reach(eta), bound = options.truncation / eta
        let ranges = evenRanges(count: rows, parts: threads)
        let found = SharedBuffer<[(Int32, Double)]>(count: rows, repeating: [])
        let (g, s, t, scale, ground, m) = (grid, sourceCoordinates, targetCoordinates, costScale, self.ground, columns)
        parallelTasks(ranges.count) { task in
            s.withUnsafeBufferPointer { sb in
                t.withUnsafeBufferPointer { tb in
                    for i in ranges[task] {
                        var row: [(Int32, Double)] = []
                        var smallest = Double.infinity
                        let consider = { (j: Int) in
                            let c = ground.cost(sb.baseAddress! + i * d, tb.baseAddress! + j * d, dimension: d) / scale
                            smallest = min(smallest, c - x[i] - y[j])
                            row.append((Int32(j), c))
                        }
                        g.visit(near: Array(images[(i * d)..<((i + 1) * d)]), reach: reach, consider)
                        if let previous { for e in previous.rowStart[i]..<previous.rowStart[i + 1] { consider(Int(previous.columnIndices![e])) } }
                        if row.isEmpty { for j in 0..<m { consider(j) } }
                        // Kept: entries within e^(−θ) of the row's largest, each column once.
                        // A fresh array, sized to what is kept (the candidates' capacity is several times larger).
                        let kept = row.filter { $0.1 - x[i] - y[Int($0.0)] <= smallest + bound }.sorted { $0.0 < $1.0 }
                        found[i] = kept.enumerated().filter { $0.offset == 0 || kept[$0.offset - 1].0 != $0.element.0 }.map(\.element)
                    }
                }
            }
        }
        return Self.assemble(found, rows: rows)
    }

    static func assemble(_ found: SharedBuffer<[(Int32, Double)]>, rows: Int) -> LocalCost {
        var rowStart = [0], columns: [Int32] = [], values: [Double] = []
        for i in 0..<rows {
            for (j, c) in found[i] { columns.append(j); values.append(c) }
            rowStart.append(values.count)
        }
        return LocalCost(rowStart: rowStart, columnIndices: columns, values: values)
    }

    /// Collective: the kernel with every target covered. A target no row kept (far from every
    /// row's image) gets the entries within e^(−θ) of its column's largest over all sources:
    /// each rank scans its rows for those targets only, and the column minima are allreduced.
    func covered(_ cost: LocalCost, eta: Double, x: [Double], y: [Double], communicator: Communicator) -> LocalCost {
        var coverage = [Double](repeating: 0, count: columns)
        for j in cost.columnIndices! { coverage[Int(j)] = 1 }
        communicator.allreduceSumInPlace(&coverage)
        let uncovered = coverage.indices.filter { coverage[$0] == 0 }
        guard !uncovered.isEmpty else { return cost }
        let d = dimension, bound = options.truncation / eta, rows = self.rows
        var reduced = [Double](repeating: 0, count: rows * uncovered.count)
        var smallest = [Double](repeating: .infinity, count: uncovered.count)
        sourceCoordinates.withUnsafeBufferPointer { sb in
            targetCoordinates.withUnsafeBufferPointer { tb in
                for i in 0..<rows {
                    for (u, j) in uncovered.enumerated() {
                        let c = ground.cost(sb.baseAddress! + i * d, tb.baseAddress! + j * d, dimension: d) / costScale
                        reduced[i * uncovered.count + u] = c
                        smallest[u] = min(smallest[u], c - x[i] - y[j])
                    }
                }
            }
        }
        smallest = communicator.allreduce(smallest, .min)
        let merged = SharedBuffer<[(Int32, Double)]>(count: rows, repeating: [])
        for i in 0..<rows {
            var row = (cost.rowStart[i]..<cost.rowStart[i + 1]).map { (cost.columnIndices![$0], cost.values[$0]) }
            for (u, j) in uncovered.enumerated() {
                let c = reduced[i * uncovered.count + u]
                if c - x[i] - y[j] <= smallest[u] + bound { row.append((Int32(j), c)) }
            }
            merged[i] = row.sorted { $0.0 < $1.0 }
        }
        return Self.assemble(merged, rows: rows)
    }

    /// Each local row's barycentric image Σ_j P_ij q_j / Σ_j P_ij from the solver's last plan.
    func images(_ solver: EntropicTransport) -> [Double] {
        let d = dimension, cost = solver.problem.cost
        let plan = solver.significantPlan(threshold: 0)
        var out = sourceCoordinates
        for i in 0..<rows {
            var mass = 0.0, point = [Double](repeating: 0, count: d)
            for e in plan.rowStart[i]..<plan.rowStart[i + 1] {
                let j = Int(plan.columns[e])
                mass += plan.values[e]
                for k in 0..<d { point[k] += plan.values[e] * targetCoordinates[j * d + k] }
            }
            if mass > 0 { for k in 0..<d { out[i * d + k] = point[k] / mass } }
        }
        _ = cost
        return out
    }

    /// Runs the ε-scaling to `parameters` (collective); returns the last stage's solver.
    public func solve(_ parameters: TransportParameters, communicator: Communicator,
                      observe: EntropicTransport.Observer) throws(SparrowError) -> EntropicTransport {
        var etas: [Double] = []
        var eta = parameters.eta
        let first = communicator.allreduce(firstEta(final: parameters.eta), .min)
        while eta > first * 1.0001 { etas.append(eta); eta /= options.stageFactor }
        etas.append(max(eta, first))
        etas.reverse()
        var x = [Double](repeating: 0, count: rows), y = [Double](repeating: 0, count: columns)
        var images = sourceCoordinates
        var solver: EntropicTransport?
        var signature = [-1.0, -1.0]
        for (s, stageEta) in etas.enumerated() {
            let last = s == etas.count - 1
            for refresh in 0...options.maxRefreshes {
                // The previous solve's plan goes before the next kernel is built (it is recomputed if that solve is the answer).
                let started = solver != nil
                solver?.releasePlan()
                let cost = covered(pattern(eta: stageEta, x: x, y: y, images: images, previous: solver?.problem.cost, threads: parameters.threads),
                                   eta: stageEta, x: x, y: y, communicator: communicator)
                // Rank-local, agreed: a rank over its memory budget fails them all.
                try communicator.everywhere { () throws(SparrowError) in
                    try MemoryBudget.check(Double(cost.entries) * TransportSetup.bytesPerEntry, for: "a sparse kernel of \(cost.entries) entries on this rank") {
                        .computation($0)
                    }
                }
                // The pattern's identity: its size and a checksum of its columns, summed over ranks.
                var checksum = 0.0
                for i in 0..<cost.rows { for e in cost.rowStart[i]..<cost.rowStart[i + 1] { checksum += Double(i &+ 7919 &* Int(cost.columnIndices![e]) % 1_000_003) } }
                let newSignature = communicator.allreduce([Double(cost.entries), checksum], .sum)
                if refresh > 0, newSignature == signature { break }
                signature = newSignature
                var stageParameters = parameters
                stageParameters.eta = stageEta
                if !last { stageParameters.tolerance = max(parameters.tolerance, 1e-5) }
                stageParameters.maxIterations = max(1, parameters.maxIterations - iterations)
                let problem = TransportProblem(rows: partition.globalRows, columns: columns, partition: partition, cost: cost,
                                               rowMarginal: rowMarginal, columnMarginal: columnMarginal)
                let stageSolver = EntropicTransport(problem: problem, parameters: stageParameters, communicator: communicator)
                if !started { stageSolver.initialize() } else {
                    stageSolver.restore(x: x, y: y, sinkhornSweeps: 0, newtonSteps: 0, shiftFactor: 1, history: [])
                }
                let offset = iterations
                try stageSolver.run(communicator: communicator) { (record: TransportRecord, resumable: Bool) throws(SparrowError) in
                    var shown = record
                    shown.iteration += offset
                    history.append(shown)
                    try observe(shown, false)
                }
                iterations += stageSolver.iterations
                x = stageSolver.x
                y = stageSolver.y
                _ = stageSolver.figures(communicator: communicator)
                images = self.images(stageSolver)
                solver = stageSolver
                stages.append(SparseKernelStage(eta: stageEta, entries: Int(newSignature[0]), iterations: stageSolver.iterations,
                                                error: stageSolver.error))
                if iterations >= parameters.maxIterations { return stageSolver }
            }
        }
        return solver!
    }
}

/// A uniform grid over the first two coordinates of the target points.
struct TargetGrid: Sendable {
    let dimension: Int
    let low: (Double, Double)
    let cell: Double
    let cellsX: Int, cellsY: Int
    let start: [Int]
    let members: [Int32]
    let area: Double

    init(points: [Double], dimension: Int) {
        self.dimension = dimension
        let count = dimension == 0 ? 0 : points.count / dimension
        var lo = (Double.infinity, Double.infinity), hi = (-Double.infinity, -Double.infinity)
        for j in 0..<count {
            let a = points[j * dimension], b = dimension > 1 ? points[j * dimension + 1] : 0
            lo = (min(lo.0, a), min(lo.1, b)); hi = (max(hi.0, a), max(hi.1, b))
        }
        if count == 0 { lo = (0, 0); hi = (1, 1) }
        let width = max(hi.0 - lo.0, 1e-12), height = max(hi.1 - lo.1, 1e-12)
        area = dimension > 1 ? width * height : width
        // About two points per cell.
        let cells = max(1.0, Double(count) / 2)
        let size = dimension > 1 ? (width * height / cells).squareRoot() : width / cells
        cell = max(size, 1e-12)
        low = lo
        cellsX = Int.clamping(width / cell, to: 0...(1 << 15 - 1)) + 1
        cellsY = dimension > 1 ? Int.clamping(height / cell, to: 0...(1 << 15 - 1)) + 1 : 1
        var counts = [Int](repeating: 0, count: cellsX * cellsY + 1)
        var owner = [Int](repeating: 0, count: count)
        for j in 0..<count {
            let cx = Int.clamping((points[j * dimension] - lo.0) / cell, to: 0...(cellsX - 1))
            let cy = dimension > 1 ? Int.clamping((points[j * dimension + 1] - lo.1) / cell, to: 0...(cellsY - 1)) : 0
            owner[j] = cy * cellsX + cx
            counts[owner[j] + 1] += 1
        }
        for c in 0..<(cellsX * cellsY) { counts[c + 1] += counts[c] }
        var next = counts
        var members = [Int32](repeating: 0, count: count)
        for j in 0..<count { members[next[owner[j]]] = Int32(j); next[owner[j]] += 1 }
        self.start = counts
        self.members = members
    }

    /// Calls `body(j)` for every target in the cells within `reach` of `center` (first two coordinates).
    /// Cell numbers are clamped before they become Ints: a huge reach or a far centre visits the
    /// grid's edge or nothing, never traps.
    func visit(near center: [Double], reach: Double, _ body: (Int) -> Void) {
        guard let xs = cells(center[0] - reach - low.0, center[0] + reach - low.0, count: cellsX) else { return }
        let ys: ClosedRange<Int>
        if dimension > 1 {
            guard let found = cells(center[1] - reach - low.1, center[1] + reach - low.1, count: cellsY) else { return }
            ys = found
        } else {
            ys = 0...0
        }
        for cy in ys {
            for cx in xs {
                let c = cy * cellsX + cx
                for k in start[c]..<start[c + 1] { body(Int(members[k])) }
            }
        }
    }

    /// The cells [lo, hi] (offsets from the grid's corner) covers along an axis of `count` cells, or nil.
    private func cells(_ lo: Double, _ hi: Double, count: Int) -> ClosedRange<Int>? {
        let first = max(0, Int.clamping((lo / cell).rounded(.down), to: -1...count))
        let last = min(count - 1, Int.clamping((hi / cell).rounded(.down), to: -1...count))
        return first <= last ? first...last : nil
    }
}
