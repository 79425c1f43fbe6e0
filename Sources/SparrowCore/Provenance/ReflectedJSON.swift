/// Any value's stored properties as JSON, by reflection: a parsed command's
/// options or a job plan's steps become the `options` of a report's
/// provenance without a hand-written list that could fall behind the code.
/// Property names become snake_case, as job-file keys are spelled.
public enum ReflectedJSON {
    public static func value(_ subject: Any) -> JSONValue {
        switch subject {
        case let v as Bool: return .bool(v)
        case let v as Int: return .integer(v)
        case let v as Int32: return .integer(Int(v))
        case let v as Int64: return .integer(Int(v))
        case let v as UInt32: return .integer(Int(v))
        case let v as UInt64: return v <= UInt64(Int.max) ? .integer(Int(v)) : .string(String(v))
        case let v as UInt: return v <= UInt(Int.max) ? .integer(Int(v)) : .string(String(v))
        case let v as Double: return .number(v)
        case let v as Float: return .number(Double(v))
        case let v as String: return .string(v)
        case let v as Substring: return .string(String(v))
        default: break
        }
        let mirror = Mirror(reflecting: subject)
        switch mirror.displayStyle {
        case .optional:
            return mirror.children.first.map { value($0.value) } ?? .null
        case .collection, .set:
            return .array(mirror.children.map { value($0.value) })
        case .dictionary:
            return .object(mirror.children.compactMap { pair in
                let parts = Array(Mirror(reflecting: pair.value).children)
                guard parts.count == 2 else { return nil }
                return (String(describing: parts[0].value), value(parts[1].value))
            }.sorted { $0.0 < $1.0 })
        case .enum:
            guard let payload = mirror.children.first else { return .string(String(describing: subject)) }
            return .object([(snakeCase(payload.label ?? "value"), value(payload.value))])
        case .tuple:
            let children = Array(mirror.children)
            if children.allSatisfy({ $0.label?.hasPrefix(".") ?? true }) {
                return .array(children.map { value($0.value) })
            }
            return .object(fields(of: subject))
        case .struct, .class:
            return .object(fields(of: subject))
        default:
            return .string(String(describing: subject))
        }
    }

    /// The stored properties of a struct or class (a property wrapper's leading underscore dropped).
    public static func fields(of subject: Any) -> [(String, JSONValue)] {
        Mirror(reflecting: subject).children.compactMap { child in
            guard var label = child.label else { return nil }
            if label.hasPrefix("_") { label.removeFirst() }
            return (snakeCase(label), value(child.value))
        }
    }

    /// maxIterations → max_iterations, transposeA → transpose_a.
    public static func snakeCase(_ name: String) -> String {
        var out = ""
        for character in name {
            if character.isUppercase {
                if !out.isEmpty, out.last != "_" { out.append("_") }
                out += character.lowercased()
            } else {
                out.append(character)
            }
        }
        return out
    }

    /// Every value under a key named `key`, with the dotted path to it
    /// (the seeds of a job plan: "steps.3.operation.transport.seed" → 7).
    public static func collect(_ key: String, in value: JSONValue, path: String = "") -> [(String, JSONValue)] {
        switch value {
        case let .object(fields):
            return fields.flatMap { (name, inner) -> [(String, JSONValue)] in
                let here = path.isEmpty ? name : path + "." + name
                return name == key ? [(here, inner)] : collect(key, in: inner, path: here)
            }
        case let .array(items):
            return items.enumerated().flatMap { collect(key, in: $0.element, path: path.isEmpty ? "\($0.offset)" : "\(path).\($0.offset)") }
        default:
            return []
        }
    }
}
