import SparrowCore
import SparrowMPI

/// M⁻¹ for distributed PCG, parsed from the CLI/job spelling:
/// `none`, `jacobi`, `cholesky` (factor of A itself), `sparsified:KEEP`
/// (factor of a sampled copy keeping a fraction KEEP of the off-diagonals) or
/// `band:WIDTH` (factor of the copy keeping couplings with |i − j| ≤ WIDTH).
/// Factor-based preconditioners factor the whole (gathered) matrix on every
/// rank and solve with the gathered residual, so iterates are identical at any P.
public struct DistributedPreconditioner: CustomStringConvertible {
    private enum Kind {
        case local(Preconditioner)
        case global(CholeskyFactorization)
    }
    private let kind: Kind
    public let description: String
    private let owned: Range<Int>

    /// Collective: every rank calls it; a failure on any rank (a non-positive
    /// diagonal in its rows, a factorization) fails it on all.
    public init(_ spelling: String, _ a: DistributedCSR, ordering: CholeskyFactorization.Ordering = .amd,
                communicator: Communicator) throws(SparrowError) {
        owned = a.ownedRows
        description = spelling
        let factorBased = spelling != "none" && spelling != "jacobi"
        let whole = factorBased ? try a.replicated(communicator) : nil
        kind = try communicator.everywhere { () throws(SparrowError) in try Self.build(spelling, a, whole, ordering) }
    }

    /// The preconditioner itself (rank-local: `whole` is already replicated when needed).
    private static func build(_ spelling: String, _ a: DistributedCSR, _ whole: CSRMatrix?,
                              _ ordering: CholeskyFactorization.Ordering) throws(SparrowError) -> Kind {
        let owned = a.ownedRows
        switch spelling {
        case "none":
            return .local(.identity)
        case "jacobi":
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
        default:
            guard let whole else { throw .computation("internal: factor preconditioner without the matrix") }
            if spelling == "cholesky" {
                return .global(try CholeskyFactorization(whole, ordering: ordering))
            } else if spelling.hasPrefix("sparsified:"), let keep = Double(spelling.dropFirst(11)) {
                return .global(try CholeskyFactorization(try SparsifiedCopy.sample(whole, keep: keep), ordering: ordering))
            } else if spelling.hasPrefix("band:"), let width = Int(spelling.dropFirst(5)) {
                return .global(try CholeskyFactorization(try SparsifiedCopy.band(whole, width: width), ordering: ordering))
            } else {
                throw .field(name: "preconditioner", message: "expected none, jacobi, cholesky, sparsified:KEEP or band:WIDTH, got '\(spelling)'")
            }
        }
    }

    /// z = M⁻¹ r for this rank's rows. Collective for factor-based kinds.
    public func apply(_ r: [Double], communicator: Communicator) throws(SparrowError) -> [Double] {
        switch kind {
        case let .local(p): return try p.apply(r)
        case let .global(factor):
            let whole = try communicator.allgatherv(r)
            return Array(try factor.solve(whole)[owned])
        }
    }
}
