/// A JSON value with ordered object keys, so reports read in a stable order.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case integer(Int)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.serialized() == b.serialized() }

    public func serialized(indent: Int? = nil) -> String {
        var out = ""
        write(to: &out, indent: indent, level: 0)
        return out
    }

    private func write(to out: inout String, indent: Int?, level: Int) {
        let newline = indent == nil ? "" : "\n"
        let pad = { (l: Int) in String(repeating: " ", count: (indent ?? 0) * l) }
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .integer(i): out += String(i)
        case let .number(d):
            if d.isFinite { out += d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : "\(d)" } else { out += "null" }
        case let .string(s): out += Self.quote(s)
        case let .array(items):
            if items.isEmpty { out += "[]"; return }
            out += "[" + newline
            for (k, item) in items.enumerated() {
                out += pad(level + 1)
                item.write(to: &out, indent: indent, level: level + 1)
                out += (k + 1 < items.count ? "," : "") + newline
            }
            out += pad(level) + "]"
        case let .object(fields):
            if fields.isEmpty { out += "{}"; return }
            out += "{" + newline
            for (k, (key, value)) in fields.enumerated() {
                out += pad(level + 1) + Self.quote(key) + (indent == nil ? ":" : ": ")
                value.write(to: &out, indent: indent, level: level + 1)
                out += (k + 1 < fields.count ? "," : "") + newline
            }
            out += pad(level) + "}"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    public subscript(key: String) -> JSONValue? {
        if case let .object(fields) = self { return fields.first(where: { $0.0 == key })?.1 }
        return nil
    }
}

/// The `--report` JSON object of the CLI contract (shared/CONVENTIONS.md):
/// command, ranks, threads, inputs, timings (seconds), metrics, per_rank,
/// history, warnings and provenance.
public struct Report: Sendable {
    public var command: String
    public var ranks: Int
    public var threads: Int
    /// Name → input file path (hashed for the provenance) or description.
    public private(set) var inputs: [(String, JSONValue)] = []
    /// Calendar time the report was begun (provenance `started`).
    public var started = WallClock.now()
    /// The options after defaults, when not the process's command line (a spool job).
    public var options: [(String, JSONValue)]?
    /// Further provenance fields (a job's plan and its seeds).
    public var provenanceDetails: [(String, JSONValue)] = []
    public var timings: [(String, Double)] = []
    public var metrics: [(String, JSONValue)] = []
    public var perRank: [[(String, JSONValue)]] = []
    public var history: [[(String, JSONValue)]] = []
    /// Anything the user should doubt (ill conditioning, a loose residual, a fallback taken).
    public var warnings: [String] = []

    public init(command: String, ranks: Int, threads: Int) {
        self.command = command
        self.ranks = ranks
        self.threads = threads
    }

    /// Names the files the verb is about to read (nil: an optional input not
    /// given) and starts hashing them for the provenance while they are read.
    public mutating func inputFiles(_ files: [(String, String?)]) {
        for case let (name, path?) in files {
            inputs.removeAll { $0.0 == name }
            inputs.append((name, .string(path)))
            InputDigests.start(path: path)
        }
    }

    /// The input file `name` now lives at `newPath` (a job file moved to done/): it keeps its digest.
    public mutating func moveInputFile(_ name: String, to newPath: String) {
        guard let k = inputs.firstIndex(where: { $0.0 == name }), case let .string(old) = inputs[k].1 else { return }
        InputDigests.alias(newPath, of: old)
        inputs[k].1 = .string(newPath)
    }

    /// An input that is not a file (a generator, a spool directory).
    public mutating func input(_ name: String, description: String) {
        inputs.removeAll { $0.0 == name }
        inputs.append((name, .string(description)))
    }

    /// Adds seconds to a phase (phases accumulate across repeated calls).
    public mutating func time(_ phase: String, _ seconds: Double) {
        if let k = timings.firstIndex(where: { $0.0 == phase }) { timings[k].1 += seconds } else { timings.append((phase, seconds)) }
    }

    /// Runs `body`, adding its wall time to `phase`.
    public mutating func measure<T, E: Error>(_ phase: String, _ body: () throws(E) -> T) throws(E) -> T {
        let start = System.now()
        defer { time(phase, System.now() - start) }
        return try body()
    }

    public mutating func metric(_ name: String, _ value: JSONValue) {
        if let k = metrics.firstIndex(where: { $0.0 == name }) { metrics[k].1 = value } else { metrics.append((name, value)) }
    }
    public mutating func metric(_ name: String, _ value: Double) { metric(name, .number(value)) }

    /// Records a warning (once) for the report; the verb prints it on rank 0.
    public mutating func warn(_ message: String) {
        if !warnings.contains(message) { warnings.append(message) }
    }
    public mutating func metric(_ name: String, _ value: Int) { metric(name, .integer(value)) }

    public var json: JSONValue {
        .object([
            ("command", .string(command)),
            ("ranks", .integer(ranks)),
            ("threads", .integer(threads)),
            ("inputs", .object(inputs)),
            ("timings", .object(timings.map { ($0.0, .number($0.1)) })),
            ("metrics", .object(metrics)),
            ("per_rank", .array(perRank.map { .object($0) })),
            ("history", .array(history.map { .object($0) })),
            ("warnings", .array(warnings.map { .string($0) })),
            ("provenance", Provenance.json(of: self, finished: WallClock.now())),
        ])
    }

    public func write(to path: String) throws(SparrowError) {
        try AtomicFileWriter.write(json.serialized(indent: 2) + "\n", to: path)
    }
}
