import Foundation
import SparrowCore
import SparrowMPI

/// Where a transport problem comes from: a dense cost file, or two point
/// clouds and a ground cost; marginals from files or uniform.
public struct TransportSource: Sendable, Equatable {
    public var costPath: String?
    public var sourcePoints: String?
    public var targetPoints: String?
    public var groundCost: GroundCost = .sqeuclidean
    public var rowMarginalPath: String?
    public var columnMarginalPath: String?
    /// Divide the costs by their largest value (so they lie in [0, 1]).
    public var normalize = false

    public init() {}

    /// The option or field names this source is checked against (`--cost` or `cost`).
    public func validate(prefix: String) throws(SparrowError) {
        let points = sourcePoints != nil || targetPoints != nil
        if costPath != nil, points {
            throw .usage("give either \(prefix)cost or \(prefix)source-points with \(prefix)target-points, not both")
        }
        if costPath == nil, sourcePoints == nil || targetPoints == nil {
            throw .usage("give \(prefix)cost, or both \(prefix)source-points and \(prefix)target-points")
        }
    }
}

/// A loaded problem and how it was scaled.
public struct LoadedTransport: Sendable {
    public var problem: TransportProblem
    /// The factor the costs were divided by (1 without normalization).
    public var costScale: Double
}

public enum TransportSetup {
    /// Collective: refuses a problem whose largest cost times η leaves double precision
    /// (`source` names the file in the message).
    public static func checkScale(_ loaded: LoadedTransport, eta: Double, source: String, communicator: Communicator) throws(SparrowError) {
        let largest = communicator.allreduce(loaded.problem.cost.values.max() ?? 0, .max)
        try communicator.everywhere { () throws(SparrowError) in try TransportProblem.checkScale(largest: largest, eta: eta, source: source) }
    }

    /// Bytes per local dense entry: the cost, the plan of a Newton step, and a kept Hessian entry (value and column).
    static let bytesPerEntry = 8.0 + 8.0 + 12.0

    /// Loads the problem, each rank keeping its rows (collective; failures agreed).
    public static func load(_ source: TransportSource, threads: Int, communicator: Communicator) throws(SparrowError) -> LoadedTransport {
        let comm = communicator
        // Shapes first, so a problem too large for memory is refused before anything is read.
        let shape = try comm.everywhere { () throws(SparrowError) -> (Int, Int) in
            if let costPath = source.costPath {
                let h = try TransportInput.arrayHeader(path: costPath, what: "the cost matrix")
                return (h.rows, h.columns)
            }
            let s = try TransportInput.arrayHeader(path: source.sourcePoints!, what: "the source points")
            let t = try TransportInput.arrayHeader(path: source.targetPoints!, what: "the target points")
            guard s.columns == t.columns else {
                throw .usage("source points are \(s.columns)-dimensional (\(source.sourcePoints!)), target points \(t.columns)-dimensional (\(source.targetPoints!))")
            }
            return (s.rows, t.rows)
        }
        let (n, m) = shape
        let partition = RowPartition.uniform(rows: n, parts: comm.size)
        let owned = partition.range(of: comm.rank)
        var values = try comm.everywhere { () throws(SparrowError) -> [Double] in
            let bytes = Double(owned.count) * Double(m) * bytesPerEntry + Double(threads + 4) * Double(m) * 8
            try MemoryBudget.check(bytes, for: "a dense \(n) × \(m) transport problem (\(owned.count) rows on this rank)") {
                .input(file: source.costPath ?? source.sourcePoints!, line: nil, message: $0)
            }
            if let costPath = source.costPath {
                let header = try MatrixMarket.readHeader(path: costPath)
                return try TransportInput.denseRows(path: costPath, owned: owned, header: header, threads: threads)
            }
            let s = try TransportInput.points(path: source.sourcePoints!, what: "the source points")
            let t = try TransportInput.points(path: source.targetPoints!, what: "the target points")
            return source.groundCost.denseRows(source: s.coordinates, target: t.coordinates, dimension: s.dimension,
                                               owned: owned, threads: threads)
        }
        var scale = 1.0
        if source.normalize {
            scale = comm.allreduce(values.max() ?? 0, .max)
            if scale > 0 { for e in values.indices { values[e] /= scale } } else { scale = 1 }
        }
        let marginals = try comm.everywhere { () throws(SparrowError) -> ([Double], [Double]) in
            let r = try source.rowMarginalPath.map { (p: String) throws(SparrowError) in try TransportInput.vector(path: p, count: n, what: "the row marginal") }
            let c = try source.columnMarginalPath.map { (p: String) throws(SparrowError) in try TransportInput.vector(path: p, count: m, what: "the column marginal") }
            // Uniform by default; when only one is given, the other is uniform with the same mass.
            let mass = r.map { $0.reduce(0, +) } ?? c.map { $0.reduce(0, +) } ?? 1
            let rows = r.map { Array($0[owned]) } ?? [Double](repeating: mass / Double(n), count: owned.count)
            return (rows, c ?? [Double](repeating: mass / Double(m), count: m))
        }
        try TransportProblem.checkMarginals(marginals.0, marginals.1, rowSource: source.rowMarginalPath ?? "the uniform row marginal",
                                            columnSource: source.columnMarginalPath ?? "the uniform column marginal", communicator: comm)
        let problem = TransportProblem(rows: n, columns: m, partition: partition, cost: LocalCost(denseRows: values, columns: m),
                                       rowMarginal: marginals.0, columnMarginal: marginals.1)
        return LoadedTransport(problem: problem, costScale: scale)
    }
}

extension TransportSetup {
    /// A problem from distributed values (a job's): the cost's rows stay where
    /// they are (absent entries are zero costs), or the source points' rows
    /// stay and the target points are replicated; marginals are replicated
    /// vectors. `field` prefixes error messages (collective).
    public static func fromValues(cost: DistributedCSR?, sourcePoints: DistributedCSR?, targetPoints: DistributedCSR?,
                                  groundCost: GroundCost, rowMarginal: DistributedCSR?, columnMarginal: DistributedCSR?,
                                  normalize: Bool, threads: Int, field: String, communicator: Communicator) throws(SparrowError) -> LoadedTransport {
        let comm = communicator
        let partition: RowPartition, columns: Int
        var values: [Double]
        if let cost {
            partition = cost.partition
            columns = cost.globalColumns
            let local = cost.local
            values = try comm.everywhere { () throws(SparrowError) -> [Double] in
                try MemoryBudget.check(Double(local.rows) * Double(columns) * bytesPerEntry, for: "a dense \(cost.globalRows) × \(columns) transport problem") {
                    .field(name: "\(field).cost", message: $0)
                }
                var dense = [Double](repeating: 0, count: local.rows * columns)
                for i in 0..<local.rows {
                    for p in local.rowRange(i) {
                        let v = local.values[p]
                        guard v >= 0 else {
                            throw .field(name: "\(field).cost", message: "entry (\(cost.ownedRows.lowerBound + i + 1), \(local.columnIndices[p] + 1)) is \(v); costs must be non-negative")
                        }
                        dense[i * columns + Int(local.columnIndices[p])] += v
                    }
                }
                return dense
            }
        } else {
            let source = sourcePoints!, target = try targetPoints!.replicated(comm)
            guard source.globalColumns == target.columns else {
                throw .field(name: "\(field).target_points", message: "points are \(target.columns)-dimensional, the source points \(source.globalColumns)-dimensional")
            }
            partition = source.partition
            columns = target.rows
            let d = target.columns
            let rows = source.local.rows
            values = try comm.everywhere { () throws(SparrowError) -> [Double] in
                try MemoryBudget.check(Double(rows) * Double(columns) * bytesPerEntry, for: "a dense \(source.globalRows) × \(columns) transport problem") {
                    .field(name: "\(field).source_points", message: $0)
                }
                let s = denseRowMajor(source.local, width: d), t = denseRowMajor(target, width: d)
                return groundCost.denseRows(source: s, target: t, dimension: d, owned: 0..<rows, threads: threads)
            }
        }
        var scale = 1.0
        if normalize {
            scale = comm.allreduce(values.max() ?? 0, .max)
            if scale > 0 { for e in values.indices { values[e] /= scale } } else { scale = 1 }
        }
        let n = partition.globalRows
        let owned = partition.range(of: comm.rank)
        let r = try rowMarginal.map { (v: DistributedCSR) throws(SparrowError) in try vector(v, count: n, field: "\(field).r", comm) }
        let c = try columnMarginal.map { (v: DistributedCSR) throws(SparrowError) in try vector(v, count: columns, field: "\(field).c", comm) }
        let mass = r.map { $0.reduce(0, +) } ?? c.map { $0.reduce(0, +) } ?? 1
        let rows = r.map { Array($0[owned]) } ?? [Double](repeating: mass / Double(n), count: owned.count)
        let cols = c ?? [Double](repeating: mass / Double(columns), count: columns)
        try TransportProblem.checkMarginals(rows, cols, rowSource: "\(field).r", columnSource: "\(field).c", communicator: comm)
        let problem = TransportProblem(rows: n, columns: columns, partition: partition, cost: LocalCost(denseRows: values, columns: columns),
                                       rowMarginal: rows, columnMarginal: cols)
        return LoadedTransport(problem: problem, costScale: scale)
    }

    private static func denseRowMajor(_ m: CSRMatrix, width: Int) -> [Double] {
        var out = [Double](repeating: 0, count: m.rows * width)
        for i in 0..<m.rows { for p in m.rowRange(i) { out[i * width + Int(m.columnIndices[p])] += m.values[p] } }
        return out
    }

    private static func vector(_ v: DistributedCSR, count: Int, field: String, _ comm: Communicator) throws(SparrowError) -> [Double] {
        guard v.globalColumns == 1 || v.globalRows == 1, v.globalRows * v.globalColumns == count else {
            throw .field(name: field, message: "expected a vector of \(count) entries, got \(v.globalRows) × \(v.globalColumns)")
        }
        let whole = try v.replicated(comm)
        let values = denseRowMajor(whole, width: whole.columns)
        if let bad = values.firstIndex(where: { !($0 > 0) }) {
            throw .field(name: field, message: "entry \(bad + 1) is \(values[bad]); marginals must be positive")
        }
        return values
    }
}

extension TransportSetup {
    /// Point clouds for the sparse-kernel mode: this rank's source rows and all
    /// targets (collective). Under `normalize` the cost scale is the bound the
    /// joint bounding box puts on any cost (its squared diagonal, or its L1
    /// diagonal), since the largest of n·m costs is never formed.
    public static func sparseKernel(_ source: TransportSource, options: SparseKernelOptions, communicator: Communicator) throws(SparrowError) -> SparseKernelTransport {
        let comm = communicator
        guard source.costPath == nil else { throw .usage("--kernel sparse needs point clouds (--source-points, --target-points), not --cost") }
        let (s, t) = try comm.everywhere { () throws(SparrowError) -> ((count: Int, dimension: Int, coordinates: [Double]), (count: Int, dimension: Int, coordinates: [Double])) in
            let s = try TransportInput.points(path: source.sourcePoints!, what: "the source points")
            let t = try TransportInput.points(path: source.targetPoints!, what: "the target points")
            guard s.dimension == t.dimension else {
                throw .usage("source points are \(s.dimension)-dimensional (\(source.sourcePoints!)), target points \(t.dimension)-dimensional (\(source.targetPoints!))")
            }
            return (s, t)
        }
        let partition = RowPartition.uniform(rows: s.count, parts: comm.size)
        let owned = partition.range(of: comm.rank)
        let d = s.dimension
        // No cost exceeds the joint bounding box's diagonal (squared, or in L1).
        var extent = 0.0, l1 = 0.0
        for k in 0..<d {
            var lo = Double.infinity, hi = -Double.infinity
            for p in [s, t] { for i in 0..<p.count { lo = min(lo, p.coordinates[i * d + k]); hi = max(hi, p.coordinates[i * d + k]) } }
            extent += (hi - lo) * (hi - lo)
            l1 += hi - lo
        }
        let bound = source.groundCost == .sqeuclidean ? extent : l1
        guard bound.isFinite else {
            throw .input(file: source.sourcePoints!, line: nil,
                         message: "the points are so far apart that their \(source.groundCost == .sqeuclidean ? "squared distances" : "distances") overflow double precision (with \(source.targetPoints!)); scale the coordinates")
        }
        var scale = 1.0
        if source.normalize {
            scale = bound
            if !(scale > 0) { scale = 1 }
        }
        let marginals = try comm.everywhere { () throws(SparrowError) -> ([Double], [Double]) in
            let r = try source.rowMarginalPath.map { (p: String) throws(SparrowError) in try TransportInput.vector(path: p, count: s.count, what: "the row marginal") }
            let c = try source.columnMarginalPath.map { (p: String) throws(SparrowError) in try TransportInput.vector(path: p, count: t.count, what: "the column marginal") }
            let mass = r.map { $0.reduce(0, +) } ?? c.map { $0.reduce(0, +) } ?? 1
            return (r.map { Array($0[owned]) } ?? [Double](repeating: mass / Double(s.count), count: owned.count),
                    c ?? [Double](repeating: mass / Double(t.count), count: t.count))
        }
        try TransportProblem.checkMarginals(marginals.0, marginals.1, rowSource: source.rowMarginalPath ?? "the uniform row marginal",
                                            columnSource: source.columnMarginalPath ?? "the uniform column marginal", communicator: comm)
        return SparseKernelTransport(source: Array(s.coordinates[(owned.lowerBound * d)..<(owned.upperBound * d)]), targets: t.coordinates,
                                     dimension: d, ground: source.groundCost, partition: partition, rowMarginal: marginals.0,
                                     columnMarginal: marginals.1, options: options, costScale: scale, largestCost: bound / scale)
    }
}
