import SparrowCore
import SparrowMPI

/// M⁻¹ for distributed PCG, parsed from the CLI/job spelling:
/// `none`, `jacobi`, `cholesky` (factor of A itself), `sampled:KEEP`
/// (factor of a sampled copy keeping a fraction KEEP of the off-diagonals) or
/// `band:WIDTH` (factor of the copy keeping couplings with |i − j| ≤ WIDTH).
/// Factor-based preconditioners are block Jacobi, as PETSc's default
/// `-pc_type bjacobi -sub_pc_type cholesky`: each rank factors its own diagonal
/// block (its rows, its columns) and applies it to its own residual, so memory
/// and work follow the rank's rows and nothing is gathered. At P = 1 the block
/// is the whole matrix; with more ranks the couplings between blocks are left
/// to PCG, which then takes somewhat more iterations.
/// Modules above this one add kinds through `PreconditionerPlugin` (the
/// sparsifier's `sparsifier[:DENSITY]`); those are built from the whole
/// matrix, replicated on every rank (docs/scaling.md lists this exception).
public struct DistributedPreconditioner: CustomStringConvertible {
    private enum Kind {
        case local(Preconditioner)
        case block(CholeskyFactorization)
        case plugin(any WholeMatrixPreconditioner)
    }
    private let kind: Kind
    public let description: String
    private let owned: Range<Int>

    /// Collective: every rank calls it; a failure on any rank (a non-positive
    /// diagonal in its rows, a factorization) fails it on all.
    public init(_ spelling: String, _ a: DistributedCSR, ordering: CholeskyFactorization.Ordering = .amd,
                plugins: [PreconditionerPlugin] = [], communicator: Communicator) throws(SparrowError) {
        owned = a.ownedRows
        description = spelling
        let parsed = try PreconditionerSpelling.parse(spelling, plugins: plugins, field: "preconditioner")
        if case let .plugin(name, parameter) = parsed, let plugin = plugins.first(where: { $0.name == name }) {
            let whole = try a.replicated(communicator)
            kind = .plugin(try communicator.everywhere { () throws(SparrowError) in try plugin.build(parameter, whole) })
            return
        }
        kind = try communicator.everywhere { () throws(SparrowError) in try Self.build(parsed, a, ordering) }
    }

    /// The plug-in's warnings (e.g. a right-hand side projected onto the range), or none.
    public var warnings: [String] {
        if case let .plugin(p) = kind { return p.warnings }
        return []
    }

    /// Removes from a vector held in rows (this rank's share) what the matrix cannot reach:
    /// the constants of a singular Laplacian's components. Collective for plug-ins; returns
    /// the 2-norm of what was removed (0 for every other kind).
    public func projectOntoRange(_ v: inout [Double], communicator: Communicator) throws(SparrowError) -> Double {
        guard case let .plugin(p) = kind, p.isSingular else { return 0 }
        let whole = try communicator.allgatherv(v)
        var projected = whole
        p.project(&projected)
        var removed = 0.0
        for i in 0..<whole.count { removed += (whole[i] - projected[i]) * (whole[i] - projected[i]) }
        v = Array(projected[owned])
        return removed.squareRoot()
    }

    /// The preconditioner itself (rank-local).
    private static func build(_ spelling: PreconditionerSpelling, _ a: DistributedCSR,
                              _ ordering: CholeskyFactorization.Ordering) throws(SparrowError) -> Kind {
        let owned = a.ownedRows
        switch spelling {
        case .none:
            return .local(.identity)
        case .jacobi:
            var local = a.local
            // Local rows, global columns: the diagonal of row i is at column owned.lowerBound + i.
            local.columns = a.globalColumns
            var inverse = [Double](repeating: 0, count: local.rows)
            for i in 0..<local.rows {
                let d = local.entry(i, owned.lowerBound + i)
                guard d > 0 else { throw .computation("Jacobi preconditioner needs a positive diagonal: A[\(owned.lowerBound + i + 1), \(owned.lowerBound + i + 1)] = \(d)") }
                inverse[i] = 1 / d
            }
            return .local(.jacobi(inverse))
        case .cholesky:
            return .block(try CholeskyFactorization(diagonalBlock(a), ordering: ordering))
        case let .sampled(keep):
            return .block(try CholeskyFactorization(try RowSumPreservingCopy.sample(diagonalBlock(a), keep: keep), ordering: ordering))
        case let .band(width):
            return .block(try CholeskyFactorization(try RowSumPreservingCopy.band(diagonalBlock(a), width: width), ordering: ordering))
        case let .plugin(name, _):
            throw .field(name: "preconditioner", message: "the \(name) preconditioner is not available here")
        }
    }

    /// z = M⁻¹ r for this rank's rows. Collective for factor-based kinds.
    public func apply(_ r: [Double], communicator: Communicator) throws(SparrowError) -> [Double] {
        switch kind {
        case let .local(p): return try p.apply(r)
        case let .block(factor):
            // Rank-local, but a failure must be everyone's: agreed.
            return try communicator.everywhere { () throws(SparrowError) in try factor.solve(r) }
        case let .plugin(p):
            let whole = try communicator.allgatherv(r)
            // Every rank solves the same system with the same factor (as for .global), so the outcome is everyone's.
            return Array(try p.solve(whole)[owned])
        }
    }
}

/// M⁻¹ built from the whole matrix by a module above SparrowFactor.
public protocol WholeMatrixPreconditioner: AnyObject {
    /// z = M⁻¹ r for the whole vector.
    func solve(_ r: [Double]) throws(SparrowError) -> [Double]
    /// Whether the matrix is singular (a Laplacian with a component lacking any excess diagonal).
    var isSingular: Bool { get }
    /// Takes the null-space part (constants per singular component) off a whole vector.
    func project(_ v: inout [Double])
    var warnings: [String] { get }
}

extension DistributedPreconditioner {
    /// This rank's diagonal block: its rows, restricted to its own columns and
    /// renumbered from 0 (the matrix block Jacobi factors).
    static func diagonalBlock(_ a: DistributedCSR) -> CSRMatrix {
        let owned = a.ownedRows, local = a.local
        var pointers = [Int](repeating: 0, count: local.rows + 1)
        var columns: [Int32] = [], values: [Double] = []
        columns.reserveCapacity(local.nonzeros)
        values.reserveCapacity(local.nonzeros)
        for i in 0..<local.rows {
            for p in local.rowRange(i) {
                let j = Int(local.columnIndices[p])
                if owned.contains(j) {
                    columns.append(Int32(j - owned.lowerBound))
                    values.append(local.values[p])
                }
            }
            pointers[i + 1] = columns.count
        }
        return CSRMatrix(rows: local.rows, columns: local.rows, rowPointers: pointers, columnIndices: columns,
                         values: values, columnsSorted: local.columnsSorted)
    }
}
