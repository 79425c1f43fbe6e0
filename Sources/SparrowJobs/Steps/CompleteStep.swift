import SparrowCore
import SparrowMPI
import SparrowCompletion

/// What a `complete` step asks for (keys mirror `sparrow complete`'s flags).
public struct CompleteSpec: Sendable {
    public var ratings: String
    public var test: String?
    public var predict: String?
    public var top: Int?
    public var every: Int
    public var parameters: CompletionParameters

    /// The values the step makes besides its figures, named STEP.PART in outputs.
    public var parts: [String] {
        ["U", "V"] + (parameters.biases ? ["user_bias", "item_bias"] : []) + (test != nil ? ["test"] : [])
            + (predict != nil ? ["predictions"] : []) + (top != nil ? ["top"] : [])
    }
}

/// The `complete` step: alternating minimization (the same driver as `sparrow
/// complete`) on a job's sparse value, recording U and V in the job's
/// checkpoint directory after every `every` sweeps; a job restarted by the
/// service continues from the last record to the result of an uninterrupted run.
enum CompleteStep {
    static func run(_ spec: CompleteSpec, step: String, _ context: StepContext) throws(SparrowError) -> StepResult {
        let communicator = context.communicator
        var parameters = spec.parameters
        parameters.threads = context.threads
        let ratings = try DistributedRatings(try context.values.sparse(spec.ratings), source: "step \(step): ratings '\(spec.ratings)'",
                                             communicator: communicator)
        let naming = NumericOption.Naming.keys(prefix: "steps.\(step)")
        try communicator.everywhere { () throws(SparrowError) in
            try parameters.validate(users: ratings.users, items: ratings.items, naming)
            if let top = spec.top { try TopRecommendations.check(count: top, ratings: ratings, parameters: parameters, naming: naming) }
        }
        let model = AlternatingMinimization(ratings: ratings, parameters: parameters)
        if let test = spec.test {
            model.test = try PairSet(try context.values.sparse(test), source: "step \(step): test '\(test)'", ratings: ratings,
                                     communicator: communicator)
        }
        // The pairs to predict are checked before the fit, not after it.
        let predictions = try spec.predict.map { (predict: String) throws(SparrowError) in
            try PairSet(try context.values.sparse(predict), source: "step \(step): predict '\(predict)'", ratings: ratings,
                        communicator: communicator)
        }
        var store = context.checkpoint.map { CompletionCheckpoint(directory: $0.directory, stem: step) }
        store?.prepare(ratings, communicator: communicator)
        var resumedAt = 0
        let recorded = try communicator.onRoot { () throws(SparrowError) in
            store.map { System.isRegularFile($0.directory + "/" + step + ".state") } ?? false
        }
        if communicator.broadcast([recorded == true ? 1 : 0])[0] == 1, let store {
            try store.restore(model, communicator: communicator)
            resumedAt = model.completedSweeps
        } else {
            try model.initialize(communicator: communicator)
        }
        let progress = context.showProgress
        try model.run(checkpoint: store, every: spec.every, communicator: communicator) { (record: SweepRecord) throws(SparrowError) in
            if progress { System.printError("\(step): " + AlternatingMinimization.describe(record, of: parameters.sweeps)) }
            try context.limits.check("in step \(step) at sweep \(record.sweep)", communicator: communicator)
        }
        let factors = CompletionFactors(model)
        var parts: [(String, JobValue)] = [("U", .dense(factors.users)), ("V", .dense(factors.items))]
        if let b = factors.userBiases, let c = factors.itemBiases { parts += [("user_bias", .dense(b)), ("item_bias", .dense(c))] }
        if let testSet = model.test { parts.append(("test", .sparse(try testSet.predictedMatrix(model, communicator: communicator)))) }
        if let predictions { parts.append(("predictions", .sparse(try predictions.predictedMatrix(model, communicator: communicator)))) }
        if let top = spec.top { parts.append(("top", .sparse(try TopRecommendations.compute(model, count: top, communicator: communicator)))) }
        let last = model.statistics.history.last
        var figures: [(String, JSONValue)] = [
            ("users", .integer(ratings.users)), ("items", .integer(ratings.items)), ("observed", .integer(ratings.observed)),
            ("rank", .integer(parameters.rank)), ("method", .string(parameters.method.rawValue)), ("sweeps", .integer(model.completedSweeps)),
            ("resumed_at_sweep", .integer(resumedAt)), ("global_mean", .number(model.offset)),
            ("train_rmse", .number(last?.trainRMSE ?? .nan)),
        ]
        if let t = last?.testRMSE { figures.append(("test_rmse", .number(t))) }
        if parameters.method == .robust {
            figures += [("sketched_rows", .integer(model.statistics.sketchedRows)), ("unconverged_rows", .integer(model.statistics.unconvergedRows))]
        }
        return (.group(figures: figures, parts: parts), figures)
    }
}

extension CompleteStep {
    static let schema = StepSchema(op: "complete",
                                   keys: ["ratings", "rank", "lambda", "sweeps", "method", "biases", "init", "seed", "inner_iterations",
                                          "row_accuracy", "sketch_ratio", "test", "predict", "top", "every"],
                                   required: ["ratings", "rank"]) { keys, parser in
        let field = keys.field, byKey = keys.byKey
        typealias O = CompletionParameters.Options
        guard let rankValue = keys.integer(O.rank, &parser), let rank = rankValue else { return nil }
        var p = CompletionParameters(rank: rank)
        let lambda = keys.number(O.lambda, &parser), sweeps = keys.integer(O.sweeps, &parser), seed = keys.integer(.seed, &parser)
        let inner = keys.integer(O.innerIterations, &parser)
        let accuracy = keys.number(O.rowAccuracy, &parser), ratio = keys.integer(O.sketchRatio, &parser)
        var ok = lambda != nil && sweeps != nil && seed != nil && inner != nil && accuracy != nil && ratio != nil
        if let v = lambda ?? nil { p.lambda = v }
        if let v = sweeps ?? nil { p.sweeps = v }
        if let v = seed ?? nil { p.seed = UInt64(v) }
        if let v = inner ?? nil { p.innerIterations = v }
        if let v = accuracy ?? nil { p.rowAccuracy = v }
        if let v = ratio ?? nil { p.sketchRatio = v }
        if let n = byKey["method"] {
            if let v = parser.choice(n, "\(field).method", ["als", "robust", "inexact"]) { p.method = .init(rawValue: v)! } else { ok = false }
        }
        if let n = byKey["biases"] { if let v = parser.boolean(n, "\(field).biases") { p.biases = v } else { ok = false } }
        if let n = byKey["init"] {
            if let v = parser.choice(n, "\(field).init", ["spectral", "random"]) { p.initialization = .init(rawValue: v)! } else { ok = false }
        }
        if p.method != .inexact, let n = byKey["inner_iterations"] {
            parser.problem(n, field, "inner_iterations applies to method inexact only")
            ok = false
        }
        if p.method != .robust, let n = byKey["row_accuracy"] ?? byKey["sketch_ratio"] {
            parser.problem(n, field, "row_accuracy and sketch_ratio apply to method robust only")
            ok = false
        }
        let top = keys.integer(O.top, &parser), every = keys.integer(.every, &parser)
        guard ok, let ratings = keys.text("ratings", "", &parser), let top, let every else { return nil }
        let test = byKey["test"] != nil ? keys.text("test", "", &parser) : nil
        let predict = byKey["predict"] != nil ? keys.text("predict", "", &parser) : nil
        return .complete(CompleteSpec(ratings: ratings, test: test, predict: predict, top: top, every: every ?? 1, parameters: p))
    }
}
