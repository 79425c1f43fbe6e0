import SparrowCore
import Yams

/// A step's keys, as its schema reads them (with the parser's typed readers,
/// which record every problem at its line and column).
struct StepKeys {
    let field: String
    let node: Node
    let byKey: [String: Node]
    /// Every key of the step in file order: (name, key node, value node).
    let entries: [(String, Node, Node)]

    /// A string value, the fallback when the key is absent, nil (with a problem recorded) when malformed.
    func text(_ key: String, _ fallback: String, _ parser: inout JobParser) -> String? {
        byKey[key].map { parser.string($0, "\(field).\(key)") } ?? fallback
    }

    /// The value of the key `option.key`, checked by the option: `.some(nil)` when the key is absent,
    /// nil when it is malformed or out of range (the problem is recorded).
    func number(_ option: NumericOption, _ parser: inout JobParser) -> Double?? {
        guard let node = byKey[option.key] else { return .some(nil) }
        return parser.number(node, "\(field).\(option.key)", option).map { .some($0) }
    }

    func integer(_ option: NumericOption, _ parser: inout JobParser) -> Int?? {
        guard let node = byKey[option.key] else { return .some(nil) }
        return parser.integer(node, "\(field).\(option.key)", option).map { .some($0) }
    }

    /// Records a problem for an error a parameter check threw (its field name is replaced by the key's).
    func problem(_ error: SparrowError, _ parser: inout JobParser) {
        if case let .field(name, message) = error {
            let key = name.split(separator: ".").last.map(String.init) ?? name
            parser.problem(byKey[key] ?? node, name, message)
        } else {
            parser.problem(node, field, error.description)
        }
    }
}

/// One step operation's keys and how to read them into a `StepOperation`.
/// Each capability's adapter in Steps/ provides its own (validation beside execution).
struct StepSchema: Sendable {
    let op: String
    /// Keys besides `name` and `op`.
    let keys: [String]
    let required: [String]
    let parse: @Sendable (StepKeys, inout JobParser) -> StepOperation?

    static let all: [StepSchema] = MatrixSteps.schemas + [SpGEMMStep.schema] + SolveSteps.schemas + [PCGStep.schema]
        + [CompleteStep.schema, TransportStep.schema, SparsifyStep.schema]
    static var operations: [String] { all.map(\.op) }
    static func schema(for op: String) -> StepSchema? { all.first { $0.op == op } }
    static func keys(for op: String) -> [String] { ["name", "op"] + (schema(for: op)?.keys ?? []) }
    static func required(for op: String) -> [String] { schema(for: op)?.required ?? [] }
    static var allKeys: [String] { Array(Set(operations.flatMap(keys(for:)))).sorted() }
}
