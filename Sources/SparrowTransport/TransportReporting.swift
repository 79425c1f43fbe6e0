import Foundation
import SparrowCore

/// How a transport solve is shown: the progress line, the report's metrics,
/// history entries and warnings (shared by the verb and the job step).
public enum TransportReporting {
    public static func describe(_ r: TransportRecord) -> String {
        let base = "ot: iteration \(r.iteration) \(r.kind.rawValue): marginal error \(format(r.error))"
        guard r.kind == .newton else { return base }
        return base + ", step \(r.step), \(r.cgIterations) CG, \(r.keptEntries) Hessian entries"
    }

    static func format(_ v: Double) -> String {
        v.isFinite ? String(format: "%.3e", v) : "\(v)"
    }

    public static func metrics(_ solver: EntropicTransport, _ f: TransportFigures, costScale: Double) -> [(String, JSONValue)] {
        let s = solver.statistics
        return [("rows", .integer(solver.problem.rows)), ("columns", .integer(solver.problem.columns)),
                ("eta", .number(solver.parameters.eta)), ("method", .string(solver.parameters.method.rawValue)),
                ("tolerance", .number(solver.parameters.tolerance)), ("converged", .bool(solver.converged)),
                ("iterations", .integer(solver.iterations)), ("sinkhorn_sweeps", .integer(s.sinkhornSweeps)),
                ("newton_steps", .integer(s.newtonSteps)), ("cg_iterations", .integer(s.cgIterations)),
                ("plan_evaluations", .integer(s.planEvaluations)), ("fallbacks", .integer(s.fallbacks)),
                ("stabilized_passes", .integer(s.stabilizedPasses)),
                ("marginal_error", .number(f.marginalError)), ("transport_cost", .number(f.transportCost * costScale)),
                ("entropic_objective", .number(f.entropicObjective * costScale)), ("dual_objective", .number(f.dualObjective * costScale)),
                ("cost_scale", .number(costScale))]
    }

    public static func warnings(_ solver: EntropicTransport) -> [String] {
        var out: [String] = []
        if solver.statistics.fallbacks > 0 {
            out.append("\(solver.statistics.fallbacks) Newton steps did not increase the dual objective; Sinkhorn sweeps were run instead")
        }
        return out
    }

    public static func historyEntry(_ r: TransportRecord) -> [(String, JSONValue)] {
        var entry: [(String, JSONValue)] = [("iteration", .integer(r.iteration)), ("kind", .string(r.kind.rawValue)),
                                            ("error", .number(r.error)), ("seconds", .number(r.seconds))]
        if r.kind == .newton {
            entry += [("objective", .number(r.objective)), ("step", .number(r.step)), ("cg_iterations", .integer(r.cgIterations)),
                      ("hessian_entries", .integer(r.keptEntries))]
        }
        return entry
    }
}
