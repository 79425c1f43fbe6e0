import SparrowCore
import SparrowMPI
import SparrowSpGEMM

/// The `spgemm` step: C = op(A)·op(B) by the distributed row-wise product,
/// with A's rows re-partitioned by the step's `balance` (rows, nnz or flops).
enum SpGEMMStep {
    static func run(a aName: String, b bName: String, transposeA: Bool, transposeB: Bool, sorted: Bool, heavyThreshold: Int?,
                    balance: String, _ context: StepContext) throws(SparrowError) -> StepResult {
        let communicator = context.communicator
        var a = try context.values.sparse(aName), b = try context.values.sparse(bName)
        if transposeA { a = try MatrixSteps.transposed(a, communicator) }
        if transposeB { b = try MatrixSteps.transposed(b, communicator) }
        if let rule = BalanceRule(rawValue: balance) { a = try DistributedSpGEMM.balanced(a, by: rule, for: b, communicator: communicator) }
        var options = SpGEMMOptions()
        options.threads = context.threads
        options.sortedOutput = sorted
        options.heavyRowThreshold = heavyThreshold
        var statistics = DistributedSpGEMM.RankStatistics()
        let c = try DistributedSpGEMM.multiply(a, b, options: options, workspace: SpGEMMWorkspace(), communicator: communicator,
                                               statistics: &statistics)
        let multiplyAdds = communicator.allreduce(statistics.local.multiplyAdds, .sum)
        return (.sparse(c), [("nnz_c", .integer(c.globalNonzeros(communicator))), ("flops", .integer(2 * multiplyAdds)),
                             ("balance", .string(balance))])
    }
}

extension SpGEMMStep {
    /// The spgemm step's keys (they mirror `sparrow spgemm`'s flags).
    static let schema = StepSchema(op: "spgemm", keys: ["a", "b", "transpose_a", "transpose_b", "sorted", "heavy_threshold", "balance"],
                                   required: ["a", "b"]) { keys, parser in
        let field = keys.field, byKey = keys.byKey
        let ta = byKey["transpose_a"].map { parser.boolean($0, "\(field).transpose_a") } ?? false
        let tb = byKey["transpose_b"].map { parser.boolean($0, "\(field).transpose_b") } ?? false
        let sorted = byKey["sorted"].map { parser.boolean($0, "\(field).sorted") } ?? false
        let heavy = keys.integer(LocalSpGEMM.Options.heavyThreshold, &parser)
        let balance = byKey["balance"].map { parser.choice($0, "\(field).balance", ["rows", "nnz", "flops"]) } ?? "nnz"
        guard let a = keys.text("a", "", &parser), let b = keys.text("b", "", &parser), let ta, let tb, let sorted, let balance,
              let heavy else { return nil }
        return .spgemm(a: a, b: b, transposeA: ta, transposeB: tb, sorted: sorted, heavyThreshold: heavy, balance: balance)
    }
}
