import Foundation
import SparrowCore

/// The table `sparrow run` ends with: one row per step, its time and the
/// figures that say what it computed (the rest are in the report's history).
public enum JobSummary {
    /// The figures shown for each op, in order; absent ones are skipped.
    static let figures: [String: [String]] = [
        "info": ["rows", "columns", "nnz"], "generate": ["rows", "nnz"], "transpose": ["rows", "columns"],
        "scale": ["nnz"], "add": ["nnz"],
        "spgemm": ["nnz_c", "flops"],
        "solve": ["method", "relative_residual", "factor_nnz"],
        "solve_many": ["items", "max_relative_residual"],
        "pcg": ["iterations", "relative_residual", "preconditioner"],
        "ot": ["iterations", "newton_steps", "marginal_error", "transport_cost"],
        "sparsify": ["edges_h", "density", "kappa", "pcg_iterations", "cg_iterations"],
        "complete": ["sweeps", "train_rmse", "test_rmse"],
    ]

    /// The table's lines for a finished job's report history.
    public static func lines(_ history: [[(String, JSONValue)]]) -> [String] {
        var rows: [[String]] = [["step", "op", "seconds", "result"]]
        for entry in history {
            let field = { (key: String) in entry.first { $0.0 == key }?.1 }
            guard case let .string(step)? = field("step"), case let .string(op)? = field("op") else { continue }
            let seconds: String
            if case let .number(s)? = field("seconds") { seconds = format(s) } else { seconds = "" }
            let result = (figures[op] ?? []).compactMap { key in field(key).flatMap { shown($0) }.map { "\(key) \($0)" } }
            rows.append([step, op, seconds, result.joined(separator: ", ")])
        }
        let widths = (0..<3).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            let line = row[0].padding(widths[0]) + "  " + row[1].padding(widths[1]) + "  " + row[2].padding(widths[2], left: true) + "  " + row[3]
            return String(line.reversed().drop { $0 == " " }.reversed())
        }
    }

    static func shown(_ value: JSONValue) -> String? {
        switch value {
        case let .integer(i): return String(i)
        case let .number(x): return format(x)
        case let .string(s): return s
        case let .bool(b): return String(b)
        default: return nil
        }
    }

    /// Four significant digits, as printf's %.4g.
    static func format(_ x: Double) -> String { String(format: "%.4g", x) }
}

private extension String {
    func padding(_ width: Int, left: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - count))
        return left ? fill + self : self + fill
    }
}
