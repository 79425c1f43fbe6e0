import SparrowCore

/// A validated job: what to read or generate, which steps to run in which
/// order, and where each named result goes. Built only by `JobParser`, so
/// every plan that exists has passed validation.
public struct JobPlan: Sendable {
    public struct Defaults: Sendable {
        public var threads: Int?
        /// Absolute or job-file-relative directory that receives every output.
        public var outputDirectory: String
        public var timeLimitSeconds: Double?
        /// `defaults.time_limit`: seconds, up to ten years.
        public static let timeLimit = NumericOption.seconds("time_limit")
    }

    public enum Source: Sendable {
        case file(String)
        case generator(GeneratorSpec)
    }

    public struct Input: Sendable {
        public var name: String
        public var source: Source
    }

    public struct Step: Sendable {
        public var name: String
        public var operation: StepOperation
        /// 1-based position in the file, for messages.
        public var line: Int
    }

    public struct Output: Sendable {
        public var name: String
        /// Path inside the output directory (validated not to escape it).
        public var path: String
        public var format: OutputFormat
    }

    /// A matrix file (Matrix Market, or PETSc binary for a `.petsc` path) or JSON figures.
    public enum OutputFormat: String, Sendable { case matrix, json }

    public var file: String
    public var name: String
    public var defaults: Defaults
    public var inputs: [Input]
    /// Steps in an order where each runs after everything it uses (topological).
    public var steps: [Step]
    public var outputs: [Output]
}

/// The operations a step can run. Adding an algorithm as a step means one case
/// here and one adapter in Steps/ beside its capability: a `StepSchema` (its
/// keys and how they are validated) and a `run` against a `StepContext`, listed
/// in `StepSchema.all` and in `JobRunner.execute`.
public enum StepOperation: Sendable {
    case info(matrix: String)
    case transpose(matrix: String)
    case scale(matrix: String, alpha: Double)
    case add(a: String, b: String, alpha: Double, beta: Double)
    case spgemm(a: String, b: String, transposeA: Bool, transposeB: Bool, sorted: Bool, heavyThreshold: Int?, balance: String)
    case solve(matrix: String, rhs: String, method: String, ordering: String)
    case solveMany(matrices: [String], rhs: String, method: String, ordering: String)
    case pcg(matrix: String, rhs: String, preconditioner: String, tolerance: Double, maximumIterations: Int)
    case generate(GeneratorSpec)
    case complete(CompleteSpec)
    case transport(TransportSpec)
    case sparsify(SparsifySpec)

    /// Names of the values this step reads.
    public var uses: [String] {
        switch self {
        case let .info(m), let .transpose(m), let .scale(m, _): return [m]
        case let .add(a, b, _, _), let .spgemm(a, b, _, _, _, _, _): return [a, b]
        case let .solve(m, rhs, _, _), let .pcg(m, rhs, _, _, _): return [m] + (DenseRightHandSide.isBuiltIn(rhs) ? [] : [rhs])
        case let .solveMany(ms, rhs, _, _): return ms + (DenseRightHandSide.isBuiltIn(rhs) ? [] : [rhs])
        case .generate: return []
        case let .complete(spec): return [spec.ratings] + [spec.test, spec.predict].compactMap { $0 }
        case let .transport(spec): return spec.uses
        case let .sparsify(spec): return [spec.graph]
        }
    }

    /// Values the step makes besides its own, named STEP.PART (e.g. a completion's U and V).
    public var parts: [String] {
        if case let .complete(spec) = self { return spec.parts }
        if case .transport = self { return TransportSpec.parts }
        if case .sparsify = self { return SparsifySpec.parts }
        return []
    }

    public var kind: String {
        switch self {
        case .info: return "info"
        case .transpose: return "transpose"
        case .scale: return "scale"
        case .add: return "add"
        case .spgemm: return "spgemm"
        case .solve: return "solve"
        case .solveMany: return "solve_many"
        case .pcg: return "pcg"
        case .generate: return "generate"
        case .complete: return "complete"
        case .transport: return "ot"
        case .sparsify: return "sparsify"
        }
    }
}

/// Right-hand sides named in steps: built-in spellings, or the name of a dense value.
public enum DenseRightHandSide {
    public static func isBuiltIn(_ spelling: String) -> Bool {
        spelling == "ones" || spelling == "rowsums" || spelling.hasPrefix("random:")
    }
}
