/// A numeric option or job key and the values a run accepts: the one
/// conversion every verb flag (`--max-iterations`) and every job key
/// (`max_iterations`) goes through, so `sparrow run --check` refuses exactly
/// what the run would refuse (CONVENTIONS, "Files"). Ranges are finite and
/// chosen so that no value inside one can overflow the arithmetic it feeds
/// (a Double turned into a count, a width, an allocation).
public struct NumericOption: Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        case integer(ClosedRange<Int>)
        /// Finite reals between the bounds; an open bound excludes its value.
        case real(lower: Double, lowerOpen: Bool, upper: Double, upperOpen: Bool)
    }

    /// The job-file spelling (`max_iterations`); the flag is `--max-iterations`.
    public let key: String
    public let kind: Kind

    public init(_ key: String, _ range: ClosedRange<Int>) {
        self.key = key
        kind = .integer(range)
    }

    public init(_ key: String, real lower: Double, _ upper: Double, lowerOpen: Bool = false, upperOpen: Bool = false) {
        self.key = key
        kind = .real(lower: lower, lowerOpen: lowerOpen, upper: upper, upperOpen: upperOpen)
    }

    public var flag: String { "--" + String(key.map { $0 == "_" ? "-" : $0 }) }

    /// How a message names the value: as a flag (`--max-iterations`) or as a
    /// job key under its step (`steps[2].max_iterations`).
    public enum Naming: Sendable {
        case flags
        case keys(prefix: String)

        /// A key (`max_iterations`) as this naming shows it.
        public func prefixed(_ key: String) -> String {
            switch self {
            case .flags: return "--" + String(key.map { $0 == "_" ? "-" : $0 })
            case let .keys(prefix): return prefix.isEmpty ? key : prefix + "." + key
            }
        }
    }

    public func name(_ naming: Naming) -> String { naming.prefixed(key) }

    public func checked(_ value: Double, _ naming: Naming) throws(SparrowError) -> Double {
        try checked(value, field: name(naming))
    }

    public func checked(_ value: Int, _ naming: Naming) throws(SparrowError) -> Int {
        try checked(value, field: name(naming))
    }

    /// The accepted values as the messages show them: `1...1000`, `(0, 1e6]`.
    public var description: String {
        switch kind {
        case let .integer(range): return "\(range.lowerBound)...\(range.upperBound)"
        case let .real(lower, lowerOpen, upper, upperOpen):
            return "\(lowerOpen ? "(" : "[")\(Self.format(lower)), \(Self.format(upper))\(upperOpen ? ")" : "]")"
        }
    }

    public func contains(_ value: Double) -> Bool {
        guard value.isFinite else { return false }
        switch kind {
        case let .integer(range): return value == value.rounded() && Double(range.lowerBound) <= value && value <= Double(range.upperBound)
        case let .real(lower, lowerOpen, upper, upperOpen):
            return (lowerOpen ? value > lower : value >= lower) && (upperOpen ? value < upper : value <= upper)
        }
    }

    /// `value` when it is in range; otherwise a one-line error naming `field`
    /// (the flag, or the job key with its step: `steps[0].density`).
    public func checked(_ value: Double, field: String) throws(SparrowError) -> Double {
        guard contains(value) else { throw outOfRange("\(value)", field: field) }
        return value
    }

    public func checked(_ value: Int, field: String) throws(SparrowError) -> Int {
        if case let .integer(range) = kind {
            guard range.contains(value) else { throw outOfRange("\(value)", field: field) }
            return value
        }
        return Int(try checked(Double(value), field: field))
    }

    /// Reads a number as written in a job file or in a spelling such as
    /// `sparsifier:1.2`: decimal or scientific notation; integers must be
    /// whole numbers (`1e3` is 1000) within the range.
    public func parse(_ text: String, field: String) throws(SparrowError) -> Double {
        guard let value = Double(text) else { throw .field(name: field, message: "expected \(phrase), got '\(text)'") }
        return try checked(value, field: field)
    }

    public func parseInteger(_ text: String, field: String) throws(SparrowError) -> Int {
        if let exact = Int(text) { return try checked(exact, field: field) }
        return Int(try parse(text, field: field))
    }

    public var isInteger: Bool { if case .integer = kind { return true } else { return false } }

    private func outOfRange(_ shown: String, field: String) -> SparrowError {
        .field(name: field, message: "must be \(phrase), got \(shown)")
    }

    /// "an integer in 1...1000", "a finite number in (0, 1)", or "a finite number" when any is accepted.
    private var phrase: String {
        if case let .real(lower, _, upper, _) = kind, lower == -.greatestFiniteMagnitude, upper == .greatestFiniteMagnitude {
            return "a finite number"
        }
        return "\(isInteger ? "an integer" : "a finite number") in \(self)"
    }

    /// Bounds as a reader writes them: 1000, 0.5, 1e12, 1e-9.
    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e6 { return String(Int(value)) }
        if value != 0, value.isFinite {
            // The decimal exponent is about 0.30103 times the binary one; a power of ten is written 1eN.
            let estimate = Int((Double(abs(value).exponent) * 0.30103).rounded(.down))
            for exponent in (estimate - 1)...(estimate + 1) where Double("1e\(exponent)") == abs(value) {
                return (value < 0 ? "-" : "") + "1e\(exponent)"
            }
        }
        return "\(value)"
    }
}

extension NumericOption {
    /// Options several verbs share.
    public static let threads = NumericOption("threads", 1...1024)
    public static let seed = NumericOption("seed", 0...Int.max)
    public static let every = NumericOption("every", 1...1_000_000)
    public static let repetitions = NumericOption("repeat", 1...100_000)
    /// Any finite real (a scale factor).
    public static func finite(_ key: String) -> NumericOption {
        NumericOption(key, real: -Double.greatestFiniteMagnitude, Double.greatestFiniteMagnitude)
    }
    /// A time limit or polling interval in seconds (up to about thirty years).
    public static func seconds(_ key: String, upper: Double = 1e9) -> NumericOption {
        NumericOption(key, real: 0, upper, lowerOpen: true)
    }
}

/// Conversions of computed Doubles to counts that saturate instead of
/// trapping: for quantities derived from user values (a density times a
/// vertex count, a search width over a cell size) whose range was checked
/// but whose products can still leave Int's.
public extension Int {
    /// `value` rounded down and clamped to `bounds`; NaN gives the lower bound.
    static func clamping(_ value: Double, to bounds: ClosedRange<Int>) -> Int {
        guard value == value else { return bounds.lowerBound }
        if value <= Double(bounds.lowerBound) { return bounds.lowerBound }
        if value >= Double(bounds.upperBound) { return bounds.upperBound }
        return Swift.max(bounds.lowerBound, Swift.min(bounds.upperBound, Int(value.rounded(.down))))
    }
}
