import SparrowCore
import SparrowMPI

/// A value a job step produces or consumes.
enum JobValue {
    case sparse(DistributedCSR)
    case dense(DenseMatrix)
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

    /// Collective: a named sparse value is replicated and densified here, before the
    /// per-item solves that only some ranks run (a collective there would hang).
    func resolveRightHandSide(_ spelling: String) throws(SparrowError) -> RightHandSide {
        if DenseRightHandSide.isBuiltIn(spelling) { return .builtIn(spelling) }
        switch values[spelling] {
        case let .dense(b)?:
            return .matrix(name: spelling, b)
        case let .sparse(m)?:
            let nonzeros = m.globalNonzeros(communicator)
            try communicator.everywhere { () throws(SparrowError) in
                try MemoryBudget.check(Double(m.globalRows) * Double(m.globalColumns) * 8 + Double(nonzeros) * 12,
                                       for: "right-hand side '\(spelling)' as a dense \(m.globalRows) × \(m.globalColumns) array") {
                    .field(name: "rhs", message: $0)
                }
            }
            let whole = try m.replicated(communicator)
            var dense = DenseMatrix(rows: whole.rows, columns: whole.columns)
            for i in 0..<whole.rows { for p in whole.rowRange(i) { dense[i, Int(whole.columnIndices[p])] += whole.values[p] } }
            return .matrix(name: spelling, dense)
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
