import Foundation
import SparrowCore
import SparrowMPI

/// Writing a solve's results: the duals as one array and the plan's
/// significant entries as a coordinate matrix (gathered to rank 0, written
/// under a temporary name and renamed).
public enum TransportOutput {
    /// All duals on rank 0: x (n rows) then y (m rows); nil on other ranks (collective).
    public static func gatherDuals(_ solver: EntropicTransport, communicator: Communicator) throws(SparrowError) -> [Double]? {
        guard let parts = try communicator.gatherv(solver.x) else { return nil }
        return parts.flatMap { $0 } + solver.y
    }

    /// Writes the duals as an (n + m) × 1 array: x, then y (collective).
    public static func writeDuals(_ solver: EntropicTransport, to path: String, into outputs: OutputSet? = nil,
                                  communicator: Communicator) throws(SparrowError) {
        let duals = try gatherDuals(solver, communicator: communicator)
        let (n, m, eta) = (solver.problem.rows, solver.problem.columns, solver.parameters.eta)
        _ = try communicator.onRoot { () throws(SparrowError) in
            try MatrixMarket.write(DenseMatrix(rows: n + m, columns: 1, values: duals!), to: path,
                                   comment: "Sparrow transport duals: rows 1..\(n) are x, rows \(n + 1)..\(n + m) are y;\nplan P_ij = exp(eta*(x_i + y_j - C_ij) - 1), eta = \(eta)",
                                   into: outputs)
        }
    }

    /// The significant plan on rank 0 (collective).
    public static func gatherPlan(_ solver: EntropicTransport, threshold: Double, communicator: Communicator) throws(SparrowError) -> CSRMatrix? {
        let local = solver.significantPlan(threshold: threshold)
        let counts = local.rowStart.indices.dropFirst().map { local.rowStart[$0] - local.rowStart[$0 - 1] }
        let allCounts = try communicator.gatherv(counts)
        let allColumns = try communicator.gatherv(local.columns)
        let allValues = try communicator.gatherv(local.values)
        guard let allCounts, let allColumns, let allValues else { return nil }
        var pointers = [0]
        for c in allCounts.joined() { pointers.append(pointers.last! + c) }
        return CSRMatrix(rows: solver.problem.rows, columns: solver.problem.columns, rowPointers: pointers,
                         columnIndices: Array(allColumns.joined()), values: Array(allValues.joined()), columnsSorted: true)
    }

    public static func writePlan(_ solver: EntropicTransport, threshold: Double, to path: String, threads: Int,
                                 into outputs: OutputSet? = nil, communicator: Communicator) throws(SparrowError) {
        let plan = try gatherPlan(solver, threshold: threshold, communicator: communicator)
        _ = try communicator.onRoot { () throws(SparrowError) in
            try MatrixMarket.write(plan!, to: path, comment: "Sparrow transport plan: entries >= \(threshold)", threads: threads, into: outputs)
        }
    }
}
