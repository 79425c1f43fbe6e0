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
