import SparrowCore
import SparrowMPI

/// A value a job step produces or consumes.
enum JobValue {
    case sparse(DistributedCSR)
    /// Distributed by rows (each rank its own rows); gathered only where a consumer needs all of it.
    case dense(DistributedDense)
    case metrics([(String, JSONValue)])
    /// A step's figures and the further values it makes (stored as STEP.PART).
    case group(figures: [(String, JSONValue)], parts: [(String, JobValue)])
}

/// The job's named values (inputs and step results), with typed access.
/// Methods that move data between ranks say so; everything else is rank-local.
final class JobValueStore {
    private var values: [String: JobValue] = [:]
    private let communicator: Communicator

    init(communicator: Communicator) { self.communicator = communicator }

    subscript(name: String) -> JobValue? {
        get { values[name] }
        set { values[name] = newValue }
    }

    func sparse(_ name: String) throws(SparrowError) -> DistributedCSR {
        guard case let .sparse(m)? = values[name] else { throw .usage("'\(name)' is not a sparse matrix") }
        return m
    }

    /// Collective: the whole matrix on every rank (direct solvers need all of it).
    func replicated(_ name: String) throws(SparrowError) -> CSRMatrix {
        try sparse(name).replicated(communicator)
    }

    /// A step's `rhs` made ready on every rank before any rank-local work.
    enum RightHandSide {
        case builtIn(String)
        case matrix(name: String, DenseMatrix)
    }

    /// Collective: a named value made whole on every rank, for the direct
    /// solves (they hold all of A too), before the per-item solves that only
    /// some ranks run (a collective there would hang).
    func resolveRightHandSide(_ spelling: String) throws(SparrowError) -> RightHandSide {
        if DenseRightHandSide.isBuiltIn(spelling) { return .builtIn(spelling) }
        let b = try distributedDense(spelling)
        try communicator.everywhere { () throws(SparrowError) in
            try MemoryBudget.check(Double(b.globalRows) * Double(b.columns) * 16,
                                   for: "right-hand side '\(spelling)' as a whole \(b.globalRows) × \(b.columns) array on every rank") {
                .field(name: "rhs", message: $0)
            }
        }
        return .matrix(name: spelling, try b.allgathered(communicator))
    }

    /// Rank-local: a named matrix's global shape (every rank holds the same values' shapes).
    func shape(_ spelling: String) throws(SparrowError) -> (rows: Int, columns: Int) {
        switch values[spelling] {
        case let .dense(b)?: return (b.globalRows, b.columns)
        case let .sparse(m)?: return (m.globalRows, m.globalColumns)
        default: throw .usage("'\(spelling)' is not a matrix")
        }
    }

    /// Collective: a named matrix as dense rows, each rank densifying only its own
    /// rows of a sparse value (nothing is replicated).
    func distributedDense(_ spelling: String) throws(SparrowError) -> DistributedDense {
        switch values[spelling] {
        case let .dense(b)?:
            return b
        case let .sparse(m)?:
            return try communicator.everywhere { () throws(SparrowError) -> DistributedDense in
                let owned = m.local
                try MemoryBudget.check(Double(owned.rows) * Double(m.globalColumns) * 8,
                                       for: "this rank's \(owned.rows) rows of '\(spelling)' as a dense array of \(m.globalColumns) columns") {
                    .field(name: "rhs", message: $0)
                }
                var dense = DenseMatrix(rows: owned.rows, columns: m.globalColumns)
                for i in 0..<owned.rows { for p in owned.rowRange(i) { dense[i, Int(owned.columnIndices[p])] += owned.values[p] } }
                return DistributedDense(local: dense, partition: m.partition, rank: m.rank)
            }
        default:
            throw .usage("'\(spelling)' is not a matrix")
        }
    }

    /// Rank-local: B for one matrix from a resolved right-hand side.
    static func rightHandSide(_ resolved: RightHandSide, for a: CSRMatrix) throws(SparrowError) -> DenseMatrix {
        switch resolved {
        case let .builtIn(spelling):
            return try DenseSpec.parse(spelling, for: a, field: "rhs")
        case let .matrix(name, b):
            guard b.rows == a.rows else { throw .usage("shape mismatch: right-hand side '\(name)' has \(b.rows) rows, the matrix \(a.rows)") }
            return b
        }
    }
}
