import Foundation
import SparrowCore
import SparrowMPI

/// Sparse-kernel transport between point clouds (large n): the plan is kept
/// only where it can matter, on entries within e^(−θ) of their row's largest,
/// η(C_ij − x_i − y_j) ≤ θ + min_j η(C_ij − x_i − y_j), in CSR, and
/// memory is O(nnz), not O(n·m). Following Schmitzer's sparse multiscale
/// scheme (B. Schmitzer, "Stabilized sparse scaling algorithms for entropy
/// regularized transport problems", SIAM J. Sci. Comput. 41 (2019), §4–5):
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
    public private(set) var stages: [SparseKernelStage] = []
    public private(set) var iterations = 0
    public private(set) var history: [TransportRecord] = []

    private let grid: TargetGrid

    public init(source: [Double], targets: [Double], dimension: Int, ground: GroundCost, partition: RowPartition,
                rowMarginal: [Double], columnMarginal: [Double], options: SparseKernelOptions, costScale: Double) {
        self.sourceCoordinates = source
        self.targetCoordinates = targets
        self.dimension = dimension
        self.ground = ground
        self.partition = partition
        self.rowMarginal = rowMarginal
        self.columnMarginal = columnMarginal
        self.options = options
        self.costScale = costScale
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

    /// The truncated kernel's rows for the current duals and row images (rank-local).
    func pattern(eta: Double, x: [Double], y: [Double], images: [Double], threads: Int) -> LocalCost {
        let d = dimension, reach = reach(eta), bound = options.truncation / eta
        let ranges = evenRanges(count: rows, parts: threads)
        let found = SharedBuffer<[(Int32, Double)]>(count: rows, repeating: [])
        let (g, s, t, scale, ground) = (grid, sourceCoordinates, targetCoordinates, costScale, self.ground)
        parallelTasks(ranges.count) { task in
            s.withUnsafeBufferPointer { sb in
                t.withUnsafeBufferPointer { tb in
                    for i in ranges[task] {
                        var row: [(Int32, Double)] = []
                        var smallest = Double.infinity
                        g.visit(near: Array(images[(i * d)..<((i + 1) * d)]), reach: reach) { j in
                            let c = ground.cost(sb.baseAddress! + i * d, tb.baseAddress! + j * d, dimension: d) / scale
                            smallest = min(smallest, c - x[i] - y[j])
                            row.append((Int32(j), c))
                        }
                        // Kept: entries within e^(−θ) of the row's largest.
                        // A fresh array, sized to what is kept (the candidates' capacity is several times larger).
                        found[i] = row.filter { $0.1 - x[i] - y[Int($0.0)] <= smallest + bound }.sorted { $0.0 < $1.0 }
                    }
                }
            }
        }
        var rowStart = [0], columns: [Int32] = [], values: [Double] = []
        for i in 0..<rows {
            for (j, c) in found[i] { columns.append(j); values.append(c) }
            rowStart.append(values.count)
        }
        return LocalCost(rowStart: rowStart, columnIndices: columns, values: values)
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
                let cost = pattern(eta: stageEta, x: x, y: y, images: images, threads: parameters.threads)
                try MemoryBudget.check(Double(cost.entries) * TransportSetup.bytesPerEntry, for: "a sparse kernel of \(cost.entries) entries on this rank") {
                    .computation($0)
                }
                // The pattern's identity: its size and a checksum of its columns, summed over ranks.
                var checksum = 0.0
                for i in 0..<cost.rows { for e in cost.rowStart[i]..<cost.rowStart[i + 1] { checksum += Double(i &+ 7919 &* Int(cost.columnIndices![e]) % 1_000_003) } }
                var coverage = [Double](repeating: 0, count: columns)
                for j in cost.columnIndices! { coverage[Int(j)] = 1 }
                communicator.allreduceSumInPlace(&coverage)
                if let empty = coverage.firstIndex(of: 0) {
                    throw .computation("the sparse kernel at η = \(stageEta) leaves target point \(empty + 1) without any source within reach; use the dense kernel or a smaller --eta")
                }
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
        cellsX = min(1 << 15, Int(width / cell) + 1)
        cellsY = dimension > 1 ? min(1 << 15, Int(height / cell) + 1) : 1
        var counts = [Int](repeating: 0, count: cellsX * cellsY + 1)
        var owner = [Int](repeating: 0, count: count)
        for j in 0..<count {
            let cx = min(cellsX - 1, Int((points[j * dimension] - lo.0) / cell))
            let cy = dimension > 1 ? min(cellsY - 1, Int((points[j * dimension + 1] - lo.1) / cell)) : 0
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
    func visit(near center: [Double], reach: Double, _ body: (Int) -> Void) {
        let x0 = Int(((center[0] - reach - low.0) / cell).rounded(.down)), x1 = Int(((center[0] + reach - low.0) / cell).rounded(.down))
        let y0 = dimension > 1 ? Int(((center[1] - reach - low.1) / cell).rounded(.down)) : 0
        let y1 = dimension > 1 ? Int(((center[1] + reach - low.1) / cell).rounded(.down)) : 0
        for cy in max(0, y0)...max(0, min(cellsY - 1, y1)) where cy <= y1 && y0 < cellsY {
            for cx in max(0, x0)...max(0, min(cellsX - 1, x1)) where cx <= x1 && x0 < cellsX {
                let c = cy * cellsX + cx
                for k in start[c]..<start[c + 1] { body(Int(members[k])) }
            }
        }
    }
}
