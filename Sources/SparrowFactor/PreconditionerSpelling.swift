import SparrowCore

/// A PCG preconditioner as spelled on the command line and in job files,
/// read and range-checked once, before anything is built: the verb, the pcg
/// step and `run --check` refuse the same spellings with the same message.
public enum PreconditionerSpelling: Sendable, Equatable {
    case none
    case jacobi
    /// Block Jacobi with a Cholesky factor of each rank's diagonal block.
    case cholesky
    /// The factor of a copy keeping a uniformly sampled fraction of the off-diagonals.
    case sampled(keep: Double)
    /// The factor of the copy keeping couplings with |i − j| ≤ width.
    case band(width: Int)
    /// A plug-in's kind (`NAME` or `NAME:VALUE`) with its checked value.
    case plugin(name: String, parameter: Double?)

    public static let keep = NumericOption("KEEP", real: 0, 1, lowerOpen: true)
    public static let width = NumericOption("WIDTH", 1...Int(Int32.max))

    /// The built-in spellings and each plug-in's, for messages.
    public static func expected(plugins: [PreconditionerPlugin]) -> String {
        (["none", "jacobi", "cholesky", "sampled:KEEP", "band:WIDTH"]
            + plugins.map { plugin in plugin.parameter.map { "\(plugin.name)[:\($0.key)]" } ?? plugin.name }).joined(separator: ", ")
    }

    /// `field` names the flag or job key in messages.
    public static func parse(_ text: String, plugins: [PreconditionerPlugin], field: String) throws(SparrowError) -> PreconditionerSpelling {
        let name = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? text
        let value: String? = text.count > name.count ? String(text.dropFirst(name.count + 1)) : nil
        func checked(_ option: NumericOption, _ value: String?) throws(SparrowError) -> Double {
            guard let value else { throw .field(name: field, message: "\(name) needs a value: \(name):\(option.key) with \(option.key) in \(option)") }
            do throws(SparrowError) { return try option.parse(value, field: field) } catch {
                throw .field(name: field, message: "\(option.key) of '\(text)' must be \(option.isInteger ? "an integer" : "a number") in \(option)")
            }
        }
        switch (name, value) {
        case ("none", nil): return .none
        case ("jacobi", nil): return .jacobi
        case ("cholesky", nil): return .cholesky
        case ("sampled", _): return .sampled(keep: try checked(keep, value))
        case ("sparsified", _):
            // The old name promised a spectral sparsifier; uniform sampling gives no such bound.
            throw .field(name: field, message: "'\(text)' is now spelled sampled:KEEP (uniform sampling of the off-diagonals, not a spectral sparsifier; for that use sparsifier[:DENSITY])")
        case ("band", _): return .band(width: Int(try checked(width, value)))
        default:
            guard let plugin = plugins.first(where: { $0.name == name }) else {
                throw .field(name: field, message: "expected \(expected(plugins: plugins)), got '\(text)'")
            }
            guard let option = plugin.parameter else {
                if value != nil { throw .field(name: field, message: "\(name) takes no value, got '\(text)'") }
                return .plugin(name: name, parameter: nil)
            }
            return .plugin(name: name, parameter: value == nil ? nil : try checked(option, value))
        }
    }
}

/// A kind of preconditioner a module above SparrowFactor adds (`NAME` or
/// `NAME:VALUE`, VALUE checked by `parameter`) and how to build it from the
/// whole matrix.
public struct PreconditionerPlugin: Sendable {
    public let name: String
    /// The optional value after `NAME:` and its range (nil: the kind takes none).
    public let parameter: NumericOption?
    public let build: @Sendable (Double?, CSRMatrix) throws(SparrowError) -> any WholeMatrixPreconditioner

    public init(name: String, parameter: NumericOption?,
                build: @escaping @Sendable (Double?, CSRMatrix) throws(SparrowError) -> any WholeMatrixPreconditioner) {
        self.name = name
        self.parameter = parameter
        self.build = build
    }
}
