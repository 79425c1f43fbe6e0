/// Errors a user can cause or a computation can hit. Every case renders as the
/// one-line message of the CLI contract (`FILE:LINE: what is wrong`, or
/// `FIELD: what is wrong` for job files), and maps to an exit code:
/// 2 for bad input or usage, 1 for a failed computation, 128 + N when stopped by signal N.
public enum SparrowError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A problem in an input file; `line` is 1-based, nil when the file as a whole is at fault.
    case input(file: String, line: Int?, message: String)
    /// A problem with a named field (job files, options).
    case field(name: String, message: String)
    /// Wrong usage: inconsistent flags, shape mismatch between operands.
    case usage(String)
    /// A computation that could not finish: not positive definite, singular, no convergence, a rank died.
    case computation(String)
    /// An output could not be written.
    case output(path: String, message: String)
    /// A problem at a line and column of a structured file (job files), naming the field.
    case located(file: String, line: Int, column: Int, field: String, message: String)
    /// Several problems reported together (job validation): one line each.
    case several([SparrowError])
    /// Stopped by SIGTERM or SIGINT at a safe point (after writing a checkpoint): exit 128 + signal.
    case interrupted(signal: Int32, message: String)

    public var description: String {
        switch self {
        case let .input(file, line?, message): return "\(file):\(line): \(message)"
        case let .input(file, nil, message): return "\(file): \(message)"
        case let .field(name, message): return "\(name): \(message)"
        case let .usage(message): return message
        case let .computation(message): return message
        case let .output(path, message): return "\(path): \(message)"
        case let .located(file, line, column, field, message):
            return "\(file):\(line):\(column): \(field.isEmpty ? "" : field + ": ")\(message)"
        case let .several(errors): return errors.map(\.description).joined(separator: "\n")
        case let .interrupted(_, message): return message
        }
    }

    /// One message per line (a `several` error expands to its members).
    public var lines: [String] {
        if case let .several(errors) = self { return errors.flatMap(\.lines) }
        return [description]
    }

    /// Exit code of the CLI contract: 1 computation failed, 2 bad input or usage.
    public var exitCode: Int32 {
        switch self {
        case .computation: return 1
        case .input, .field, .usage, .output, .located: return 2
        case let .several(errors): return errors.map(\.exitCode).max() ?? 2
        case let .interrupted(signal, _): return 128 + signal
        }
    }
}
